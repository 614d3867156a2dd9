"""train.py across processes (slow): per-rank random streams in 2-process gloo DDP and their exact
resume after SIGKILL; ranks launched from outside (torchrun's environment) prepare once and plan
with the trainer's world size; one-line errors."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FAST = [
    "sampling=mono", "sampling.language=fi", "data.module.batch_size=4", "data.module.unroll_steps=8",
    "heldout.batch_rows=4", "data.prepare.heldout_tokens=200", "lm.n_negative_samples=256",
    "trainer.enable_progress_bar=false", "trainer.log_every_n_steps=1", "trainer.val_check_interval=1000",
    "+logger.csv.flush_logs_every_n_steps=1",
]


def command(tmp: Path, cache: Path, *overrides) -> list[str]:
    return [sys.executable, "train.py", *FAST, f"paths.cache_dir={cache}", f"paths.log_dir={tmp}/logs",
            *overrides]


def env(**extra) -> dict:
    return {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(HERE), **extra}


def train(tmp, cache, *overrides, timeout=900):
    res = subprocess.run(command(tmp, cache, *overrides), cwd=ROOT, env=env(), capture_output=True, text=True,
                         timeout=timeout)
    if res.returncode != 0:
        raise AssertionError(
            f"train.py failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


def draws(run_dir: Path, rank: int) -> dict[int, list]:
    """step -> the draws of that step (every record of a step, across the killed and the resumed run)."""
    out: dict[int, list] = {}
    for line in (run_dir / "draws" / f"draws.rank{rank}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out.setdefault(rec["step"], []).append(rec["draws"])
    return out


def step_losses(run_dir: Path) -> dict[int, float]:
    with open(run_dir / "csv" / "metrics.csv") as fh:
        return {int(r["step"]): float(r.get("train/loss_step") or r["train/loss"]) for r in csv.DictReader(fh)
                if r.get("train/loss_step") or r.get("train/loss")}


def wait_for_last_step(run_dir: Path, step: int, proc, timeout=600) -> None:
    """Until last.ckpt (what ckpt_path=last reads) loads and holds ``step``."""
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if torch.load(last, map_location="cpu", weights_only=True)["global_step"] >= step:
                return
        except Exception:  # not there yet, or being written
            pass
        time.sleep(0.05)
    raise AssertionError(f"{last} never held step {step} (exit code {proc.poll()})")


@pytest.mark.slow
def test_ddp_ranks_draw_their_own_negatives_and_masks_and_resume_exactly(tmp_path, session_cache):
    def overrides(run_dir):
        return ["trainer=ddp_cpu", "trainer.max_steps=12", "callbacks.model_checkpoint.every_n_train_steps=4",
                "export=false", f"hydra.run.dir={run_dir}", "+callbacks.draws._target_=draws.DrawRecorder",
                f"+callbacks.draws.out_dir={run_dir}/draws"]

    full = tmp_path / "full"
    train(tmp_path, session_cache, *overrides(full))
    ref = [draws(full, r) for r in (0, 1)]
    header = (full / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "train/device/items_per_sec" in header  # tokens/s from Lightning's ThroughputMonitor
    for rank in (0, 1):
        assert sorted(ref[rank]) == list(range(12))
        for step, (records,) in ref[rank].items():
            kinds = [k for k, _ in records]
            assert kinds.count("negatives") == 2 and "dropout" in kinds, (rank, step, kinds)
            fwd, bwd = [v for k, v in records if k == "negatives"]
            assert fwd != bwd, (rank, step)  # forward and backward draw their own negatives
    for step in range(12):
        (r0,), (r1,) = ref[0][step], ref[1][step]
        assert [v for k, v in r0 if k == "negatives"] != [v for k, v in r1 if k == "negatives"], step
        assert [v for k, v in r0 if k == "dropout"] != [v for k, v in r1 if k == "dropout"], step

    cut = tmp_path / "cut"
    proc = subprocess.Popen(command(tmp_path, session_cache, *overrides(cut)), cwd=ROOT, env=env(),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_last_step(cut, 8, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # rank 0 and its child rank
        proc.wait()
    assert max(draws(cut, 0)) < 11, "the kill came too late to test a resume"
    res = train(tmp_path, session_cache, *overrides(cut), "ckpt_path=last")  # weights_only=True
    for rank in (0, 1):
        got = draws(cut, rank)
        assert sorted(got) == list(range(12))
        for step, records in got.items():
            assert all(r == ref[rank][step][0] for r in records), (rank, step)
    losses, reference = step_losses(cut), step_losses(full)
    for step in range(8, 12):
        assert losses[step] == pytest.approx(reference[step], rel=1e-5, abs=1e-6), step
    assert "resuming from" in res.stdout + (cut / "train.log").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ranks_launched_from_outside_prepare_once_and_plan_with_the_world_size(tmp_path, session_cache):
    run_dir, port = tmp_path / "run", _free_port()
    tokens = 4 * 8 * 2 * 3  # batch x unroll x 2 ranks x 3 steps (6 steps if one process were assumed)
    procs = []
    for rank in (0, 1):
        torchrun = {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2",
                    "GROUP_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                    "TORCHELASTIC_RUN_ID": "melmo-test"}
        cmd = command(tmp_path, session_cache, "trainer=ddp_cpu", f"budget.tokens={tokens}", "export=false",
                      f"data.prepared_dir={tmp_path}/prepared", f"hydra.run.dir={run_dir}",
                      f"hydra.job.name=rank{rank}")
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env(**torchrun), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outs)
    log0, log1 = (run_dir / "rank0.log").read_text(), (run_dir / "rank1.log").read_text()
    assert "prepared corpus" in log0  # melmo.corpus.prepare: rank 0 prepared
    assert "prepared corpus" not in log1 and "rank 0 did preparing the corpus" in log1
    assert len([p for p in (tmp_path / "prepared").iterdir() if not p.name.startswith(".")]) == 1
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 3 and len(ckpt["LMDataModule"]["position"]) == 2


@pytest.mark.slow
def test_train_py_errors_are_one_line(tmp_path, session_cache):
    truncated = tmp_path / "cut.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1000)}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:500])
    cases = [
        (f"ckpt_path={tmp_path}/missing.ckpt",
         f"{tmp_path}/missing.ckpt: checkpoint to resume from not found"),
        (f"ckpt_path={truncated}", f"{truncated}: does not load"),
        ("budget.tokens=-5", "budget.tokens: must be > 0"),
        ("data.corpus_pattern='/nonexistent/{lang}.txt.xz'",
         "/nonexistent/fi.txt.xz: corpus file for language 'fi' not found"),
    ]
    for override, expected in cases:
        res = subprocess.run(command(tmp_path, session_cache, "export=false", f"hydra.run.dir={tmp_path}/run",
                                     override), cwd=ROOT, env=env(), capture_output=True, text=True,
                             timeout=600)
        assert res.returncode == 1, (override, res.stderr[-2000:])
        assert "Traceback" not in res.stdout + res.stderr, override
        last = res.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and expected in last, (override, last)
    res = subprocess.run(command(tmp_path, session_cache, "export=false", f"hydra.run.dir={tmp_path}/run",
                                 cases[0][0]), cwd=ROOT, env=env(HYDRA_FULL_ERROR="1"), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode != 0 and "Traceback" in res.stderr
