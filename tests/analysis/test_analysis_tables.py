"""Tables 1 and 4: the paper's Table 1 from its Table 4, missing cells, seeds, formats."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest

from melmo.analysis import paper_table4, summary_table
from melmo.analysis.tables import difference_table, language_table, to_csv, to_latex, to_markdown

# The paper's Table 1 typed from the paper (not from the package data): encoder -> column -> value.
PAPER_TABLE1 = {
    "MONO": {"PoS": 0.86, "UAS": 0.86, "LAS": 0.81},
    "M0.4": {"PoS": 0.83, "UAS": 0.85, "LAS": 0.80, "PoS (trf.)": 0.36, "XNLI": 0.45, "Tatoeba": 0.18},
    "M0.2": {"PoS": 0.84, "UAS": 0.85, "LAS": 0.80, "PoS (trf.)": 0.39, "XNLI": 0.46, "Tatoeba": 0.21},
    "TRUNC": {"PoS": 0.83, "UAS": 0.85, "LAS": 0.80, "PoS (trf.)": 0.36, "XNLI": 0.45, "Tatoeba": 0.13},
}
COLUMNS = ["PoS", "UAS", "LAS", "PoS (trf.)", "XNLI", "Tatoeba"]


def test_table1_reproduced_from_table4():
    t1 = summary_table(paper_table4())
    assert list(t1.index) == ["MONO", "M0.4", "M0.2", "TRUNC"]
    assert list(dict.fromkeys(t1.columns.get_level_values(0))) == COLUMNS
    for enc, row in PAPER_TABLE1.items():
        for col in COLUMNS:
            got = t1.loc[enc, (col, "mean")]
            if col in row:
                assert abs(got - row[col]) <= 0.01 + 1e-9, (enc, col, got, row[col])
            else:
                assert math.isnan(got), (enc, col)  # MONO has no transfer results
    assert t1.xs("std", axis=1, level=1).isna().all().all()  # one (averaged) run per cell: no std


def test_missing_cells_stay_missing_and_out_of_the_means():
    t4 = language_table(paper_table4())
    for task in ("PoS", "PoS (trf.)"):
        assert t4.loc[task, ("sv", "mean")].isna().all()
    for task in ("UAS", "LAS"):
        assert t4.loc[task, ("ru", "mean")].isna().all()
    for lang in ("en", "hi"):
        assert t4.loc["Tatoeba", (lang, "mean")].isna().all()
    assert t4.loc[("XNLI", "M0.4")].xs("mean", level=1).notna().sum() == 6
    # Means over the languages present only: Tatoeba M0.4, 11 values typed from the paper.
    tatoeba_m04 = [0.05, 0.05, 0.19, 0.16, 0.36, 0.11, 0.04, 0.26, 0.55, 0.12, 0.11]
    t1 = summary_table(paper_table4())
    assert t1.loc["M0.4", ("Tatoeba", "mean")] == pytest.approx(sum(tatoeba_m04) / 11)
    # PoS transfer includes English (0.89), as the paper's Table 1 does: 12 values.
    pos_trf_m02 = [0.26, 0.89, 0.29, 0.47, 0.37, 0.33, 0.54, 0.24, 0.18, 0.55, 0.29, 0.28]
    assert t1.loc["M0.2", ("PoS (trf.)", "mean")] == pytest.approx(sum(pos_trf_m02) / 12)
    assert "MONO" not in t4.loc["XNLI"].index  # no row for an encoder without any value


def _seeded():
    """Two encoders, two languages, three seeds; b lacks language 'fi' for seed 2."""
    rows = []
    vals = {("A", "ar"): [0.80, 0.82, 0.84], ("A", "fi"): [0.70, 0.71, 0.75],
            ("B", "ar"): [0.60, 0.66, 0.63], ("B", "fi"): [0.50, 0.52]}
    for (enc, lang), vs in vals.items():
        for seed, v in enumerate(vs):
            rows.append(
                {"encoder": enc, "task": "pos", "metric": "acc", "language": lang, "seed": seed, "value": v})
    return pd.DataFrame(rows), vals


def test_seed_mean_and_std_definitions():
    df, vals = _seeded()
    t1 = summary_table(df)
    # A: mean over languages of seed-means; std over seeds of per-seed language means (ddof=1).
    a_lang = [np.mean(vals[("A", "ar")]), np.mean(vals[("A", "fi")])]
    assert t1.loc["A", ("PoS", "mean")] == pytest.approx(sum(a_lang) / 2)
    per_seed = [(vals[("A", "ar")][s] + vals[("A", "fi")][s]) / 2 for s in range(3)]
    m = sum(per_seed) / 3
    assert t1.loc["A", ("PoS", "std")] == pytest.approx(math.sqrt(sum((x - m) ** 2 for x in per_seed) / 2))
    t4 = language_table(df)
    b_fi = vals[("B", "fi")]
    assert t4.loc[("PoS", "B"), ("fi", "mean")] == pytest.approx(sum(b_fi) / 2)
    assert t4.loc[("PoS", "B"), ("fi", "std")] == pytest.approx(abs(b_fi[0] - b_fi[1]) / math.sqrt(2))
    md = to_markdown(t4)
    assert "| PoS | A | 0.82 ± 0.02 | 0.72 ± 0.03 |" in md


def test_missing_encoder_task_language_one_log_line(caplog):
    df, _ = _seeded()
    with caplog.at_level(logging.WARNING, logger="melmo.analysis"):
        t1 = summary_table(df, encoders=["A", "MONO"], columns=[("pos", "acc"), ("xnli", "acc")],
                           languages=["ar", "sv"])
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "MONO" in lines[0] and "xnli/acc" in lines[0] and "sv" in lines[0]
    assert list(t1.index) == ["A"] and list(t1.columns.get_level_values(0).unique()) == ["PoS"]
    assert t1.loc["A", ("PoS", "mean")] == pytest.approx(0.82)  # ar only


def test_formats():
    t1 = summary_table(paper_table4())
    md = to_markdown(t1).splitlines()
    assert md[0] == "| encoder | PoS | UAS | LAS | PoS (trf.) | XNLI | Tatoeba |"
    assert md[2] == "| MONO | 0.86 | 0.86 | 0.81 | - | - | - |"
    tex = to_latex(t1)
    assert (tex.startswith("\\begin{tabular}{lrrrrrr}")
            and "M0.2 & 0.84 & 0.85 & 0.80 & 0.39 & 0.46 & 0.21 \\\\" in tex)
    back = pd.read_csv(__import__("io").StringIO(to_csv(t1)))
    assert back.loc[back["encoder"] == "M0.4", "Tatoeba"].item() == pytest.approx(0.181818, abs=1e-6)
    assert "Tatoeba std" in back.columns
    diff = difference_table(t1, t1)
    assert (diff.xs("mean", axis=1, level=1).fillna(0) == 0).all().all()


def test_a_results_file_without_the_papers_metrics_gives_an_empty_table1():
    """evaluate.py task=perplexity writes only ppl / ppl_iv / unk rows: Table 1 has no column, no error."""
    import pandas as pd

    from melmo.analysis import summary_table

    df = pd.DataFrame({"encoder": ["tiny"] * 3, "task": ["perplexity"] * 3,
                       "metric": ["ppl", "ppl_iv", "ppl"], "language": ["en", "en", "fi"], "seed": [0] * 3,
                       "value": [100.0, 80.0, 120.0]})
    table = summary_table(df)
    assert list(table.index) == ["tiny"] and table.shape[1] == 0
