"""The body of ``evaluate.py``: measure a frozen biLM and append long-format results.

Tasks are Hydra configs under conf/task/. A task config names its ``entry``: a task module's
``run(cfg) -> rows`` (e.g. ``entry: melmo.tasks.pos.run``; :func:`task_entry` resolves it), which writes
its own rows; melmo/tasks/common/head.py is the head framework of the tasks that train one. The
``perplexity`` task's run (held-out perplexity per language: full softmax, both directions, bilm-tf's
run_test protocol) builds a Lightning trainer from cfg.trainer for its device. Rows go to the long
results CSV (melmo.results.table): ``encoder,task,metric,language,seed,value``.

With ``logger=wandb`` the rows also go to a W&B run in the group of the LM run that made the encoder,
with its tags (``run_label`` and ``run_tags`` of the export's melmo.json), so one dashboard shows a
model's perplexity and its downstream scores: the rows as a table, ``<task>/<metric>/<language>`` (mean
over seeds) in the summary.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.utils import get_method
from omegaconf import DictConfig

from melmo.errors import ConfigError, FormatError
from melmo.formats.export_meta import META_NAME
from melmo.utils.loggers import start_wandb_run, wandb_settings, wandb_table

log = logging.getLogger(__name__)


def task_entry(task: DictConfig):
    """The function ``task.entry`` names (``run(cfg) -> rows``); a one-line ConfigError when it names none."""
    name, entry = task.get("name"), task.get("entry")
    if not entry:
        raise ConfigError(f"task {name!r}: conf/task/{name}.yaml names no entry (the task's run function, "
                          "e.g. entry: melmo.tasks.pos.run)")
    try:
        return get_method(str(entry))
    except (ImportError, ValueError) as e:  # hydra's _locate: not importable, or not a callable
        raise ConfigError(f"task.entry={entry}: {' '.join(str(e).split())}") from None


def run(cfg: DictConfig) -> list[dict]:
    name = cfg.task.get("name")
    fn = task_entry(cfg.task)
    if cfg.get("threads"):
        import torch

        torch.set_num_threads(int(cfg.threads))
    rows = fn(cfg)
    log.info("%s: %d rows written to %s", name, len(rows), cfg.results)
    if rows and wandb_settings(cfg.get("logger")) is not None:
        log_rows_to_wandb(cfg, rows)
    for line in seed_spread(rows):
        log.info(line)
    return rows


def encoder_run(path) -> dict:
    """The ``run`` record of an export's melmo.json ({} for a bilm-tf / NLPL model or an older export)."""
    meta = Path(str(path)) / META_NAME
    if not meta.is_file():
        return {}
    try:
        return dict(json.loads(meta.read_text(encoding="utf-8")).get("run") or {})
    except (ValueError, AttributeError) as e:
        raise FormatError(f"{meta}: not a JSON object with a 'run' record ({e})") from None


def log_rows_to_wandb(cfg: DictConfig, rows: list[dict]) -> None:
    """One W&B run for this evaluation: group and tags of the encoder's LM run, the rows as a table,
    the mean over seeds of each (task, metric, language) in the summary."""
    import pandas as pd

    settings = wandb_settings(cfg.logger)
    lm = encoder_run(cfg.encoder.path)
    encoder = str(rows[0]["encoder"])
    task = str(cfg.task.get("name"))
    group = cfg.get("run_label") or lm.get("run_label") or encoder
    tags = list(cfg.get("run_tags") or lm.get("run_tags") or [encoder])
    run = start_wandb_run(settings.save_dir, settings.project, group=group,
                          name=cfg.get("run_name") or f"{group}-{task}", tags=[*tags, "evaluate", task],
                          job_type="evaluate", offline=settings.get("offline"),
                          config={"encoder": encoder, "encoder_path": str(cfg.encoder.path), "task": task,
                                  "seeds": list(cfg.seeds), "lm_run": lm})
    try:
        frame = pd.DataFrame(rows, columns=["encoder", "task", "metric", "language", "seed", "value"])
        frame["value"] = frame["value"].astype(float)
        run.log({"evaluation/rows": wandb_table(frame)})
        means = frame.groupby(["task", "metric", "language"])["value"].mean()
        run.summary.update({f"{t}/{m}/{lang}": float(v) for (t, m, lang), v in means.items()})
    finally:
        run.finish()


def seed_spread(rows: list[dict]) -> list[str]:
    """Per (encoder, task, metric, language) with several seeds: mean and sample std over the seeds of
    ``rows`` (one evaluation may write several encoders' rows: task=baseline writes majority and chance)."""
    import statistics

    groups: dict[tuple, list[float]] = {}
    for r in rows:
        key = (r.get("encoder", ""), r["task"], r["metric"], r["language"])
        groups.setdefault(key, []).append(float(r["value"]))
    return [f"{(e + ' ') if e else ''}{t} {m} {lang}: mean {statistics.mean(v):.4f}, seed std "
            f"{statistics.stdev(v):.4f} over {len(v)} seeds"
            for (e, t, m, lang), v in groups.items() if len(v) > 1]
