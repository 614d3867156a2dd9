"""DDP inside Hydra multiruns (Lightning's subprocess launcher re-runs the script's argv).

Lightning's ``strategy=ddp`` starts ranks > 0 by re-running the script with ``sys.argv[1:]``. In a
Hydra ``-m`` sweep that command still says ``-m`` and the whole sweep list, so every child runs
its *own* sweep in lockstep with rank 0 (silently duplicated work, or a gloo/NCCL size-mismatch
crash when the jobs differ; Lightning-AI/pytorch-lightning#2727, #11300, facebookresearch/hydra#2070).

``install()`` replaces Lightning's command builder so each job launches its children as a plain
RUN with that job's own resolved overrides, into that job's output directory; ``reset()`` tears the
process group and the launcher's environment down after every job so the next job launches fresh
ranks. Processes started by a launcher (``LOCAL_RANK`` already set: our children, torchrun,
SLURM) never reset. Checked against lightning 2.4-2.6: it replaces the private
``_hydra_subprocess_cmd(local_rank)`` in both ``lightning.fabric`` and ``lightning.pytorch``
launchers; ``install`` checks that it is there with that signature and otherwise stops with a
one-line ``LightningInternalsError`` naming the installed Lightning version.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Sequence

from melmo.errors import ConfigError, MelmoError

_EXTERNAL = "LOCAL_RANK" in os.environ  # a child rank or an externally launched process
_CONFIG_FLAGS = ("-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir")
_ENV = ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
_installed = False
_EXPECTED = ["local_rank"]  # parameters of lightning's _hydra_subprocess_cmd that job_command replaces


class LightningInternalsError(MelmoError, RuntimeError):
    """The private Lightning function this module replaces is missing or has changed."""


def job_command(local_rank: int) -> tuple[Sequence[str], str]:
    """The command that starts rank ``local_rank`` of the *current* job, and its working dir."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    import __main__

    hc = HydraConfig.get()
    spec = getattr(__main__, "__spec__", None)
    if spec is None:
        command = [sys.executable, os.path.abspath(sys.argv[0])]
    else:
        command = [sys.executable, "-m", spec.name]
    argv, i = sys.argv[1:], 0
    while i < len(argv):  # keep only the config-selection flags; drop -m and the sweep lists
        arg = argv[i]
        if arg in _CONFIG_FLAGS and i + 1 < len(argv):
            command += [arg, argv[i + 1]]
            i += 2
            continue
        if arg.split("=", 1)[0] in _CONFIG_FLAGS[1::2]:
            command.append(arg)
        i += 1
    command += list(hc.overrides.task)  # this job's concrete overrides
    command += [
        f'hydra.run.dir="{hc.runtime.output_dir}"',
        f"hydra.job.name=train_ddp_process_{local_rank}",
        "hydra.output_subdir=null",
    ]
    return command, get_original_cwd()


def install() -> None:
    """Patch Lightning's subprocess launcher (idempotent)."""
    global _installed
    from lightning.fabric.strategies.launchers import subprocess_script as fabric_launcher
    from lightning.pytorch.strategies.launchers import subprocess_script as pl_launcher

    for mod in (fabric_launcher, pl_launcher):
        check_internal(mod)
    fabric_launcher._hydra_subprocess_cmd = job_command
    pl_launcher._hydra_subprocess_cmd = job_command  # imported by name there: patch both
    _installed = True


def check_internal(module) -> None:
    """``module._hydra_subprocess_cmd`` exists with the signature ``job_command`` replaces."""
    import lightning

    fn = getattr(module, "_hydra_subprocess_cmd", None)
    if fn is job_command:
        return
    params = list(inspect.signature(fn).parameters) if callable(fn) else None
    if params != _EXPECTED:
        found = "is missing" if fn is None else f"has parameters {params}"
        raise LightningInternalsError(
            f"{module.__name__}._hydra_subprocess_cmd {found}, expected ({', '.join(_EXPECTED)}): "
            f"lightning {lightning.__version__} is not supported by melmo.utils.ddp_hydra (tested with "
            "2.4-2.6)"
        )


def installed() -> bool:
    return _installed


def reset() -> None:
    """End of a job in the launching process: let the next job start its own ranks."""
    if _EXTERNAL:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    for key in _ENV:
        os.environ.pop(key, None)


def check(cfg) -> None:
    """Refuse the broken combination: a multirun with subprocess DDP and the patch not installed."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        multirun = False
    strategy = str(cfg.trainer.get("strategy", ""))
    if (multirun and strategy.startswith("ddp") and "spawn" not in strategy
            and not _installed and not _EXTERNAL):
        raise ConfigError(
            "Hydra -m with trainer.strategy=ddp needs melmo.utils.ddp_hydra.install() in the entry script "
            "(otherwise every rank re-runs the whole sweep)"
        )
