"""Figures 1-3: the plotted bars are the table's values, languages ordered by corpus size, seed error bars."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from matplotlib.container import BarContainer

from melmo.analysis import paper_sizes, paper_table4
from melmo.analysis.figures import figure1, figure2, figure3

LANGS = ["ar", "en", "eu", "fi", "he", "hi", "it", "ja", "ko", "ru", "sv", "tr", "zh"]
# Rows of the paper's Table 4 typed here independently of the package data (None: '-').
POS_MONO = [0.89, 0.89, 0.88, 0.82, 0.84, 0.9, 0.91, 0.94, 0.67, 0.88, None, 0.83, 0.86]
POS_M04 = [0.81, 0.89, 0.81, 0.78, 0.82, 0.87, 0.89, 0.94, 0.64, 0.87, None, 0.81, 0.84]
LAS_MONO = [0.79, 0.86, 0.79, 0.84, 0.84, 0.9, 0.9, 0.94, 0.74, None, 0.81, 0.59, 0.74]
LAS_M04 = [0.78, 0.85, 0.78, 0.81, 0.84, 0.9, 0.9, 0.94, 0.72, None, 0.79, 0.57, 0.72]
XNLI_M02 = {"ar": 0.46, "en": 0.56, "hi": 0.45, "ru": 0.49, "tr": 0.45, "zh": 0.34}
XNLI_M04 = {"ar": 0.41, "en": 0.67, "hi": 0.44, "ru": 0.48, "tr": 0.35, "zh": 0.35}
TATOEBA = {
    "M0.4": [0.05, None, 0.05, 0.19, 0.16, None, 0.36, 0.11, 0.04, 0.26, 0.55, 0.12, 0.11],
    "M0.2": [0.12, None, 0.12, 0.26, 0.21, None, 0.34, 0.11, 0.05, 0.33, 0.4, 0.17, 0.19],
    "TRUNC": [0.05, None, 0.1, 0.2, 0.09, None, 0.22, 0.05, 0.03, 0.15, 0.29, 0.1, 0.13],
}
# Table 3 M0.4 sizes, smallest first.
BY_SIZE = ["hi", "eu", "ko", "he", "fi", "ar", "zh", "sv", "ru", "tr", "ja", "it", "en"]


def _series(ax):
    """The bar series of an axis (bar() with error bars also adds an ErrorbarContainer)."""
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _bars(ax, k=0):
    """{language: height} of the k-th bar series of an axis."""
    return {r.get_gid(): r.get_height() for r in _series(ax)[k].patches}


def _diff(a, b):
    return {lang: x - y for lang, x, y in zip(LANGS, a, b) if x is not None and y is not None}


def test_figure1_values_and_order():
    fig = figure1(paper_table4(), paper_sizes("M0.4"))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["PoS: MONO - M0.4", "UAS: MONO - M0.4", "LAS: MONO - M0.4"]
    assert [t.get_text() for t in axes[0].get_xticklabels()] == BY_SIZE
    pos = _bars(axes[0])
    assert pos == pytest.approx(_diff(POS_MONO, POS_M04))
    assert "sv" not in pos  # absent bar for the missing cell, marked n/a
    assert ([t.get_text() for t in axes[0].texts] == ["n/a"]
            and axes[0].texts[0].get_position()[0] == BY_SIZE.index("sv"))
    assert [r.get_gid() for r in _series(axes[0])[0].patches] == [lang for lang in BY_SIZE if lang != "sv"]
    assert _bars(axes[2]) == pytest.approx(_diff(LAS_MONO, LAS_M04))
    assert _series(axes[0])[0].errorbar is None  # one run per cell: no error bars


def test_figure2_panels_and_values():
    fig = figure2(paper_table4(), paper_sizes("M0.4"))
    assert [ax.get_title() for ax in fig.axes] == ["M0.2 - M0.4", "TRUNC - M0.4"]
    labels = [c.get_label() for c in _series(fig.axes[0])]
    assert labels == ["PoS", "UAS", "LAS", "PoS (trf.)", "XNLI", "Tatoeba"]
    xnli = _bars(fig.axes[0], labels.index("XNLI"))
    assert xnli == pytest.approx({lang: XNLI_M02[lang] - XNLI_M04[lang] for lang in XNLI_M02})


def test_figure3_values():
    fig = figure3(paper_table4(), paper_sizes("M0.4"))
    ax = fig.axes[0]
    assert [c.get_label() for c in _series(ax)] == ["M0.4", "M0.2", "TRUNC"]
    for k, enc in enumerate(["M0.4", "M0.2", "TRUNC"]):
        want = {lang: v for lang, v in zip(LANGS, TATOEBA[enc]) if v is not None}
        assert _bars(ax, k) == pytest.approx(want)
    assert [t.get_text() for t in ax.get_xticklabels()] == [lang for lang in BY_SIZE
                                                            if lang not in ("en", "hi")]


def test_error_bars_from_seeds_and_missing_roles(caplog):
    vals = {("MONO", "fi"): [0.80, 0.84, 0.82], ("M0.4", "fi"): [0.70, 0.71, 0.75], ("MONO", "ar"): [0.9],
            ("M0.4", "ar"): [0.8, 0.85], ("MONO", "ko"): [0.5]}
    df = pd.DataFrame([{"encoder": e, "task": "pos", "metric": "acc", "language": lang, "seed": s, "value": v}
                       for (e, lang), vs in vals.items() for s, v in enumerate(vs)])
    fig = figure1(df)
    assert len(fig.axes) == 1  # UAS/LAS absent: their panels left out
    bars = _series(fig.axes[0])[0]
    # ko: MONO only, no difference, no bar
    assert {r.get_gid(): r.get_height() for r in bars.patches} == pytest.approx(
        {"ar": 0.9 - 0.825, "fi": 0.82 - 0.72})

    def sd(x):
        m = sum(x) / len(x)
        return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))

    segs = bars.errorbar.lines[2][0].get_segments()
    half = [abs(s[1][1] - s[0][1]) / 2 for s in segs]
    # ar: MONO has one seed -> no error bar (drawn as 0); fi: sqrt(sd_a^2 + sd_b^2)
    assert half == pytest.approx([0.0, math.hypot(sd(vals[("MONO", "fi")]), sd(vals[("M0.4", "fi")]))])
    assert figure3(df) is None and figure2(df) is None  # no Tatoeba, no M0.2/TRUNC: left out, no crash


def test_perplexity_figure_plots_each_encoder_against_corpus_size():
    import pandas as pd

    from melmo.analysis.figures import figure_perplexity

    sizes = {"eu": 1_000, "fi": 50_000, "en": 2_000_000}
    ppl = {("A", "eu"): 900.0, ("A", "fi"): 400.0, ("A", "en"): 120.0, ("B", "eu"): 700.0, ("B", "en"): 150.0}
    rows = [{"encoder": e, "task": "perplexity", "metric": "ppl", "language": lang, "seed": 1, "value": v}
            for (e, lang), v in ppl.items()]
    rows.append({"encoder": "A", "task": "pos", "metric": "acc", "language": "en", "seed": 1, "value": 0.9})
    fig = figure_perplexity(pd.DataFrame(rows), sizes)
    ax = fig.axes[0]
    lines = {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}
    assert set(lines) == {"A", "B"}
    # points ordered by size, at (size, perplexity) exactly as given
    assert list(lines["A"].get_xdata()) == [1_000, 50_000, 2_000_000]
    assert list(lines["A"].get_ydata()) == [900.0, 400.0, 120.0]
    assert (list(lines["B"].get_xdata()) == [1_000, 2_000_000]
            and list(lines["B"].get_ydata()) == [700.0, 150.0])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert figure_perplexity(pd.DataFrame(rows[-1:]), sizes) is None  # no perplexity rows: left out
