"""Logger factories Hydra instantiates (conf/logger/*.yaml), and the W&B runs of the evaluations and
the analysis, which log tables and images rather than a Lightning loop's metrics.

``wandb`` and Lightning's logger are imported when a W&B run is made, so code that only may log
(evaluate.py, the analysis CLI) imports without them.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

WANDB_TARGET = "melmo.utils.loggers.wandb_logger"   # conf/logger/wandb.yaml's _target_


def _online() -> bool:
    """True when W&B can sync: an API key is configured and its host answers."""
    if os.environ.get("WANDB_MODE", "").lower() in ("offline", "disabled", "dryrun"):
        return False
    if not os.environ.get("WANDB_API_KEY") and not os.path.exists(os.path.expanduser("~/.netrc")):
        return False
    try:
        socket.create_connection(("api.wandb.ai", 443), timeout=2).close()
        return True
    except OSError:
        return False


def _decide_offline(offline: bool | None) -> bool:
    if offline is None:
        offline = not _online()
    if offline:
        os.environ.setdefault("WANDB_MODE", "offline")
    return bool(offline)


def wandb_logger(save_dir: str, project: str = "melmo", offline: bool | None = None, **kwargs):
    """A WandbLogger that goes offline by itself when there is no network or no key
    (``offline: null`` in conf/logger/wandb.yaml); the run directory keeps the logged metrics and
    ``wandb sync`` uploads it later."""
    from lightning.pytorch.loggers import WandbLogger

    offline = _decide_offline(offline)
    os.makedirs(save_dir, exist_ok=True)
    return WandbLogger(save_dir=save_dir, project=project, offline=offline, **kwargs)


def wandb_settings(logger_cfg) -> Mapping | None:
    """The W&B entry of a composed ``logger`` config (logger=wandb or logger=many), or None."""
    for entry in (logger_cfg or {}).values():
        if hasattr(entry, "get") and entry.get("_target_") == WANDB_TARGET:
            return entry
    return None


def start_wandb_run(save_dir: str | Path, project: str, group: str, name: str, tags: Sequence[str],
                    job_type: str, config: Mapping | None = None, offline: bool | None = None):
    """A new W&B run (offline by itself without network or key, as ``wandb_logger``) for what is not a
    Lightning loop: an evaluation's rows, the analysis's tables and figures. The caller ``finish()``es it."""
    import wandb

    from melmo.utils.labels import tags as clean_tags

    offline = _decide_offline(offline)
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return wandb.init(dir=str(save_dir), project=project, group=group, name=name, tags=clean_tags(list(tags)),
                      job_type=job_type, config=dict(config or {}), mode="offline" if offline else "online",
                      reinit="finish_previous")


def wandb_table(frame):
    """A pandas frame as a ``wandb.Table`` (index levels become columns, column names strings)."""
    import wandb

    flat = frame.reset_index() if any(frame.index.names) else frame.copy()
    flat.columns = [" ".join(map(str, c)).strip() if isinstance(c, tuple) else str(c) for c in flat.columns]
    return wandb.Table(dataframe=flat)


def finish_wandb() -> None:
    """Close an open W&B run, so that its summary is written and the next multirun job starts a new run."""
    if "wandb" not in sys.modules:
        return
    import wandb

    if wandb.run is not None:
        wandb.finish()
