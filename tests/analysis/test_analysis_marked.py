"""The marked tests: every cell, Holm-adjusted over a row's languages; what Table 4 and the figures mark."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from melmo.analysis import make_report
from melmo.analysis.marked import marked_tests
from melmo.analysis.tables import to_markdown
from melmo.results.predictions import predictions_path, write_predictions

# M0.2 - M0.4 per language over 3 seeds: ar clearly better, fi raw p ~ 0.04 (not after Holm over 3), ko equal
SEEDS = {
    "ar": ([0.90, 0.91, 0.92], [0.80, 0.81, 0.82]),
    "fi": ([0.80, 0.81, 0.82], [0.775, 0.785, 0.795]),
    "ko": ([0.70, 0.71, 0.72], [0.70, 0.71, 0.72]),
}


def _rows(task="pos"):
    return [
        {"encoder": enc, "task": task, "metric": "acc", "language": lang, "seed": s + 1, "value": v}
        for lang, (a, b) in SEEDS.items()
        for enc, vals in (("M0.2", a), ("M0.4", b))
        for s, v in enumerate(vals)
    ]


def test_holm_verdict_is_marked_not_the_raw_p():
    report = make_report(pd.DataFrame(_rows()))
    sig = report.significance.set_index("language")
    raw = {lang: stats.ttest_ind(a, b, equal_var=False).pvalue for lang, (a, b) in SEEDS.items()}
    assert sig["p"].to_dict() == pytest.approx(raw)  # unpaired Welch over the seeds
    assert raw["fi"] < 0.05 < 2 * raw["fi"]  # the case: raw passes, Holm (second smallest: times 2) does not
    # Holm by hand: ascending ar, fi, ko times 3, 2, 1, running maximum
    holm = {"ar": 3 * raw["ar"], "fi": max(3 * raw["ar"], 2 * raw["fi"]), "ko": 1.0}
    bh = {"ar": 3 * raw["ar"], "fi": 1.5 * raw["fi"], "ko": 1.0}
    assert sig["p_holm"].to_dict() == pytest.approx(holm) and sig["p_bh"].to_dict() == pytest.approx(bh)
    assert sig["significant"].to_dict() == {"ar": True, "fi": False, "ko": False}
    half = stats.t.ppf(0.975, 4) * np.sqrt(2 * 0.01**2 / 3)  # equal spreads: Welch df = 4
    assert sig.loc["fi", "ci_low"] == pytest.approx(0.025 - half)
    assert sig.loc["fi", "ci_high"] == pytest.approx(0.025 + half)
    line = next(ln for ln in to_markdown(report.table4).splitlines() if ln.startswith("| PoS | M0.2 |"))
    cells = [c.strip() for c in line.split("|")[3:6]]  # ar, fi, ko
    assert [c.endswith("*") for c in cells] == [True, False, False]
    assert "Holm" in report.table4.attrs["marks_note"]
    fig = report.figures["figure2"]
    marked = [
        t.get_gid() for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("significant:")
    ]
    assert marked == ["significant:ar"]
    # error bars of figure 2 are the written intervals
    bars = next(c for c in fig.axes[0].containers if type(c).__name__ == "BarContainer")
    segs = bars.errorbar.lines[2][0].get_segments()
    got = {r.get_gid(): (s[0][1], s[1][1]) for r, s in zip(bars.patches, segs)}
    want = {lang: (sig.loc[lang, "ci_low"], sig.loc[lang, "ci_high"]) for lang in SEEDS}
    assert {k: pytest.approx(v) for k, v in got.items()} == want
    assert not report.power.empty and report.power.loc[0, "seeds"] == 3


def _write(root, task, enc, lang, seed, correct, per=5):
    items = [f"{i // per}:{i % per}" for i in range(len(correct))]
    write_predictions(
        predictions_path(root, task, enc, lang, seed),
        items,
        ["N"] * len(correct),
        ["N" if c else "V" for c in correct],
    )


def test_predictions_give_the_item_part_and_pos_transfer_en_is_pos_en(tmp_path, caplog):
    rng = np.random.default_rng(3)
    hard = rng.random(500)  # item difficulty shared by every head: M0.2 is right on items M0.4 misses
    rows = []
    for s in range(3):
        for enc, q in (("M0.2", 0.85), ("M0.4", 0.80)):
            x = hard + 0.05 * rng.standard_normal(500) < q + 0.01 * s
            for task in ("pos", "pos_transfer"):  # transfer to English: the English PoS heads again
                _write(tmp_path, task, enc, "en", s + 1, x)
                rows.append(
                    {
                        "encoder": enc,
                        "task": task,
                        "metric": "acc",
                        "language": "en",
                        "seed": s + 1,
                        "value": x.mean(),
                    }
                )
    with caplog.at_level(logging.INFO):
        tests = marked_tests(pd.DataFrame(rows), [("M0.2", "M0.4")], tmp_path)
    assert tests[["test", "task"]].values.tolist() == [["t_seeds_items", "pos"]]  # tested once
    assert any("tested once" in r.getMessage() for r in caplog.records)
    r = tests.iloc[0]
    assert (
        r["item_se"] > 0 and r["se"] == pytest.approx(np.hypot(r["seed_se"], r["item_se"])) and r["n"] == 500
    )
    seeds_only = marked_tests(pd.DataFrame(rows), [("M0.2", "M0.4")]).iloc[0]  # without predictions
    assert (
        seeds_only["test"] == "t_seeds" and seeds_only["p"] <= r["p"]
    )  # the item part only adds uncertainty
