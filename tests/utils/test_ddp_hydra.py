"""The Hydra x DDP patch (melmo.utils.ddp_hydra): the Lightning internal it replaces, and the command of a
multirun job."""

import sys
import types

import lightning
import pytest

from melmo.utils import ddp_hydra


def test_the_lightning_internal_exists_with_the_expected_signature():
    from lightning.fabric.strategies.launchers import subprocess_script as fabric_launcher

    ddp_hydra.check_internal(fabric_launcher)  # the installed Lightning passes
    for fake, found in ((types.ModuleType("fake_launcher"), "is missing"),
                        (types.SimpleNamespace(__name__="fake_launcher",
                                               _hydra_subprocess_cmd=lambda rank, cwd: None),
                         "has parameters ['rank', 'cwd']")):
        with pytest.raises(ddp_hydra.LightningInternalsError) as err:
            ddp_hydra.check_internal(fake)
        msg = str(err.value)
        assert "\n" not in msg and found in msg and f"lightning {lightning.__version__}" in msg


def test_multirun_job_command(monkeypatch, tmp_path):
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    import __main__

    hc = OmegaConf.create({"hydra": {
        "overrides": {"task": ["sampling=alpha02", "trainer=ddp_cpu"]},
        "runtime": {"output_dir": str(tmp_path / "sweep" / "1_alpha02"), "cwd": "/somewhere"},
        "mode": "MULTIRUN",
    }})
    monkeypatch.setattr(HydraConfig, "get", staticmethod(lambda: hc.hydra))
    monkeypatch.setattr("hydra.utils.get_original_cwd", lambda: "/somewhere")
    monkeypatch.setattr(__main__, "__spec__", None, raising=False)
    monkeypatch.setattr(sys, "argv", ["/repo/train.py", "-m", "-cn", "train", "sampling=alpha04,alpha02",
                                      "--config-dir=/extra", "trainer=ddp_cpu"])
    command, cwd = ddp_hydra.job_command(local_rank=1)
    assert command == [
        # config flags kept, -m and the sweep dropped
        sys.executable, "/repo/train.py", "-cn", "train", "--config-dir=/extra",
        "sampling=alpha02", "trainer=ddp_cpu",  # this job's own overrides
        f'hydra.run.dir="{tmp_path / "sweep" / "1_alpha02"}"', "hydra.job.name=train_ddp_process_1",
        "hydra.output_subdir=null",
    ]
    assert cwd == "/somewhere"
