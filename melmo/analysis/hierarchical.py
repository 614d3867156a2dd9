"""The hierarchical (crossed) bootstrap over head seeds and test items: a comparison, not the marked test.

A difference between two frozen encoders on one (task, language) has two sources of noise: the
test items and the head's training (seed). :func:`hierarchical_bootstrap` resamples both
(Saravanan, Berman & Sober 2020, "Application of the hierarchical bootstrap to multi-level data in
neuroscience", NBDT 3(5)), in a **crossed** design, not a nested one: the items are not nested in
the seeds, every head of both encoders is scored on the same test items. A resample draws

1. each encoder's seeds with replacement, independently (seed ``s`` of one encoder is not paired
   with seed ``s`` of the other: :mod:`melmo.analysis.seedtest`);
2. the test items with replacement, one draw shared by both encoders and every seed (paired on
   items), whole sentences as clusters for token tasks.

The statistic is mean over seeds of score(a) - mean over seeds of score(b), score = correct items /
items; p = (1 + #{|d* - d| >= |d|}) / (1 + B) (shifted null). Bootstrap counts are multinomials from
``numpy.random.default_rng(seed)``.

**Not calibrated with few seeds**: resampling 3 seeds reads their plug-in variance (biased low by
(S-1)/S and itself uncertain) as known, and rejects true nulls far above the nominal rate
(benchmarks/significance_calibration.py). The tables and figures mark
:func:`melmo.analysis.seedtest.cell_test` instead; this module is kept as the comparison the
calibration check prints, and for :func:`seed_files` / :func:`seed_scores`, which read the per-seed
predictions of a cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from melmo.analysis.significance import TEST_COLUMNS
from melmo.results.predictions import METRICS, item_correct, read_predictions
from melmo.results.predictions import clusters as item_clusters
from melmo.results.table import ResultsError


@dataclass(frozen=True)
class HierarchicalResult:
    difference: float  # mean over a's seeds of score(a) - mean over b's seeds of score(b), on all items
    p_value: float  # two-sided
    ci_low: float
    ci_high: float
    n_items: int
    n_clusters: int
    n_seeds_a: int
    n_seeds_b: int
    n_resamples: int


def _cluster_sums(scores: np.ndarray, inverse: np.ndarray, k: int) -> np.ndarray:
    return np.stack([np.bincount(inverse, row, minlength=k) for row in scores])


def hierarchical_bootstrap(scores_a, scores_b, clusters=None, n_resamples: int = 10_000, seed: int = 0,
                           confidence: float = 0.95, chunk: int = 500) -> HierarchicalResult:
    """Hierarchical bootstrap of mean_seeds score(a) - mean_seeds score(b) (module docstring).

    ``scores_a``: (seeds of a, n_items) per-item scores (bool for accuracy-like metrics), one row
    per head seed; ``scores_b``: (seeds of b, n_items), the same items in the same order.
    ``clusters``: optional (n_items,) ids resampled as units (sentences).
    """
    a = np.atleast_2d(np.asarray(scores_a, dtype=float))
    b = np.atleast_2d(np.asarray(scores_b, dtype=float))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.shape[1] == 0 or not len(a) or not len(b):
        raise ValueError(f"need (seeds, items) score arrays over the same non-empty items, got {a.shape} and "
                         f"{b.shape}")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    ids = np.arange(a.shape[1]) if clusters is None else np.asarray(clusters)
    if ids.shape != (a.shape[1],):
        raise ValueError(f"clusters has shape {ids.shape}, the items ({a.shape[1]},)")
    _, inv = np.unique(ids, return_inverse=True)
    k = int(inv.max()) + 1
    ca, cb = _cluster_sums(a, inv, k), _cluster_sums(b, inv, k)  # (seeds, clusters) correct items
    n = np.bincount(inv, minlength=k).astype(float)  # items per cluster
    d = (ca.mean(0).sum() - cb.mean(0).sum()) / n.sum()
    rng = np.random.default_rng(seed)
    sa, sb = len(ca), len(cb)
    diffs = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        m = min(chunk, n_resamples - start)
        wa = rng.multinomial(sa, np.full(sa, 1 / sa), size=m) / sa  # (m, seeds of a): weight of each seed
        wb = rng.multinomial(sb, np.full(sb, 1 / sb), size=m) / sb
        wc = rng.multinomial(k, np.full(k, 1 / k), size=m)  # (m, clusters): how often each cluster is drawn
        diffs[start:start + m] = (((wa @ ca) - (wb @ cb)) * wc).sum(1) / (wc @ n)
    extreme = np.count_nonzero(np.abs(diffs - d) >= abs(d) - 1e-12)
    p = (1 + extreme) / (1 + n_resamples)
    lo, hi = np.quantile(diffs, [(1 - confidence) / 2, (1 + confidence) / 2])
    return HierarchicalResult(float(d), float(min(1.0, p)), float(lo), float(hi), int(a.shape[1]), k, sa, sb,
                              int(n_resamples))


def seed_files(results_dir: str | Path, task: str, encoder: str, language: str) -> dict[int, Path]:
    """Seed -> predictions file of one (task, encoder, language) under ``<results_dir>/predictions``."""
    folder = Path(results_dir) / "predictions" / task / encoder
    out = {}
    for f in folder.glob(f"{language}.seed*.tsv"):
        s = f.name[len(language) + len(".seed"): -len(".tsv")]
        if s.lstrip("-").isdigit():
            out[int(s)] = f
    return dict(sorted(out.items()))


def seed_scores(files: dict[int, Path], metric: str, items=None,
                gold=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seeds, items) per-item correctness of prediction files, aligned on ``items`` (default: the
    first file's); every file must hold the same items with the same gold. Returns (scores, items, gold)."""
    rows = []
    for path in files.values():
        df = read_predictions(path)
        if items is None:
            items, gold = df["item"].to_numpy(), df["gold"].to_numpy()
        if set(df["item"]) != set(items) or len(df) != len(items):
            only = sorted(set(df["item"]) ^ set(items))[:1]
            raise ResultsError(f"{path}: not the same items as the other seeds and encoders (e.g. {only})")
        df = df.set_index("item").loc[items].reset_index()
        bad = df["gold"].to_numpy() != gold
        if bad.any():
            raise ResultsError(f"{path}: item {items[bad.argmax()]!r} has gold {df['gold'][bad.argmax()]!r}, "
                               f"another file has {gold[bad.argmax()]!r}")
        rows.append(item_correct(df, metric, str(path)))
    return np.stack(rows), items, gold



def hierarchical_tests(results_dir: str | Path, pairs, metrics: dict[str, list[str]] | None = None,
                       n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """:func:`hierarchical_bootstrap` for every task, language and pair both encoders have predictions for.

    ``metrics``: task -> item metrics (default: parsing -> uas, las; any other task -> acc). Token
    tasks resample sentences (the item part before ``:``). Returns a DataFrame with columns
    ``TEST_COLUMNS`` (test = "hierarchical", n = items, n_seeds = "<seeds of a>+<seeds of b>"); not part of
    the report (module docstring).
    """
    root = Path(results_dir) / "predictions"
    metrics = {"parsing": ["uas", "las"], **(metrics or {})}
    rows = []
    tasks = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for task in tasks:
        for a, b in pairs:
            langs = sorted({f.name.split(".seed")[0] for f in (root / task / a).glob("*.seed*.tsv")})
            for lang in langs:
                fa, fb = seed_files(results_dir, task, a, lang), seed_files(results_dir, task, b, lang)
                if not fa or not fb:
                    continue
                for m in metrics.get(task, ["acc"]):
                    if m not in METRICS:
                        continue
                    xa, items, gold = seed_scores(fa, m)
                    xb, _, _ = seed_scores(fb, m, items, gold)
                    r = hierarchical_bootstrap(xa, xb, clusters=item_clusters(items), n_resamples=n_resamples,
                                               seed=seed)
                    rows.append({"test": "hierarchical", "task": task, "metric": m, "language": lang,
                                 "seed": None, "a": a, "b": b, "difference": r.difference, "ci_low": r.ci_low,
                                 "ci_high": r.ci_high, "p": r.p_value, "significant": False, "n": r.n_items,
                                 "n_seeds": f"{r.n_seeds_a}+{r.n_seeds_b}"})
    return pd.DataFrame(rows, columns=TEST_COLUMNS)
