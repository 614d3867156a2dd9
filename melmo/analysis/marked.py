"""The tests the tables and figures mark: every (comparison, task/metric, language) cell, Holm-adjusted.

For each pair (a, b) and each of the paper's task/metrics (:data:`melmo.analysis.tables.PAPER_COLUMNS`)
and language both encoders have:

* with per-item predictions of both (``<predictions_dir>/predictions/<task>/<encoder>/<lang>.seed<n>.tsv``):
  :func:`melmo.analysis.seedtest.cell_test` on them (test ``t_seeds_items``: seed spread and test-item
  variance, sentences as clusters for token tasks);
* else from the results' per-seed rows: :func:`melmo.analysis.seedtest.t_test` without an item part
  (test ``t_seeds``: conditional on this test set), where there are three seeds in all.

Seeds are never paired by seed number (one rule everywhere: :mod:`melmo.analysis.seedtest`). A cell whose
per-seed scores of a and b are the same as those of a cell already tested (``pos_transfer/en``: the
English PoS heads, i.e. ``pos/en``) is tested once, under the first task in the paper's column order,
and logged. The p-values are then adjusted within each family (one comparison on one task/metric,
over languages: :mod:`melmo.analysis.multiple`); ``significant`` is Holm's verdict at
``1 - CONFIDENCE`` and is what :func:`significant_cells` returns.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from melmo.analysis.hierarchical import seed_files, seed_scores
from melmo.analysis.multiple import adjust
from melmo.analysis.seedtest import CONFIDENCE, CellTest, cell_test, t_test
from melmo.analysis.significance import TEST_COLUMNS
from melmo.analysis.tables import PAPER_COLUMNS
from melmo.results.predictions import METRICS
from melmo.results.predictions import clusters as item_clusters
from melmo.results.table import load_results

log = logging.getLogger(__name__)

LEVEL = 1 - CONFIDENCE  # the family-wise level of a marked cell (Holm, two-sided)
MARKED_TESTS = ("t_seeds_items", "t_seeds")


def _from_predictions(predictions_dir, task, metric, a, b, lang):
    if predictions_dir is None or metric not in METRICS:
        return None
    fa, fb = seed_files(predictions_dir, task, a, lang), seed_files(predictions_dir, task, b, lang)
    if not fa or not fb:
        return None
    xa, items, gold = seed_scores(fa, metric)
    xb, _, _ = seed_scores(fb, metric, items, gold)
    return cell_test(xa, xb, clusters=item_clusters(items)), xa.mean(1), xb.mean(1), len(items)


def _row(test: str, task, metric, lang, a, b, r: CellTest, n) -> dict:
    return {
        "test": test,
        "task": task,
        "metric": metric,
        "language": lang,
        "seed": None,
        "a": a,
        "b": b,
        "difference": r.difference,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "se": r.se,
        "seed_se": r.seed_se,
        "item_se": r.item_se if test == "t_seeds_items" else float("nan"),  # unknown without predictions
        "df": r.df,
        "p": r.p_value,
        "n": n,
        "n_seeds": f"{r.n_seeds_a}+{r.n_seeds_b}",
    }


def marked_tests(results, pairs, predictions_dir: str | Path | None = None) -> pd.DataFrame:
    """The marked test of every cell ``pairs`` allows (module docstring), adjusted; ``TEST_COLUMNS``."""
    df = load_results(results)
    have = set(zip(df["task"], df["metric"]))
    rows, seen = [], {}
    for task, metric in (c for c in PAPER_COLUMNS if c in have):
        sub = df[(df["task"] == task) & (df["metric"] == metric)]
        for a, b in pairs:
            for lang in sorted(set(sub["language"])):
                cell = sub[sub["language"] == lang]
                va = cell.loc[cell["encoder"] == a].sort_values("seed")["value"].to_numpy(dtype=float)
                vb = cell.loc[cell["encoder"] == b].sort_values("seed")["value"].to_numpy(dtype=float)
                got = _from_predictions(predictions_dir, task, metric, a, b, lang)
                if got is not None:
                    r, va, vb, n = got
                    test = "t_seeds_items"
                elif len(va) and len(vb) and len(va) + len(vb) >= 3:
                    r, n, test = t_test(va, vb), len(va) + len(vb), "t_seeds"
                else:
                    continue
                key = (a, b, metric, lang, tuple(np.round(va, 9)), tuple(np.round(vb, 9)))
                if key in seen:
                    log.info(
                        "%s/%s %s %s - %s: the same scores as %s/%s, tested once there",
                        task,
                        metric,
                        lang,
                        a,
                        b,
                        seen[key],
                        metric,
                    )
                    continue
                seen[key] = task
                rows.append(_row(test, task, metric, lang, a, b, r, n))
    out = adjust(
        pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if c not in ("p_holm", "p_bh", "family_size")])
    )
    out["significant"] = out["p_holm"] < LEVEL
    return out[TEST_COLUMNS]


def significant_cells(
    tests: pd.DataFrame | None, level: float = LEVEL
) -> dict[tuple[str, str, str, str], str]:
    """(task, metric, language, encoder a) -> "*" where a's marked test against b passes Holm at ``level``."""
    if tests is None or tests.empty or "p_holm" not in tests:
        return {}
    h = tests[tests["test"].isin(MARKED_TESTS) & (tests["p_holm"] < level)]
    return {(r.task, r.metric, r.language, r.a): "*" for r in h.itertuples()}


def intervals(tests: pd.DataFrame | None) -> dict[tuple[str, str, str, str], tuple[float, float]]:
    """(task, metric, language, encoder a) -> (ci_low, ci_high) of the marked test against its b."""
    if tests is None or tests.empty:
        return {}
    h = tests[tests["test"].isin(MARKED_TESTS)]
    return {
        (r.task, r.metric, r.language, r.a): (r.ci_low, r.ci_high)
        for r in h.itertuples()
        if not (math.isnan(r.ci_low) or math.isnan(r.ci_high))
    }
