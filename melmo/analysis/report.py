"""Everything the paper reports, from one results table: tables, size correlations, figures.

Used by the CLI (``python -m melmo.analysis``) and the notebook, so neither holds logic of its own.
Encoder roles: ``mono`` (the paper's MONO), ``base`` (M0.4, what the others are compared with) and
``compare`` (M0.2, TRUNC).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from melmo.analysis.correlation import language_difference, load_sizes, size_correlation
from melmo.analysis.figures import figure1, figure2, figure3, figure_perplexity, save_png
from melmo.analysis.marked import LEVEL, MARKED_TESTS, intervals, marked_tests, significant_cells
from melmo.analysis.paper import paper_table4
from melmo.analysis.power import power_markdown, power_table
from melmo.analysis.significance import TEST_COLUMNS, prediction_tests
from melmo.analysis.tables import (
    PAPER_COLUMNS,
    difference_table,
    format_table,
    helper_columns,
    label,
    language_table,
    order_present,
    report_missing,
    summary_table,
)
from melmo.results.table import ResultsError, load_results
from melmo.utils.atomic import write_atomic
from melmo.utils.loggers import wandb_table

log = logging.getLogger(__name__)

TABLE_FORMATS = {"md": "markdown", "csv": "csv", "tex": "latex"}


@dataclass
class Report:
    table1: pd.DataFrame  # summary_table
    table4: pd.DataFrame  # language_table
    correlations: pd.DataFrame  # task, metric, a, b, method, rho, p, n_languages
    figures: dict[str, Figure | None] = field(default_factory=dict)
    missing: str | None = None  # the one line on encoders/tasks asked for but absent
    significance: pd.DataFrame | None = None  # marked_tests then prediction_tests (TEST_COLUMNS)
    helpers: dict[str, pd.DataFrame] = field(default_factory=dict)  # the metrics that are not the paper's
    # the paper's Table 1 and ours - the paper's
    beside_paper: dict[str, pd.DataFrame] = field(default_factory=dict)
    power: pd.DataFrame | None = None  # melmo.analysis.power.power_table of the marked tests

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"table1": self.table1, "table4": self.table4, **self.helpers, **self.beside_paper}

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write table1/table4 (.md, .csv, .tex), correlations, significance and power (.md, .csv),
        figure1-3.png."""
        out_dir = Path(out_dir)
        texts = {f"{name}.{ext}": format_table(t, fmt) for name, t in self.tables().items()
                 for ext, fmt in TABLE_FORMATS.items()}
        texts["correlations.csv"] = self.correlations.to_csv(index=False, float_format="%.6g")
        texts["correlations.md"] = correlations_markdown(self.correlations)
        if self.significance is not None:
            texts["significance.csv"] = self.significance.to_csv(index=False, float_format="%.6g")
            texts["significance.md"] = significance_markdown(self.significance)
        if self.power is not None and len(self.power):
            texts["power.csv"] = self.power.to_csv(index=False, float_format="%.6g")
            texts["power.md"] = power_markdown(self.power)
        written = [write_atomic(out_dir / name, text) for name, text in texts.items()]
        for name, fig in self.figures.items():
            if fig is not None:
                written.append(save_png(fig, out_dir / f"{name}.png"))
        return written


def log_to_wandb(report: Report, written: Sequence[Path], run) -> None:
    """Tables 1 and 4 (and the correlations, the significance) as W&B tables and the written figures as
    images, in one step of the W&B run ``run`` (melmo.utils.loggers.start_wandb_run)."""
    import wandb

    tables = {**report.tables(), "correlations": report.correlations, "significance": report.significance,
              "power": report.power}
    payload = {f"analysis/{name}": wandb_table(t) for name, t in tables.items() if t is not None and len(t)}
    payload.update({f"analysis/{p.stem}": wandb.Image(str(p)) for p in written if p.suffix == ".png"})
    run.log(payload)


def correlations_markdown(corr: pd.DataFrame) -> str:
    lines = ["| task | difference | method | rho | p | languages |", "|---|---|---|---|---|---|"]
    for r in corr.itertuples():
        lines.append(f"| {label(r.task, r.metric)} | {r.a} - {r.b} | {r.method} | {r.rho:.2f} | {r.p:.3g} | "
                     f"{r.n_languages} |")
    return "\n".join(lines) + "\n"


SIGNIFICANCE_NOTE = (
    "Marked test (t_seeds_items, or t_seeds without per-item predictions): Welch's t over head seeds (seeds "
    "not paired by number) with the test items' variance added (sentences as clusters), Welch–Satterthwaite "
    f"df; interval: {1 - LEVEL:.0%} t interval; p adjusted over the languages of each comparison and task by "
    f"Holm (p_holm, marked: * when p_holm < {LEVEL:g}) and Benjamini–Hochberg (p_bh). bootstrap rows: one "
    "seed's items only, unadjusted detail, never marked. docs/statistics.md says how to read this.\n")


def _num(x, fmt: str) -> str:
    return "" if x is None or pd.isna(x) else format(x, fmt)


def significance_markdown(sig: pd.DataFrame) -> str:
    if sig.empty:
        return ("No comparison possible: no encoder pair has three seeds in all, and no per-item predictions "
                "were found.\n")
    head = ["test", "task", "language", "seed", "difference", "95% CI", "p", "p Holm", "p BH", "n", "seeds"]
    lines = [SIGNIFICANCE_NOTE, "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sig.itertuples():
        seed = "" if r.seed is None or pd.isna(r.seed) else int(r.seed)
        mark = " *" if r.test in MARKED_TESTS and r.p_holm < LEVEL else ""
        ci = "" if pd.isna(r.ci_low) else f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]"
        lines.append(f"| {r.test} | {label(r.task, r.metric)} | {r.language} | {seed} | {r.a} - {r.b} = "
                     f"{r.difference:+.4f}{mark} | {ci} | {r.p:.3g} | {_num(r.p_holm, '.3g')} | "
                     f"{_num(r.p_bh, '.3g')} | {r.n} | {r.n_seeds} |")
    return "\n".join(lines) + "\n"


def significance(df: pd.DataFrame, pairs, predictions_dir=None, n_resamples: int = 2000) -> pd.DataFrame:
    """Every test of ``pairs``: the marked tests first (melmo.analysis.marked), then per-seed bootstraps
    (detail)."""
    parts = [marked_tests(df, pairs, predictions_dir)]
    if predictions_dir is not None:
        parts.append(prediction_tests(predictions_dir, pairs, n_resamples=n_resamples))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True)[TEST_COLUMNS] if parts else pd.DataFrame(columns=TEST_COLUMNS)


def mark_table4(table4: pd.DataFrame, sig: pd.DataFrame, base: str) -> pd.DataFrame:
    """Mark (``attrs["marks"]``) the Table 4 cells whose marked test against ``base`` passes Holm."""
    marks = {(label(t, m), a, lang): mk for (t, m, lang, a), mk in significant_cells(sig).items()}
    table4.attrs["marks"] = marks
    table4.attrs["marks_note"] = (f"* : differs from {base}: t-test over head seeds (unpaired; with the test "
                                  "items' variance where per-item predictions exist), Holm-adjusted over the "
                                  f"row's languages, p_holm < {LEVEL:g} (significance.csv; "
                                  "docs/statistics.md).\n")
    return table4


def correlations(results, sizes, pairs: Sequence[tuple[str, str]], method: str = "spearman") -> pd.DataFrame:
    """size_correlation for every task/metric and (a, b) in ``pairs`` with >= 3 sized languages."""
    df = load_results(results)
    sizes = load_sizes(sizes)
    have = list(dict.fromkeys(zip(df["task"], df["metric"])))
    rows = []
    for t, m in order_present(have, list(PAPER_COLUMNS)):
        for a, b in pairs:
            if not {a, b} <= set(df[(df["task"] == t) & (df["metric"] == m)]["encoder"]):
                continue
            n = sum(lang in sizes for lang in language_difference(df, t, m, a, b).index)
            if n < 3:
                continue
            rho, p = size_correlation(df, sizes, t, m, a, b, method=method)
            rows.append({"task": t, "metric": m, "a": a, "b": b, "method": method, "rho": rho, "p": p,
                         "n_languages": n})
    return pd.DataFrame(rows, columns=["task", "metric", "a", "b", "method", "rho", "p", "n_languages"])


def make_report(results, sizes=None, mono: str = "MONO", base: str = "M0.4",
                compare: Sequence[str] = ("M0.2", "TRUNC"), method: str = "spearman",
                predictions_dir: str | Path | None = None, n_resamples: int = 2000,
                languages: Sequence[str] | None = None, cells: str = "ours") -> Report:
    """Tables 1 and 4, the size correlations (when ``sizes`` are given), Figures 1-3, significance.

    ``cells`` (melmo.analysis.tables): "ours" averages every language of the results; "paper" the
    paper's cells only, and adds the paper's Table 1 and ours - the paper's (``beside_paper``).
    Tables 1 and 4 show the paper's metrics; the others go to ``helpers`` (table1_helpers, table4_helpers).

    Significance (:mod:`melmo.analysis.marked`): every encoder against ``base`` on every cell, the
    t-test over head seeds with the items' variance from ``predictions_dir``'s ``predictions/``
    folder where present (else over the seeds of the results), Holm- and BH-adjusted; Table 4 and
    Figures 1-2 mark Holm's verdict and Figures 1-2 draw its intervals. A paired bootstrap per seed
    (``n_resamples``, by sentence) is detail. ``power``: :func:`melmo.analysis.power.power_table`.

    Encoders are shown in the order mono, base, compare, then any others in the results. Roles,
    the paper's tasks and ``languages`` (when given: only these are analysed) absent from the
    results are reported in one log line and left out.
    """
    df = load_results(results)
    if df.empty:
        raise ResultsError("the results table has no rows")
    roles = list(dict.fromkeys([mono, base, *compare]))
    missing = report_missing(df, roles, list(PAPER_COLUMNS), languages)
    if languages is not None:
        df = df[df["language"].isin(list(languages))].reset_index(drop=True)
        if df.empty:
            raise ResultsError(f"no results for the languages {', '.join(languages)}")
    encoders = order_present(df["encoder"], roles)
    pairs = [(e, base) for e in encoders if e != base]
    sig = significance(df, pairs, predictions_dir, n_resamples)
    marks, cis = significant_cells(sig), intervals(sig)
    table1 = summary_table(df, encoders=encoders, cells=cells)
    table4 = mark_table4(language_table(df, encoders=encoders, cells=cells), sig, base)
    helpers = {}
    hcols = helper_columns(df)
    if hcols:
        has = set(df.loc[[tm in set(hcols) for tm in zip(df["task"], df["metric"])], "encoder"])
        hencs = [e for e in encoders if e in has]
        helpers = {"table1_helpers": summary_table(df, encoders=hencs, columns=hcols),
                   "table4_helpers": language_table(df, encoders=hencs, columns=hcols)}
    beside = {}
    if cells == "paper":
        paper1 = summary_table(paper_table4(), cells="paper")
        beside = {"table1_paper": paper1, "table1_minus_paper": difference_table(table1, paper1)}
    if sizes is None:
        log.info("no corpus sizes given: no size correlations, languages in alphabetical order")
        corr = pd.DataFrame(columns=["task", "metric", "a", "b", "method", "rho", "p", "n_languages"])
    else:
        sizes = load_sizes(sizes)
        corr = correlations(df, sizes, [(e, base) for e in [mono, *compare] if e != base], method)
    # floors (random-*, majority, chance) and any other encoder
    floors = [e for e in encoders if e not in roles]
    figures = {
        "figure1": figure1(df, sizes, mono=mono, base=base, marks=marks, intervals=cis),
        "figure2": figure2(df, sizes, base=base, compare=compare, marks=marks, intervals=cis),
        "figure3": figure3(df, sizes, encoders=[base, *compare, *floors]),
        "figure_perplexity": figure_perplexity(df, sizes) if sizes is not None else None,
    }
    return Report(table1, table4, corr, figures, missing, sig, helpers, beside, power_table(sig, df))
