"""``--wandb-dir``: the analysis logs Tables 1 and 4 as W&B tables and the figures as images (offline run,
read back)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from wandb_offline import offline_runs

from melmo.analysis.__main__ import main


def test_tables_and_figures_go_to_an_offline_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "out"
    assert main(["--paper", "--out", str(out), "--wandb-dir", str(tmp_path / "wb"), "--wandb-group",
                 "study-small", "--wandb-tags", "study", "small"]) == 0
    (run,) = offline_runs(tmp_path / "wb")
    assert (run.group, run.job_type) == ("study-small", "analysis")
    assert run.tags == ["study", "small", "analysis"]
    table1 = {r["encoder"]: r for r in run.table("analysis/table1")}
    assert list(table1) == ["MONO", "M0.4", "M0.2", "TRUNC"]
    # the paper's Table 4, averaged by hand
    assert table1["M0.2"]["PoS (trf.) mean"] == pytest.approx(0.390833, abs=1e-6)
    table4 = run.table("analysis/table4")
    written = pd.read_csv(out / "table4.csv")
    assert [(r["task"], r["encoder"]) for r in table4] == list(zip(written["task"], written["encoder"]))
    fi = next(r for r in table4 if (r["task"], r["encoder"]) == ("PoS", "MONO"))["fi mean"]
    assert fi == pytest.approx(
        written.loc[(written["task"] == "PoS") & (written["encoder"] == "MONO"), "fi"].item())
    for name in ("figure1", "figure2", "figure3"):
        logged = hashlib.sha256(run.image(f"analysis/{name}").read_bytes()).hexdigest()
        assert logged == hashlib.sha256((out / f"{name}.png").read_bytes()).hexdigest()


def test_without_wandb_dir_no_run_is_made(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--paper", "--out", str(tmp_path / "out")]) == 0
    assert not list(tmp_path.rglob("offline-run-*"))
