"""`python -m melmo.study` for real: the training stage on the shipped sample (2 languages, 2 steps), then a
rerun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def study(tmp: Path, cache: Path, *extra, train=()):
    tiny = ["paths.cache_dir=" + str(cache), "data.module.batch_size=8", "data.module.unroll_steps=10",
            "heldout.batch_rows=8", "data.prepare.heldout_tokens=300", "lm.n_negative_samples=256",
            "trainer.enable_progress_bar=false", "trainer.val_check_interval=1000", *train]
    cmd = [sys.executable, "-m", "melmo.study", "study=sample", "stages=[train]", f"paths.log_dir={tmp}",
           # 2 steps of 8 x 10
           "study.strategies=[alpha04]", "study.languages=[en,fi]", "study.max_tokens=160",
           "study.train.extra_overrides=[" + ",".join(f"'{o}'" for o in tiny) + "]", *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
                          env={**os.environ, "WANDB_MODE": "offline"})


@pytest.mark.slow
def test_study_trains_each_model_once_and_a_rerun_does_nothing(tmp_path, session_cache):
    out = tmp_path / "studies" / "sample"
    first = study(tmp_path, session_cache, "study.strategies=[alpha04,trunc]")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for name in ("alpha04", "trunc"):
        model = out / "models" / name / "model"
        assert {"options.json", "weights.hdf5", "vocab.txt", "melmo.json"} <= {p.name
                                                                               for p in model.iterdir()}
        corpus = json.loads((model / "melmo.json").read_text())["corpus"]
        assert corpus["languages"] == ["en", "fi"] and corpus["sampling"]["name"] == name
        assert f"train-{name}: ok" in first.stdout
    manifest = json.loads((out / "study.json").read_text())
    assert [s["status"] for s in manifest["stages"]] == ["ok", "ok"]
    assert manifest["config"]["study"]["languages"] == ["en", "fi"]
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "models" in p.parts}
    logs = {p: p.read_text() for p in (out / "logs").iterdir()}

    second = study(tmp_path, session_cache, "study.strategies=[alpha04,trunc]")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("done before, skipped") == 2 and "running" not in second.stdout
    again = json.loads((out / "study.json").read_text())  # the rerun keeps the times of the run that trained
    assert [s["earlier_seconds"] for s in again["stages"]] == [s["seconds"] for s in manifest["stages"]]
    assert all(s["seconds"] is None for s in again["stages"]) and " s wall" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and "models" in p.parts} == stamps
    assert {p: p.read_text() for p in (out / "logs").iterdir()} == logs


@pytest.mark.slow
def test_a_failing_training_names_its_stage_and_log_and_exits_non_zero(tmp_path, session_cache):
    # the preflight composes and sizes every stage's model before any stage runs, so a model config that
    # cannot be built is one line before anything starts (no training launched, no log written)
    res = study(tmp_path, session_cache, "study.strategies=[alpha04]", train=["model.lstm.n_layers=0"])
    log = tmp_path / "studies" / "sample" / "logs" / "train-alpha04.log"
    assert res.returncode == 1
    assert "lstm.n_layers must be at least 1" in res.stderr and "Traceback" not in res.stderr
    assert not log.exists()
    assert not (tmp_path / "studies" / "sample" / "models" / "alpha04" / "model").exists()
