"""The CLI writes every table and figure from the bundled Table 4."""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from melmo.analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
FILES = ["table1.md", "table1.csv", "table1.tex", "table4.md", "table4.csv", "table4.tex",
         "correlations.md", "correlations.csv", "significance.md", "significance.csv", "figure1.png",
         "figure2.png", "figure3.png"]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND"[-8:] or data.endswith(b"IEND\xaeB`\x82"), path
    return struct.unpack(">II", data[16:24])


def test_paper_run_writes_everything(tmp_path, monkeypatch):
    from melmo.analysis import report

    saved = {}

    def spy(fig, path, _orig=report.save_png):  # keep the figures the CLI writes to read their bars back
        saved[Path(path).name] = fig
        return _orig(fig, path)

    monkeypatch.setattr(report, "save_png", spy)
    out = tmp_path / "out"
    assert main(["--paper", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    # heights: 3 panels (PoS, UAS, LAS), 2 panels (M0.2, TRUNC vs M0.4), 1 panel; 300 px per panel
    sizes = {name: png_size(out / name) for name in FILES if name.endswith(".png")}
    assert [sizes[f"figure{i}.png"][1] for i in (1, 2, 3)] == [900, 600, 300]
    assert all(w >= 600 for w, _ in sizes.values())
    # the bars of the written figures are the values of the written Table 4
    t4 = pd.read_csv(out / "table4.csv").set_index(["task", "encoder"])
    fig3 = saved["figure3.png"].axes[0]
    bars = [c for c in fig3.containers if type(c).__name__ == "BarContainer"]
    for c in bars:
        for r in c.patches:
            assert r.get_height() == pytest.approx(t4.loc[("Tatoeba", c.get_label()), r.get_gid()])
    assert sum(len(c.patches) for c in bars) == 33  # 3 models x 11 languages (no en, hi)
    pos = saved["figure1.png"].axes[0]
    for r in pos.containers[0].patches:
        lang = r.get_gid()
        assert r.get_height() == pytest.approx(t4.loc[("PoS", "MONO"), lang] - t4.loc[("PoS", "M0.4"), lang])
    t1 = pd.read_csv(out / "table1.csv")
    assert t1["encoder"].tolist() == ["MONO", "M0.4", "M0.2", "TRUNC"]
    assert t1.loc[t1["encoder"] == "M0.2", "PoS (trf.)"].item() == pytest.approx(0.390833, abs=1e-6)
    assert "| PoS | MONO | 0.89 | 0.89 | 0.88 | 0.82 |" in (out / "table4.md").read_text()
    corr = pd.read_csv(out / "correlations.csv")
    pos = corr[(corr["task"] == "pos") & (corr["b"] == "M0.4")].set_index("a")
    assert pos.loc["MONO", "rho"] == pytest.approx(-0.735, abs=0.001)
    assert pos.loc["M0.2", "p"] == pytest.approx(0.022, abs=0.001)


def test_roles_configurable_and_missing_reported(tmp_path, caplog):
    rows = [("mine-mono", "pos", "acc", "fi", 1, 0.9), ("mine-multi", "pos", "acc", "fi", 1, 0.8),
            ("mine-mono", "pos", "acc", "ar", 1, 0.7), ("mine-multi", "pos", "acc", "ar", 1, 0.75)]
    p = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["encoder", "task", "metric", "language", "seed", "value"]).to_csv(
        p, index=False)
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO):
        assert main([str(p), "--out", str(out), "--mono", "mine-mono", "--base", "mine-multi", "--compare",
                     "M0.2", "--languages", "fi", "ar", "sv"]) == 0
    assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1
    lines = [r.getMessage() for r in caplog.records if "not in the results" in r.getMessage()]
    assert len(lines) == 1 and "M0.2" in lines[0] and "tatoeba/acc" in lines[0] and "language sv" in lines[0]
    assert (out / "figure1.png").is_file() and not (out / "figure2.png").exists()
    assert png_size(out / "figure1.png")[1] == 300


def test_module_entry_point(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path)])
    assert stop.value.code == 1
    assert capsys.readouterr().err.strip() == ("error: python -m melmo.analysis: give a results CSV or "
                                               "--paper (not both) (--help for usage)")
    p = tmp_path / "r.csv"
    p.write_text("encoder,task,metric,language,seed,value\nM0.4,pos,acc,fi,1,0.8\nM0.2,pos,acc,fi,1,0.9\n")
    r = subprocess.run([sys.executable, "-m", "melmo.analysis", str(p), "--out", str(tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("WARNING")]
    assert len(warnings) == 1 and "encoder MONO, TRUNC" in warnings[0], r.stderr
    assert (tmp_path / "out" / "table1.md").read_text().splitlines()[2] == "| M0.4 | 0.80 |"


def test_significance_from_seeds_and_predictions(tmp_path):
    from scipy import stats

    from melmo.results.predictions import predictions_path, write_predictions

    a, b = [0.80, 0.83, 0.81], [0.78, 0.80, 0.80]
    rows = [(enc, "pos", "acc", "fi", s, v) for enc, vals in (("M0.2", a), ("M0.4", b))
            for s, v in enumerate(vals)]
    res = tmp_path / "results.csv"
    pd.DataFrame(rows, columns=["encoder", "task", "metric", "language", "seed", "value"]).to_csv(
        res, index=False)
    items = [f"{i // 4}:{i % 4}" for i in range(200)]
    gold = ["1|nsubj"] * 200
    write_predictions(predictions_path(tmp_path, "parsing", "M0.2", "fi", 0), items, gold,
                      ["1|nsubj:pass"] * 200)
    write_predictions(predictions_path(tmp_path, "parsing", "M0.4", "fi", 0), items, gold,
                      ["1|obj"] * 100 + ["2|obj"] * 100)
    out = tmp_path / "out"
    assert main([str(res), "--out", str(out), "--resamples", "500"]) == 0
    sig = pd.read_csv(out / "significance.csv")
    # the marked test; no pos predictions: over the seeds of the results
    t = sig[sig["test"] == "t_seeds"].iloc[0]
    assert (t["a"], t["b"], t["n_seeds"]) == ("M0.2", "M0.4", "3+3")
    assert t["p"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-5)  # unpaired Welch
    assert t["p_holm"] == t["p_bh"] == t["p"] and t["family_size"] == 1  # one language: nothing to adjust
    assert t["ci_low"] < t["difference"] < t["ci_high"]
    assert (out / "power.csv").is_file() and "| PoS | 3 |" in (out / "power.md").read_text()
    boot = sig[sig["test"] == "bootstrap"].set_index("metric")
    # uas: both right on 100 items, M0.4 wrong head on 100 -> +0.5; las: M0.2 (subtype ignored) 1.0, M0.4 0.0
    # -> +1
    assert (boot.loc["uas", "difference"] == pytest.approx(0.5)
            and boot.loc["las", "difference"] == pytest.approx(1.0))
    assert (boot["p"] < 0.01).all() and (boot["n"] == 200).all()
