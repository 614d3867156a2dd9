"""The paper's Figures 1-3 as matplotlib figures (Agg canvas, PNG), one function per figure.

* :func:`figure1`: MONO - M0.4 per language for PoS, UAS and LAS (one panel each).
* :func:`figure2`: M0.2 - M0.4 and TRUNC - M0.4 per task and language (one panel per compared
  encoder, one bar per task within each language).
* :func:`figure3`: Tatoeba accuracy per encoder and language (the floors too, when given).

Encoder names are arguments (defaults: the paper's). Languages are ordered by corpus size, smallest
first, when ``sizes`` (see :func:`melmo.analysis.correlation.load_sizes`) are given, else
alphabetically. Values are means over seeds. Error bars of a difference (Figures 1-2) are the
95 % interval of the marked test (``intervals``: :func:`melmo.analysis.marked.intervals`, from
significance.csv's ci_low/ci_high) where it has one, else the std over seeds sqrt(std_a^2 + std_b^2)
(the runs of two encoders are independent), drawn only where both sides have more than one seed;
error bars of a score (Figure 3) are its std over seeds. A "*" marks a difference whose marked test
passes Holm (``marks``: :func:`melmo.analysis.marked.significant_cells`). Each bar's ``gid`` is its
language, so the plotted values can be read back from ``ax.containers``. Figures are built with
:class:`matplotlib.figure.Figure` (no pyplot state); a function returns None, with one (info) log line, when
its encoders or tasks are absent from the results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from melmo.analysis.correlation import load_sizes
from melmo.analysis.tables import PAPER_COLUMNS, cell_stats, label
from melmo.utils.atomic import atomic_path

log = logging.getLogger(__name__)

DPI = 100
PANEL_HEIGHT = 3.0  # inches per panel
BAR_GROUP_WIDTH = 0.8  # share of a language's slot taken by its bars


def order_languages(languages, sizes=None) -> list[str]:
    """``languages`` by corpus size, smallest first (unsized ones last, alphabetical), or alphabetical."""
    languages = sorted(set(languages))
    if sizes is None:
        return languages
    sizes = load_sizes(sizes)
    return sorted(languages, key=lambda lang: (lang not in sizes, sizes.get(lang, 0.0), lang))


def _stat(cells, encoder, task, metric) -> tuple[dict, dict]:
    """(mean, std) per language of one encoder's task/metric; std only with more than one seed."""
    try:
        sub = cells.loc[(encoder, task, metric)]
    except KeyError:
        return {}, {}
    return dict(sub["mean"]), {lang: s for lang, s in sub["std"].items() if not math.isnan(s)}


def _difference(cells, a, b, task, metric, intervals=None) -> tuple[dict, dict]:
    """(mean, err) per language of a - b; err is (below, above) the bar from ``intervals`` (task, metric,
    language, a) -> (low, high) where given, else the seeds' std (symmetric)."""
    ma, sa = _stat(cells, a, task, metric)
    mb, sb = _stat(cells, b, task, metric)
    mean = {lang: ma[lang] - mb[lang] for lang in ma if lang in mb}
    err = {lang: math.hypot(sa[lang], sb[lang]) for lang in mean if lang in sa and lang in sb}
    for lang, d in mean.items():
        if (task, metric, lang, a) in (intervals or {}):
            lo, hi = intervals[(task, metric, lang, a)]
            err[lang] = (max(0.0, d - lo), max(0.0, hi - d))
    return mean, err


def _bars(ax, languages: Sequence[str], series: Sequence[tuple[str, dict, dict]], ylabel: str,
          marked: Sequence[set] | None = None) -> None:
    """Grouped bars: one slot per language, one bar per series (label, mean, err) present there; a "*"
    above (below, for a negative bar) each bar whose language is in the series' ``marked`` set."""
    width = BAR_GROUP_WIDTH / max(1, len(series))
    x0 = np.arange(len(languages))
    for k, (name, mean, err) in enumerate(series):
        langs = [lang for lang in languages if lang in mean]
        if not langs:
            continue
        x = [x0[languages.index(lang)] - BAR_GROUP_WIDTH / 2 + (k + 0.5) * width for lang in langs]
        heights = [mean[lang] for lang in langs]
        yerr = None
        # (below, above) per bar: symmetric stds or an interval's two sides
        if any(lang in err for lang in langs):
            pairs = [e if isinstance(e, tuple) else (e, e) for e in (err.get(lang, 0.0) for lang in langs)]
            yerr = np.array(pairs, dtype=float).T
        bars = ax.bar(x, heights, width=width, yerr=yerr, capsize=2, label=name)
        for rect, lang in zip(bars.patches, langs):
            rect.set_gid(lang)
        for xi, h, lang in zip(x, heights, langs):
            if marked and lang in marked[k]:
                ax.annotate("*", (xi, h), ha="center", va="bottom" if h >= 0 else "top",
                            gid=f"significant:{lang}")
    if len(series) == 1:  # tell a missing cell from a zero difference
        for i, lang in enumerate(languages):
            if lang not in series[0][1]:
                ax.text(x0[i], 0.0, "n/a", ha="center", va="bottom", fontsize="small", color="gray")
    ax.set_xticks(x0, languages)
    ax.set_xlim(-0.6, len(languages) - 0.4)
    ax.set_ylabel(ylabel)
    ax.axhline(0.0, color="black", linewidth=0.6)
    if len(series) > 1:
        ax.legend(fontsize="small", ncols=min(len(series), 3))


def _figure(n_panels: int, n_languages: int) -> Figure:
    fig = Figure(figsize=(max(6.0, 0.6 * n_languages + 1.5), PANEL_HEIGHT * n_panels), dpi=DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as PNG at its own size and dpi, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    return Path(path)


def png_bytes(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (for display in a notebook)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


def _finish(fig, path):
    if path is not None:
        save_png(fig, path)
    return fig


def _marked(marks, task, metric, encoder) -> set:
    """Languages where ``encoder`` differs significantly from its base
    (melmo.analysis.marked.significant_cells)."""
    return {lang for (t, m, lang, a) in (marks or {}) if (t, m, a) == (task, metric, encoder)}


def figure1(results, sizes=None, path=None, mono: str = "MONO", base: str = "M0.4",
            columns: Sequence[tuple[str, str]] = (("pos", "acc"), ("parsing", "uas"), ("parsing", "las")),
            marks=None, intervals=None) -> Figure | None:
    """Figure 1: ``mono - base`` per language, one panel per task/metric (PoS, UAS, LAS); ``marks``
    (significant_cells) puts a "*" on the significant differences, ``intervals`` (marked.intervals)
    gives the error bars."""
    cells = cell_stats(results)
    panels = [(c, *_difference(cells, mono, base, *c, intervals)) for c in columns]
    panels = [p for p in panels if p[1]]
    if not panels:
        log.info("figure 1 left out: no %s results for both %s and %s", "/".join(map("/".join, columns)),
                 mono, base)
        return None
    languages = order_languages({lang for _, m, _ in panels for lang in m}, sizes)
    fig = _figure(len(panels), len(languages))
    for ax, ((t, m), mean, err) in zip(fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels):
        _bars(ax, languages, [(f"{mono} - {base}", mean, err)], f"{label(t, m)} difference",
              [_marked(marks, t, m, mono)])
        ax.set_title(f"{label(t, m)}: {mono} - {base}")
    return _finish(fig, path)


def figure2(results, sizes=None, path=None, base: str = "M0.4", compare: Sequence[str] = ("M0.2", "TRUNC"),
            columns: Sequence[tuple[str, str]] | None = None, marks=None, intervals=None) -> Figure | None:
    """Figure 2: one panel per encoder in ``compare``: ``encoder - base`` per task (bars) and language
    (default: the paper's task/metrics); ``marks`` (significant_cells) puts a "*" on the significant ones,
    ``intervals`` (marked.intervals) gives the error bars."""
    cells = cell_stats(results)
    have = list(dict.fromkeys((t, m) for _, t, m, _ in cells.index))
    columns = [c for c in PAPER_COLUMNS if c in have] if columns is None else list(columns)
    panels = []
    for enc in compare:
        series = [(label(*c), *_difference(cells, enc, base, *c, intervals), _marked(marks, *c, enc))
                  for c in columns]
        series = [s for s in series if s[1]]
        if series:
            panels.append((enc, series))
        else:
            log.info("figure 2: no panel for %s - %s (no results shared by both)", enc, base)
    if not panels:
        return None
    languages = order_languages({lang for _, ser in panels for _, m, _, _ in ser for lang in m}, sizes)
    fig = _figure(len(panels), len(languages))
    for ax, (enc, series) in zip(fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels):
        _bars(ax, languages, [s[:3] for s in series], "difference", [s[3] for s in series])
        ax.set_title(f"{enc} - {base}")
    return _finish(fig, path)


def figure3(results, sizes=None, path=None, encoders: Sequence[str] = ("M0.4", "M0.2", "TRUNC"),
            column: tuple[str, str] = ("tatoeba", "acc")) -> Figure | None:
    """Figure 3: Tatoeba accuracy (``column``) per encoder (bars) and language."""
    cells = cell_stats(results)
    series = [(enc, *_stat(cells, enc, *column)) for enc in encoders]
    series = [s for s in series if s[1]]
    if not series:
        log.info("figure 3 left out: no %s results for %s", "/".join(column), ", ".join(encoders))
        return None
    languages = order_languages({lang for _, m, _ in series for lang in m}, sizes)
    fig = _figure(1, len(languages))
    ax = fig.subplots()
    _bars(ax, languages, series, label(*column))
    ax.set_title(f"{label(*column)} ({column[1]}) per model")
    return _finish(fig, path)


def figure_perplexity(results, sizes, path=None, encoders: Sequence[str] | None = None,
                      column: tuple[str, str] = ("perplexity", "ppl")) -> Figure | None:
    """Held-out perplexity (``column``) per language against the language's corpus size, one line per
    encoder (beyond the paper). Both axes are logarithmic; each point's ``gid`` is its language.

    Perplexities of different models compare only when they score the same targets: train the
    family on one shared vocabulary (``data.prepare.vocab_file``), or use ``ppl_iv`` (in-vocabulary
    targets) with care. ``sizes``: language -> tokens (e.g. the unsampled corpus sizes).
    """
    cells = cell_stats(results)
    sizes = load_sizes(sizes)
    have = sorted({enc for enc, t, m, _ in cells.index if (t, m) == tuple(column)})
    encoders = [e for e in (encoders or have) if e in have]
    series = [(enc, *_stat(cells, enc, *column)) for enc in encoders]
    series = [(enc, {lang: v for lang, v in mean.items() if lang in sizes}, err) for enc, mean, err in series]
    series = [s for s in series if s[1]]
    if not series:
        log.info("perplexity figure left out: no %s results for languages with a size", "/".join(column))
        return None
    fig = Figure(figsize=(6.5, 4.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for enc, mean, err in series:
        langs = sorted(mean, key=lambda lang: sizes[lang])
        x, y = [sizes[lang] for lang in langs], [mean[lang] for lang in langs]
        yerr = [err.get(lang, 0.0) for lang in langs] if err else None
        line = ax.errorbar(x, y, yerr=yerr, marker="o", capsize=2, label=enc)
        line.lines[0].set_gid(enc)
        for xi, yi, lang in zip(x, y, langs):
            ax.annotate(lang, (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize="x-small")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("corpus size (tokens)")
    ax.set_ylabel(f"held-out {column[1]}")
    ax.set_title("Held-out perplexity against corpus size")
    ax.legend(fontsize="small")
    return _finish(fig, path)
