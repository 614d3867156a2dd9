"""Which checkpoint a run resumes from (``ckpt_path``, ``resume=auto``, ``ckpt_fallback``), and a
safe load test of it: ``torch.load(weights_only=True)``, which unpickles only tensors and plain
Python types, so a checkpoint from elsewhere cannot run code when it is loaded.

* ``ckpt_path=<file>``: that file; missing -> error.
* ``ckpt_path=last``: ``<run dir>/checkpoints/last.ckpt``; missing -> error (it never silently
  starts from scratch).
* ``resume=auto``: that file when it exists, else start from scratch and say so.
* A checkpoint that does not load (truncated, corrupt, a disallowed pickled object) is a one-line
  ``CheckpointError`` naming the file; with ``ckpt_fallback=true`` the newest other ``*.ckpt`` in
  its directory that loads is used instead, and the log says so.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import torch

from melmo.errors import MelmoError

log = logging.getLogger(__name__)


class CheckpointError(MelmoError, RuntimeError):
    """A checkpoint to resume from is missing or does not load."""


def load_problem(path: Path) -> str | None:
    """None when ``path`` loads with the safe loader, else the reason, in one line."""
    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL [\w.]+", str(e))
        what = f" ({found.group(0)})" if found else ""
        return f"holds a pickled object that the safe loader (weights_only=True) refuses{what}"
    except Exception as e:  # truncated or corrupt: zip reader errors, EOFError, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"does not load (truncated or corrupt?): {first}"
    return None


def checked(path: Path, fallback: bool) -> Path:
    """``path`` if it loads safely; with ``fallback``, else the newest other checkpoint beside it that
    does."""
    problem = load_problem(path)
    if problem is None:
        return path
    if not fallback:
        raise CheckpointError(f"{path}: {problem} (ckpt_fallback=true resumes from the newest checkpoint "
                              "that loads)")
    others = sorted((p for p in path.parent.glob("*.ckpt") if p.resolve() != path.resolve()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for other in others:
        if load_problem(other) is None:
            log.warning(f"{path}: {problem}; ckpt_fallback: resuming from {other} instead")
            return other
    raise CheckpointError(f"{path}: {problem}, and no other checkpoint in {path.parent} loads")


def choose(ckpt_path: str | None, resume: str | None, output_dir: Path, fallback: bool = False) -> str | None:
    """The checkpoint to resume from (a path that loads safely), or None to start from scratch."""
    last = Path(output_dir) / "checkpoints" / "last.ckpt"
    if resume not in (None, "auto"):
        raise CheckpointError(f"resume: must be null or auto, got {resume!r} (a file: ckpt_path=<file>)")
    if resume == "auto":
        if ckpt_path:
            raise CheckpointError(f"resume=auto and ckpt_path={ckpt_path}: set one of them")
        if not last.is_file():
            log.info(f"resume=auto: no checkpoint at {last}: starting from scratch")
            return None
        path = checked(last, fallback)
        log.info(f"resume=auto: resuming from {path}")
        return str(path)
    if not ckpt_path:
        return None
    if ckpt_path == "last":
        if not last.is_file():
            raise CheckpointError(f"{last}: ckpt_path=last but this run directory has no checkpoint "
                                  f"(resume=auto starts from scratch when there is none)")
        path = last
    else:
        path = Path(ckpt_path)
        if not path.is_file():
            raise CheckpointError(f"{path}: checkpoint to resume from not found")
    path = checked(path, fallback)
    log.info(f"resuming from {path}")
    return str(path)
