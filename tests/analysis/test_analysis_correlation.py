"""size_correlation reproduces the paper's two PoS statistics from its Tables 3 and 4."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy import stats

from melmo.analysis import ResultsError, paper_sizes, paper_table4, size_correlation
from melmo.analysis.correlation import load_sizes

# Table 3 of the paper, M0.4 row (million tokens), typed here independently of the package data.
TABLE3_M04 = {"ar": 242.29, "en": 585.52, "eu": 113.42, "fi": 239.57, "he": 208.46, "hi": 91.74, "it": 468.45,
              "ja": 460.53, "ko": 184.63, "ru": 379.9, "sv": 366.86, "tr": 396.01, "zh": 282.76}


def test_bundled_table3_matches_paper():
    assert paper_sizes("M0.4") == pytest.approx({k: v * 1e6 for k, v in TABLE3_M04.items()})
    assert set(paper_sizes("TRUNC").values()) == {91.74e6}


@pytest.mark.parametrize("column", ["M0.4", "M0.2"])  # same ranking: either column reproduces the paper
def test_paper_pos_statistics(column):
    sizes = paper_sizes(column)
    rho, p = size_correlation(paper_table4(), sizes, "pos", "acc", "MONO", "M0.4")
    assert round(abs(rho), 2) == 0.74 and rho < 0  # sign follows MONO - M0.4: bigger gains on small corpora
    assert abs(p - 0.006) <= 0.0005
    rho, p = size_correlation(paper_table4(), sizes, "pos", "acc", "M0.2", "M0.4")
    assert round(abs(rho), 2) == 0.65 and rho < 0
    assert abs(p - 0.02) <= 0.005
    rho_swapped, _ = size_correlation(paper_table4(), sizes, "pos", "acc", "M0.4", "M0.2")
    assert rho_swapped == pytest.approx(-rho)


def test_pearson_and_reference_on_small_input(tmp_path):
    rows = [("A", "x", lang, v) for lang, v in zip(["ar", "fi", "ko", "tr"], [0.5, 0.6, 0.9, 0.7])]
    rows += [("B", "x", lang, v)
             for lang, v in zip(["ar", "fi", "ko", "tr", "sv"], [0.4, 0.4, 0.5, 0.6, 0.1])]
    df = pd.DataFrame([{"encoder": e, "task": t, "metric": "acc", "language": lang, "seed": 0, "value": v}
                       for e, t, lang, v in rows])
    sizes = {"ar": 10, "fi": 20, "ko": 40, "tr": 30, "sv": 5}
    d = [0.1, 0.2, 0.4, 0.1]  # A - B on ar fi ko tr
    for method, ref in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        want = ref([10, 20, 40, 30], d)
        rho, p = size_correlation(df, sizes, "x", "acc", "A", "B", method=method)
        assert (rho, p) == pytest.approx((want.statistic, want.pvalue))
    # sizes from a prepared corpus's metadata.json (realised tokens) and from a CSV
    meta = tmp_path / "metadata.json"
    meta.write_text(json.dumps({"realised": {k: {"tokens": v, "sentences": 1} for k, v in sizes.items()}}))
    csvp = tmp_path / "sizes.csv"
    csvp.write_text("language,tokens\n" + "".join(f"{k},{v}\n" for k, v in sizes.items()))
    assert load_sizes(meta) == load_sizes(csvp) == {k: float(v) for k, v in sizes.items()}
    assert size_correlation(df, meta, "x", "acc", "A", "B") == size_correlation(
        df, sizes, "x", "acc", "A", "B")


def test_bad_sizes(tmp_path):
    p = tmp_path / "sizes.csv"
    p.write_text("language,tokens\nar,10\nfi,lots\n")
    with pytest.raises(ResultsError, match=r"sizes.csv: row 2 \(line 3\): tokens 'lots'"):
        load_sizes(p)
    m = tmp_path / "metadata.json"
    m.write_text(json.dumps({"languages": ["ar"]}))
    with pytest.raises(ResultsError, match="no 'realised' key"):
        load_sizes(m)
    with pytest.raises(ResultsError, match="need 3"):
        size_correlation(paper_table4(), {"ar": 1, "fi": 2}, "pos", "acc", "MONO", "M0.4")
    rho, _ = size_correlation(paper_table4(), paper_sizes("TRUNC"), "pos", "acc", "MONO", "M0.4")
    assert math.isnan(rho)  # TRUNC's equal sizes carry no ranking
