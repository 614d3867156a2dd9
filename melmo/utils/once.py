"""Once per job, however its ranks are launched: rank 0 does a step (corpus preparation), the other
ranks wait for its marker file and read the result from it.

Lightning's own launcher starts ranks > 0 after rank 0 has done the step, so they find the marker
at once; torchrun, SLURM or several nodes start every rank together, and ranks > 0 wait (polling,
with a timeout) instead of doing the work again. The marker is named by a key (a hash of the config
that determines the result), lives next to the result (a file system every rank sees) and is
written atomically; a failure of rank 0 is written to it too, so the others stop at once.

A marker left by an earlier job with the same key names the same result, unless the inputs changed
in between; ``SameOnAllRanks`` catches that case once the process group is up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Callable

import lightning as L

from melmo.errors import MelmoError
from melmo.utils.atomic import write_atomic

log = logging.getLogger(__name__)


class OnceError(MelmoError, RuntimeError):
    """Rank 0 failed, or did not finish in time."""


def config_key(*parts) -> str:
    """A short stable hash of JSON-able parts (resolved config nodes)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _write(marker: Path, payload: dict) -> None:
    write_atomic(marker, json.dumps(payload))


def rank_zero_once(marker: Path, rank: int, step: Callable[[], str], timeout_s: float,
                   poll_s: float = 0.5, what: str = "the step") -> str:
    """Rank 0: run ``step`` (returns a string, e.g. a path) and publish it in ``marker``.
    Other ranks: wait up to ``timeout_s`` for the marker and return the string it holds."""
    if rank == 0:
        marker.unlink(missing_ok=True)  # an earlier job's marker: this job's result replaces it
        try:
            result = step()
        except BaseException as e:
            _write(marker, {"error": f"{type(e).__name__}: {e}"})
            raise
        _write(marker, {"result": str(result)})
        return str(result)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            payload = json.loads(marker.read_text())
            break
        except (FileNotFoundError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise OnceError(f"{marker}: rank {rank} waited {timeout_s:g} s for rank 0 to finish {what}; "
                                f"see rank 0's log, or raise prepare_wait_s") from None
            time.sleep(poll_s)
    if "error" in payload:
        raise OnceError(f"{marker}: rank 0 failed {what}: {payload['error']}")
    log.info(f"rank {rank}: rank 0 did {what}: {payload['result']}")
    return payload["result"]


class SameOnAllRanks(L.Callback):
    """Once the process group is up: every rank must hold the same ``value`` (e.g. the corpus dir)."""

    def __init__(self, name: str, value: str):
        self.name, self.value = name, str(value)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.world_size == 1:
            return
        import torch.distributed as dist

        values = [None] * trainer.world_size
        dist.all_gather_object(values, self.value)
        if len(set(values)) != 1:
            raise OnceError(f"the ranks disagree on the {self.name}: {values} (an earlier job's marker was "
                            f"read while the inputs changed; run again)")
