"""train.py as a user runs it: DDP on gloo, Hydra -m with DDP, kill -9 and resume, W&B offline."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "data.module.batch_size=4", "data.module.unroll_steps=8", "heldout.batch_rows=4",
    "data.prepare.heldout_tokens=150", "lm.n_negative_samples=256", "trainer.enable_progress_bar=false",
    "trainer.log_every_n_steps=1", "trainer.val_check_interval=1000",
    "+logger.csv.flush_logs_every_n_steps=1",
]


def train(tmp: Path, cache: Path, *overrides, check=True, timeout=600, **popen):
    flags = [o for o in overrides if o.startswith("-")]  # Hydra wants -m before the overrides
    overrides = [o for o in overrides if not o.startswith("-")]
    cmd = [sys.executable, "train.py", *flags, *FAST, f"paths.cache_dir={cache}", f"paths.log_dir={tmp}/logs",
           *overrides]
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    if popen:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(
            f"train.py failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


def _logged_steps(run_dir: Path) -> set[int]:
    try:
        return set(step_losses(run_dir))
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return set()


def step_losses(run_dir: Path) -> dict[int, float]:
    out = {}
    with open(run_dir / "csv" / "metrics.csv") as fh:
        for row in csv.DictReader(fh):
            if row.get("train/loss_step") or row.get("train/loss"):
                out[int(row["step"])] = float(row.get("train/loss_step") or row["train/loss"])
    return out


@pytest.mark.slow
def test_ddp_two_processes_on_gloo(tmp_path, session_cache):
    run_dir = tmp_path / "run"
    train(tmp_path, session_cache, "trainer=ddp_cpu", "trainer.max_steps=4", f"hydra.run.dir={run_dir}")
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / "model" / "weights.hdf5").is_file()
    import torch

    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    positions = ckpt["LMDataModule"]["position"]
    assert len(positions) == 2 and positions[0]["fwd"]["rank"] == 0 and positions[1]["fwd"]["rank"] == 1
    assert len(ckpt["lm_state"]) == 2  # both ranks' carried LSTM states


@pytest.mark.slow
def test_multirun_with_ddp_runs_each_job_exactly_once(tmp_path, session_cache):
    sweep = tmp_path / "sweep"
    res = train(tmp_path, session_cache, "-m", "sampling=alpha04,alpha02,trunc", "trainer=ddp_cpu",
                "trainer.max_steps=2", "export=false", f"hydra.sweep.dir={sweep}")
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["0_alpha04", "1_alpha02", "2_trunc"], jobs
    for job in jobs:
        # rank 0 logs as train.log, its one child as train_ddp_process_1.log, both in the job's own dir
        assert (sweep / job / "train_ddp_process_1.log").is_file(), job
        assert "sampling" in (sweep / job / ".hydra" / "overrides.yaml").read_text()
    # no child ran a sweep of its own: no other multirun directory anywhere
    assert not (tmp_path / "logs" / "pretrain" / "multiruns").exists()
    assert res.stdout.count("Launching 3 jobs locally") + res.stderr.count("Launching 3 jobs locally") == 1


def _global_step(path: Path) -> int | None:
    """The step a checkpoint holds; None while it is missing or not yet completely written."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)["global_step"]
    except Exception:  # absent, or caught mid-write
        return None


@pytest.mark.slow
def test_sigkill_and_resume_reproduces_the_uninterrupted_losses(tmp_path, session_cache):
    common = ["trainer.max_steps=12", "callbacks.model_checkpoint.every_n_train_steps=4", "export=false"]
    full = tmp_path / "full"
    train(tmp_path, session_cache, *common, f"hydra.run.dir={full}")
    reference = step_losses(full)
    assert len(reference) == 12

    cut = tmp_path / "cut"
    proc = train(tmp_path, session_cache, *common, f"hydra.run.dir={cut}", popen=True)
    ckpt, last = cut / "checkpoints" / "step_0000008.ckpt", cut / "checkpoints" / "last.ckpt"
    deadline = time.time() + 300
    # ckpt_path=last reads last.ckpt, written after step_0000008.ckpt: kill once it holds step 8
    while _global_step(last) != 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    # ...and once the metrics of the steps before it are on disk (the CSV logger writes a step's row
    # after the checkpoint callback of that step has run)
    while 7 not in _logged_steps(cut) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and _global_step(last) == 8, "the run ended before its step-8 checkpoint"
    done = step_losses(cut)
    assert max(done) < 11, "the kill came too late to test a resume"

    train(tmp_path, session_cache, *common, f"hydra.run.dir={cut}", "ckpt_path=last")
    resumed = step_losses(cut)
    assert min(resumed) == 8 and max(resumed) == 11  # continued after the step-8 checkpoint
    combined = {**done, **resumed}
    assert sorted(combined) == sorted(reference)
    for step, loss in reference.items():
        assert combined[step] == pytest.approx(loss, rel=1e-5, abs=1e-6), step


@pytest.mark.slow
def test_wandb_offline_run_keeps_its_metrics(tmp_path, session_cache):
    run_dir = tmp_path / "run"
    train(tmp_path, session_cache, "logger=wandb", "trainer.max_steps=3", "export=false",
          f"hydra.run.dir={run_dir}")
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    history = list(runs[0].glob("run-*.wandb"))  # the offline run's record, uploaded by `wandb sync`
    assert len(history) == 1
    data = history[0].read_bytes()
    assert data.count(b"train/loss") >= 3 and b"train/ppl" in data  # one history row per step
    assert b"alpha04" in data  # the run's config (sampling) went with it


def test_sweep_files_are_valid_and_their_parameters_compose():
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    for path in sorted((ROOT / "conf" / "sweep").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        assert spec["program"] == "train.py" and "${args_no_hyphens}" in spec["command"]
        assert not any("-m" == c for c in spec["command"])
        params = {name: p.get("values", [p.get("value")]) for name, p in spec["parameters"].items()}
        for name, values in params.items():
            # each value with the first value of every other parameter, as an agent passes them
            for v in values:
                overrides = [f"{k}={v if k == name else vs[0]}" for k, vs in params.items()]
                GlobalHydra.instance().clear()
                with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
                    cfg = compose("train", overrides=overrides)
                got = OmegaConf.select(cfg, name)
                if OmegaConf.is_config(got):  # a config group choice: the group's node names itself
                    assert got.name == v, (name, v)
                else:
                    assert got == v, (name, v)
    GlobalHydra.instance().clear()
