"""Per-seed detail: paired bootstrap over test items of one seed, and a paired test over seeds.

Neither is the test the tables and figures mark (:mod:`melmo.analysis.marked`, calibrated for few
seeds): the item bootstrap of one seed sees no seed noise, and pairing seeds by number is not the
analysis's rule (seeds are independent draws: :mod:`melmo.analysis.seedtest`).

* :func:`paired_bootstrap`: both encoders scored on the same test items; resample the items (or
  whole sentences: clusters) with replacement, recompute score(a) - score(b) on each resample and
  take the two-sided p-value of the shifted null (Efron & Tibshirani 1993, section 16.4;
  Berg-Kirkpatrick et al. 2012): p = (1 + #{|d* - d| >= |d|}) / (1 + B), the share of
  resampled differences at least as far from the observed d as d is from 0. Identical
  predictions give d = 0 and p = 1. Seeded: the same inputs and seed give the same result.
* :func:`compare_predictions`: the same, from two per-item prediction files
  (:mod:`melmo.results.predictions`).
* :func:`paired_seed_test`: a paired t-test (or Wilcoxon signed-rank) over the seeds both encoders
  were run with, seed s of a against seed s of b; kept for callers of the public interface, not used
  by the report (with three seeds the Wilcoxon test cannot go below p = 0.25).
* :func:`prediction_tests`: the per-seed bootstrap of every pair a predictions folder allows, one
  table (detail rows of significance.csv, unadjusted, never marked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from melmo.results.predictions import METRICS, item_correct, predictions_path, read_predictions
from melmo.results.predictions import clusters as item_clusters
from melmo.results.table import ResultsError, load_results


@dataclass(frozen=True)
class BootstrapResult:
    difference: float  # score(a) - score(b) on all items (micro-average: correct items / items)
    p_value: float  # two-sided
    ci_low: float  # percentile confidence interval of the difference
    ci_high: float
    n_items: int
    n_clusters: int
    n_resamples: int


def paired_bootstrap(correct_a, correct_b, n_resamples: int = 10_000, seed: int = 0, clusters=None,
                     confidence: float = 0.95, chunk: int = 1000) -> BootstrapResult:
    """Paired bootstrap of score(a) - score(b) where score = mean of per-item scores.

    ``correct_a``, ``correct_b``: (n_items,) per-item scores in the same item order (bool for
    accuracy-like metrics). ``clusters``: optional (n_items,) ids; when given, whole clusters
    (e.g. sentences) are resampled and the score of a resample is sum(scores) / n_items over
    its clusters. Returns a :class:`BootstrapResult`; the resamples come from
    ``numpy.random.default_rng(seed)``.
    """
    a = np.asarray(correct_a, dtype=float)
    b = np.asarray(correct_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal-length, non-empty 1-d score arrays, got shapes {a.shape} and "
                         f"{b.shape}")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    if clusters is None:
        sa, sb, n = a, b, np.ones_like(a)
    else:
        ids = np.asarray(clusters)
        if ids.shape != a.shape:
            raise ValueError(f"clusters has shape {ids.shape}, the scores {a.shape}")
        _, inv = np.unique(ids, return_inverse=True)
        sa, sb, n = np.bincount(inv, a), np.bincount(inv, b), np.bincount(inv).astype(float)
    k = sa.size
    d = (sa.sum() - sb.sum()) / n.sum()
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        idx = rng.integers(0, k, size=(m, k))
        diffs[start:start + m] = (sa[idx].sum(1) - sb[idx].sum(1)) / n[idx].sum(1)
    extreme = np.count_nonzero(np.abs(diffs - d) >= abs(d) - 1e-12)
    p = (1 + extreme) / (1 + n_resamples)
    lo, hi = np.quantile(diffs, [(1 - confidence) / 2, (1 + confidence) / 2])
    return BootstrapResult(float(d), float(min(1.0, p)), float(lo), float(hi), int(a.size), int(k),
                           int(n_resamples))


def compare_predictions(path_a: str | Path, path_b: str | Path, metric: str, by_sentence: bool = True,
                        n_resamples: int = 10_000, seed: int = 0) -> BootstrapResult:
    """Paired bootstrap between two prediction files of the same test set (same items and gold).

    ``metric``: acc, uas or las (:func:`melmo.results.predictions.item_correct`). ``by_sentence``
    resamples clusters (the item part before ``:``), right for token tasks whose errors within a
    sentence are not independent; for sentence tasks each item is its own cluster anyway.
    """
    pa, pb = read_predictions(path_a), read_predictions(path_b)
    if set(pa["item"]) != set(pb["item"]):
        only = min(set(pa["item"]) ^ set(pb["item"]))
        raise ResultsError(f"{path_b}: not the same items as {path_a} (e.g. {only!r} is in one only)")
    pb = pb.set_index("item").loc[pa["item"]].reset_index()
    if (pa["gold"].to_numpy() != pb["gold"].to_numpy()).any():
        i = int(np.argmax(pa["gold"].to_numpy() != pb["gold"].to_numpy()))
        raise ResultsError(f"{path_b}: item {pa['item'][i]!r} has gold {pb['gold'][i]!r}, {path_a} has "
                           f"{pa['gold'][i]!r}")
    ca, cb = item_correct(pa, metric, str(path_a)), item_correct(pb, metric, str(path_b))
    groups = item_clusters(pa["item"]) if by_sentence else None
    return paired_bootstrap(ca, cb, n_resamples=n_resamples, seed=seed, clusters=groups)


@dataclass(frozen=True)
class SeedTestResult:
    difference: float  # mean over paired seeds of a - b
    p_value: float  # two-sided
    n_seeds: int
    method: str


def paired_seed_test(results, task: str, metric: str, language: str, encoder_a: str, encoder_b: str,
                     method: str = "ttest") -> SeedTestResult:
    """Paired test of a - b over the seeds both encoders have for one task/metric/language.

    ``method``: "ttest" (scipy.stats.ttest_rel) or "wilcoxon" (scipy.stats.wilcoxon). Identical
    scores on every seed give p = 1, the same non-zero difference on every seed p = 0. Needs at
    least two common seeds.
    """
    if method not in ("ttest", "wilcoxon"):
        raise ValueError(f"unknown seed test {method!r} (use ttest or wilcoxon)")
    df = load_results(results)
    df = df[(df["task"] == task) & (df["metric"] == metric) & (df["language"] == language)]
    sa = df[df["encoder"] == encoder_a].set_index("seed")["value"]
    sb = df[df["encoder"] == encoder_b].set_index("seed")["value"]
    common = sorted(set(sa.index) & set(sb.index))
    if len(common) < 2:
        raise ResultsError(f"{task}/{metric} {language}: {encoder_a} and {encoder_b} share {len(common)} "
                           "seed(s), need 2")
    x, y = sa.loc[common].to_numpy(), sb.loc[common].to_numpy()
    diff = x - y
    if np.all(diff == 0):
        p = 1.0
    elif np.ptp(diff) == 0:  # the same non-zero difference on every seed: no spread, t is infinite
        p = 0.0
    elif method == "ttest":
        p = float(stats.ttest_rel(x, y).pvalue)
    else:
        p = float(stats.wilcoxon(x, y).pvalue)
    return SeedTestResult(float(diff.mean()), p, len(common), method)


# One table for every test (melmo.analysis.marked writes the marked rows, prediction_tests the per-seed
# detail). n: items (tests on predictions) or seeds (t_seeds); n_seeds "<seeds of a>+<seeds of b>". Marked
# rows: se = sqrt(seed_se^2 + item_se^2) (item_se empty for t_seeds: no predictions), df the seed part's
# Welch–Satterthwaite; p_holm, p_bh adjusted within the family (melmo.analysis.multiple, family_size tests);
# significant: Holm's verdict, the one the tables and figures mark.
TEST_COLUMNS = ["test", "task", "metric", "language", "seed", "a", "b", "difference", "ci_low", "ci_high",
                "se", "seed_se", "item_se", "df", "p", "p_holm", "p_bh", "family_size", "significant", "n",
                "n_seeds"]


def prediction_tests(results_dir: str | Path, pairs, metrics: dict[str, list[str]] | None = None,
                     n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """:func:`compare_predictions` for every pair, task, language and seed both have files for.

    Scans ``<results_dir>/predictions/<task>/<encoder>/<language>.seed<seed>.tsv``. ``metrics``:
    task -> item metrics (default: parsing -> uas, las; any other task -> acc). Returns a
    DataFrame with columns ``TEST_COLUMNS`` (test = "bootstrap", n = items).
    """
    root = Path(results_dir) / "predictions"
    metrics = {"parsing": ["uas", "las"], **(metrics or {})}
    rows = []
    if not root.is_dir():
        return pd.DataFrame(rows, columns=TEST_COLUMNS)
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        task = task_dir.name
        for a, b in pairs:
            for fa in sorted((task_dir / a).glob("*.seed*.tsv")):
                lang, _, s = fa.name[: -len(".tsv")].partition(".seed")
                fb = predictions_path(results_dir, task, b, lang, int(s))
                if not fb.is_file():
                    continue
                for m in metrics.get(task, ["acc"]):
                    if m not in METRICS:
                        continue
                    r = compare_predictions(fa, fb, m, n_resamples=n_resamples, seed=seed)
                    rows.append({"test": "bootstrap", "task": task, "metric": m, "language": lang,
                                 "seed": int(s), "a": a, "b": b, "difference": r.difference,
                                 "ci_low": r.ci_low, "ci_high": r.ci_high, "p": r.p_value,
                                 "significant": False, "n": r.n_items, "n_seeds": "1+1"})
    return pd.DataFrame(rows, columns=TEST_COLUMNS)
