"""The paper's tables from a long results table: Table 1 (means per encoder) and Table 4 (per language).

Definitions (``results``: the long table of :mod:`melmo.results.table`, or its CSV path):

* cell = (encoder, task, metric, language); its mean and std are over seeds (std with ddof=1,
  missing with one seed).
* Table 1 (:func:`summary_table`): for each encoder and task/metric, the mean over languages of
  the cell means (every language weighs the same, as in the paper, whose Table 1 is the mean of
  its Table 4 rows); the std is over seeds of the per-seed mean over languages (ddof=1), missing
  when there is one seed (a seed lacking some languages averages over fewer: run every seed on
  every language for a meaningful spread).
* Table 4 (:func:`language_table`): encoders x languages for each task/metric, cell mean and std.
* Cells (``cells``): which (task, metric, language) cells a table averages. ``"ours"`` (or None):
  every language of the results; ``"paper"``: the paper's cells (:func:`melmo.analysis.paper.paper_cells`:
  no Swedish PoS, no Russian parsing, no English or Hindi Tatoeba, PoS transfer with English), the
  choice when setting ours beside the paper's; or a mapping (task, metric) -> languages. A summary
  table records the cells it averaged in ``table.attrs["cells"]`` and every writer prints them
  (:func:`cells_note`).
* Columns: by default the paper's metrics only (:data:`PAPER_COLUMNS`); the helper metrics
  (``acc_select``, ``las_select``, ``*_nopunct``, ``acc_reverse``, ...) go to their own tables
  (``columns=helper_columns(results)``).

A missing cell stays missing (NaN, shown as "-") and is left out of every mean. Encoders,
task/metrics or languages asked for but absent from the results are reported in one log line
(:func:`report_missing`) and left out, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import pandas as pd

from melmo.analysis.paper import PAPER_ENCODERS, paper_cells
from melmo.results.table import load_results

log = logging.getLogger(__name__)

# The paper's Table 1 columns in its order: (task, metric) -> label.
PAPER_COLUMNS = {
    ("pos", "acc"): "PoS",
    ("parsing", "uas"): "UAS",
    ("parsing", "las"): "LAS",
    ("pos_transfer", "acc"): "PoS (trf.)",
    ("xnli", "acc"): "XNLI",
    ("tatoeba", "acc"): "Tatoeba",
}
STATS = ("mean", "std")


def label(task: str, metric: str) -> str:
    """The column label of a task/metric: the paper's ("PoS", "UAS", ...) or ``task/metric``."""
    return PAPER_COLUMNS.get((task, metric), f"{task}/{metric}")


def order_present(present: Iterable, preferred: Sequence) -> list:
    """The distinct items of ``present``: those in ``preferred`` first, in its order, then the rest sorted."""
    present = list(dict.fromkeys(present))
    return [p for p in preferred if p in present] + sorted(p for p in present if p not in preferred)


def report_missing(df: pd.DataFrame, encoders=None, columns=None, languages=None) -> str | None:
    """Log (one warning line) and return which asked-for encoders, task/metrics, languages are absent."""
    parts = []
    if encoders is not None:
        miss = [e for e in encoders if e not in set(df["encoder"])]
        if miss:
            parts.append("encoder " + ", ".join(miss))
    if columns is not None:
        have = set(zip(df["task"], df["metric"]))
        miss = [f"{t}/{m}" for t, m in columns if (t, m) not in have]
        if miss:
            parts.append("task " + ", ".join(miss))
    if languages is not None:
        miss = [lang for lang in languages if lang not in set(df["language"])]
        if miss:
            parts.append("language " + ", ".join(miss))
    if not parts:
        return None
    msg = "not in the results, left out: " + "; ".join(parts)
    log.warning(msg)
    return msg


def helper_columns(results) -> list[tuple[str, str]]:
    """The task/metrics of ``results`` that are not the paper's (acc_select, *_nopunct, acc_reverse, ppl,
    ...), sorted."""
    df = load_results(results)
    return sorted({tm for tm in zip(df["task"], df["metric"]) if tm not in PAPER_COLUMNS})


def resolve_cells(cells) -> dict[tuple[str, str], tuple[str, ...]] | None:
    """``cells`` as a mapping (task, metric) -> languages: None / "ours" -> None (every cell), "paper" -> the
    paper's."""
    if cells is None or cells == "ours":
        return None
    if cells == "paper":
        return paper_cells()
    if isinstance(cells, str):
        raise ValueError(  # noqa: TRY004
            f"unknown cells {cells!r} (use paper, ours or a mapping (task, metric) -> languages)")
    return {tuple(k): tuple(v) for k, v in dict(cells).items()}


def keep_cells(df: pd.DataFrame, cells) -> pd.DataFrame:
    """The rows of ``df`` inside ``cells`` (:func:`resolve_cells`); task/metrics the mapping does not name
    stay whole."""
    cells = resolve_cells(cells)
    if cells is None:
        return df
    keep = [(t, m) not in cells or lang in cells[(t, m)]
            for t, m, lang in zip(df["task"], df["metric"], df["language"])]
    return df[pd.Series(keep, index=df.index, dtype=bool)]


def _select(results, encoders, columns, languages, cells=None):
    df = keep_cells(load_results(results), cells)
    report_missing(df, encoders, columns, languages)
    encoders = (order_present(df["encoder"], PAPER_ENCODERS) if encoders is None
                else [e for e in encoders if e in set(df["encoder"])])
    have = list(dict.fromkeys(zip(df["task"], df["metric"])))
    columns = ([c for c in PAPER_COLUMNS if c in have] if columns is None
               else [c for c in columns if c in have])
    languages = (sorted(set(df["language"])) if languages is None
                 else [lang for lang in languages if lang in set(df["language"])])
    keep = df["encoder"].isin(encoders) & df["language"].isin(languages)
    keep &= pd.Series([tm in set(columns) for tm in zip(df["task"], df["metric"])], index=df.index,
                      dtype=bool)
    return df[keep], encoders, columns, languages


def cell_stats(results) -> pd.DataFrame:
    """Per (encoder, task, metric, language): ``mean``, ``std`` (ddof=1; NaN for one seed), ``n_seeds``."""
    df = load_results(results)
    g = df.groupby(["encoder", "task", "metric", "language"])["value"]
    return pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "n_seeds": g.count()})


def summary_table(results, encoders: Sequence[str] | None = None,
                  columns: Sequence[tuple[str, str]] | None = None, languages: Sequence[str] | None = None,
                  cells=None) -> pd.DataFrame:
    """The paper's Table 1: per encoder, the mean over languages (and seeds) of each task/metric.

    ``results``: a long results DataFrame or CSV path. ``encoders``, ``columns`` ((task, metric)
    pairs) and ``languages`` choose and order what is shown (default: every encoder, the paper's
    first; the paper's columns present). ``cells``: "ours" (default), "paper" or a mapping
    (module docstring). ``attrs["cells"]``: label -> (languages averaged, {encoder: languages
    it lacks}). Returns a DataFrame indexed by encoder with columns
    ``(label, "mean")`` and ``(label, "std")``: mean over languages of the per-language means over
    seeds; std over seeds (ddof=1) of the per-seed means over languages, NaN with one seed.
    Missing cells are left out of the means; an encoder without any value for a task is NaN.
    """
    choice = cells if isinstance(cells, str) or cells is None else "given"
    df, encoders, columns, languages = _select(results, encoders, columns, languages, cells)
    cells = df.groupby(["encoder", "task", "metric", "language"])["value"].mean()
    means = cells.groupby(["encoder", "task", "metric"]).mean()
    per_seed = df.groupby(["encoder", "task", "metric", "seed"])["value"].mean()
    stds = per_seed.groupby(["encoder", "task", "metric"]).std(ddof=1)
    # none: a results file without the paper's metrics
    heads = [(label(*c), s) for c in columns for s in STATS]
    out = pd.DataFrame(index=pd.Index(encoders, name="encoder"), dtype=float,
                       columns=(pd.MultiIndex.from_tuples(heads) if heads
                                else pd.MultiIndex.from_arrays([[], []])))
    for (e, t, m), v in means.items():
        out.loc[e, (label(t, m), "mean")] = v
    for (e, t, m), v in stds.items():
        out.loc[e, (label(t, m), "std")] = v
    out.attrs["cells_choice"] = choice or "ours"
    out.attrs["cells"] = averaged_cells(df, columns)
    return out


def averaged_cells(df: pd.DataFrame, columns) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """Per column label: (the languages any encoder has, {encoder: the languages of those it lacks})."""
    out = {}
    for t, m in columns:
        sub = df[(df["task"] == t) & (df["metric"] == m)]
        langs = sorted(set(sub["language"]))
        lacks = {}
        for e, g in sub.groupby("encoder", sort=False):
            miss = [lang for lang in langs if lang not in set(g["language"])]
            if miss:
                lacks[str(e)] = miss
        out[label(t, m)] = (langs, lacks)
    return out


def cells_note(table: pd.DataFrame) -> str:
    """One line per column saying which cells a summary table averages ("" when it records none)."""
    cells = table.attrs.get("cells")
    if not cells:
        return ""
    lines = [f"Cells averaged ({table.attrs.get('cells_choice', 'ours')} cells):"]
    for col, (langs, lacks) in cells.items():
        extra = "".join(f"; {e} lacks {' '.join(miss)}" for e, miss in lacks.items())
        lines.append(f"- {col}: {len(langs)} languages ({' '.join(langs)}){extra}")
    return "\n".join(lines) + "\n"


def language_table(results, encoders: Sequence[str] | None = None,
                   columns: Sequence[tuple[str, str]] | None = None, languages: Sequence[str] | None = None,
                   cells=None) -> pd.DataFrame:
    """The paper's Table 4: encoders x languages for each task/metric, mean and std over seeds.

    Returns a DataFrame indexed by (task label, encoder) with columns ``(language, "mean")`` and
    ``(language, "std")`` (std ddof=1, NaN with one seed); an encoder with no value at all for a
    task has no row for it (as MONO has none for the transfer tasks in the paper).
    """
    df, encoders, columns, languages = _select(results, encoders, columns, languages, cells)
    cells = cell_stats(df) if len(df) else pd.DataFrame(columns=["mean", "std", "n_seeds"])
    present = set(zip(df["encoder"], df["task"], df["metric"]))
    rows = [(c, e) for c in columns for e in encoders if (e, *c) in present]
    out = pd.DataFrame(index=pd.MultiIndex.from_tuples([(label(*c), e) for c, e in rows],
                                                       names=["task", "encoder"]),
                       columns=pd.MultiIndex.from_tuples([(lang, s) for lang in languages for s in STATS]),
                       dtype=float)
    for (e, t, m, lang), r in cells.iterrows():
        out.loc[(label(t, m), e), (lang, "mean")] = r["mean"]
        out.loc[(label(t, m), e), (lang, "std")] = r["std"]
    return out


def difference_table(table: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """``table - reference`` on the means of the rows and columns both have (e.g. yours - the paper's).

    Same layout as the inputs (summary or language tables); the std columns are left empty.
    """
    rows = [i for i in table.index if i in reference.index]
    cols = [c for c in table.columns if c in reference.columns]
    out = table.loc[rows, cols].copy()
    for c in cols:
        out[c] = table.loc[rows, c] - reference.loc[rows, c] if c[1] == "mean" else float("nan")
    return out


def _cells(table: pd.DataFrame, digits: int, pm: str, missing: str) -> tuple[list[str], list[list[str]]]:
    """Header and string rows: index levels first, then one "mean ± std" cell per top-level column."""
    groups = list(dict.fromkeys(table.columns.get_level_values(0)))
    names = [n or "" for n in table.index.names]
    body = []
    marks = table.attrs.get("marks") or {}
    for idx, row in table.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        cells = [str(i) for i in idx]
        for g in groups:
            m, s = row[(g, "mean")], row[(g, "std")]
            cells.append(missing if pd.isna(m)
                         else f"{m:.{digits}f}" + ("" if pd.isna(s) else f"{pm}{s:.{digits}f}")
                         + marks.get((*idx, g), ""))
        body.append(cells)
    return names + [str(g) for g in groups], body


def to_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """A summary or language table as a Markdown table ("mean ± std" cells, "-" when missing; a cell
    in ``table.attrs["marks"]`` ({(row index..., column): mark}) gets its mark, e.g. "*")."""
    head, body = _cells(table, digits, " ± ", "-")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    note = cells_note(table) + (table.attrs.get("marks_note") or "")
    return "\n".join(lines) + "\n" + (f"\n{note}" if note else "")


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        s = s.replace(a, b)
    return s


def to_latex(table: pd.DataFrame, digits: int = 2) -> str:
    """A summary or language table as a LaTeX tabular ("mean $\\pm$ std" cells)."""
    head, body = _cells(table, digits, r" $\pm$ ", "--")
    n_idx = table.index.nlevels
    lines = [r"\begin{tabular}{" + "l" * n_idx + "r" * (len(head) - n_idx) + "}", r"\hline",
             " & ".join(_tex(h) for h in head) + r" \\", r"\hline"]
    lines += [" & ".join(_tex(c) if i < n_idx else c for i, c in enumerate(r)) + r" \\" for r in body]
    lines += [r"\hline", r"\end{tabular}"]
    note = cells_note(table) + (table.attrs.get("marks_note") or "")
    return "\n".join(lines) + "\n" + "".join(f"% {line}\n" for line in note.splitlines())


def to_csv(table: pd.DataFrame) -> str:
    """A summary or language table as CSV with full-precision numbers: columns ``X`` and ``X std``."""
    flat = table.copy()
    flat.columns = [g if s == "mean" else f"{g} {s}" for g, s in table.columns]
    return flat.reset_index().to_csv(index=False, float_format="%.6g")


def format_table(table: pd.DataFrame, fmt: str = "markdown", digits: int = 2) -> str:
    """``fmt`` one of markdown, latex, csv."""
    writers = {"markdown": lambda t: to_markdown(t, digits), "latex": lambda t: to_latex(t, digits),
               "csv": to_csv}
    if fmt not in writers:
        raise ValueError(f"unknown table format {fmt!r} (use {', '.join(writers)})")
    return writers[fmt](table)


__all__ = [
    "PAPER_COLUMNS",
    "averaged_cells",
    "cell_stats",
    "cells_note",
    "difference_table",
    "format_table",
    "helper_columns",
    "keep_cells",
    "label",
    "language_table",
    "order_present",
    "report_missing",
    "resolve_cells",
    "summary_table",
    "to_csv",
    "to_latex",
    "to_markdown",
]
