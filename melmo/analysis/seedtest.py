"""The marked test: a t-test over head seeds with the test items' uncertainty added (calibrated, few seeds).

A difference between two frozen encoders on one (task, metric, language) cell has two sources of
noise (Bouthillier et al. 2021, "Accounting for variance in machine learning benchmarks", MLSys):
the head's training (seed) and the test items. The design is crossed: every head of both encoders
is scored on the same items. The statistic is

    d = mean over a's seeds of score(a) - mean over b's seeds of score(b),   score = micro average,

and its variance is estimated by parts:

* seeds: ``s_a^2 / S_a + s_b^2 / S_b`` from the per-seed scores (sample variances, ddof=1). The
  seeds are **not paired** by seed number: seed ``s`` of encoder a and seed ``s`` of b train heads on
  different features, so they are independent draws (Welch's unpaired t; Dror, Shlomov & Reichart
  2019, "Deep dominance", ACL, also treat the runs of two algorithms as independent samples). With
  one seed on a side the seed variance is pooled from the other side (equal spread assumed, df =
  S_a + S_b - 2); with one seed on both sides (a deterministic task, Tatoeba) it is taken as 0.
* items: the variance over test sets of the seed-averaged difference, analytic (the linearised,
  cluster-robust variance of a ratio of sums over the k clusters, its df estimated: what
  the item level of a paired bootstrap estimates, Berg-Kirkpatrick et al. 2012, without resampling
  error), less its seed-by-item share, which the per-seed spread already holds (:func:`item_variance`).
  What is left is the encoder-by-item part: would another test set order the encoders the same way.
  Whole sentences are the clusters of token tasks.

The seed variance from 3 seeds is itself uncertain (2 to 4 degrees of freedom), so the reference
distribution is Student's t with the seed part's Welch–Satterthwaite degrees of freedom, never the
normal. The item part adds to the standard error but not to the degrees of freedom: pooling its df
in (Satterthwaite over all parts) lets an item part that items alone cannot tell from a seed effect
(a better head right on a nested set of items) raise the df from 1-4 to thousands and the false-positive
rate with it (11.5 % on the rebuilt leave-one-seed-out null of benchmarks/significance_calibration.py).
So the marked p is never below the seed-only Welch p: conservative where the item part is large (small
test sets), exact where seeds dominate (PoS, parsing, transfer). With no seed spread (one seed per
encoder, a deterministic task) the item part's own df is used. Never the
normal: a plug-in seed variance read as known (what the per-cell hierarchical bootstrap did) rejects a
true null far above the nominal rate with 3 seeds (benchmarks/significance_calibration.py; Dror et
al. 2018, "The hitchhiker's guide to testing statistical significance in NLP", ACL, on checking a
test's assumptions; Ulmer et al. 2022, "deep-significance"). The interval is d +- t_{df} SE, so it
excludes 0 exactly when p < 1 - confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95  # two-sided intervals; the level a verdict uses is 1 - CONFIDENCE


@dataclass(frozen=True)
class CellTest:
    difference: float  # mean over a's seeds - mean over b's seeds
    p_value: float  # two-sided
    ci_low: float
    ci_high: float
    se: float  # standard error of the difference (seed and item parts)
    df: float  # the seed part's Welch–Satterthwaite df (the item part's where there is no seed spread)
    seed_se: float  # the seed part of se
    item_se: float  # the item part of se (0 without per-item predictions)
    n_seeds_a: int
    n_seeds_b: int
    method: str  # "welch", "pooled" (one seed on a side) or "items" (one seed on both sides)


def seed_variance(seed_a, seed_b) -> tuple[float, float, str]:
    """(variance of the seed part of d, its degrees of freedom, method) from per-seed scores (module doc)."""
    a, b = np.asarray(seed_a, dtype=float), np.asarray(seed_b, dtype=float)
    na, nb = a.size, b.size
    if na >= 2 and nb >= 2:
        va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
        parts = [(va, na - 1), (vb, nb - 1)]
        v = va + vb
        den = sum(x * x / k for x, k in parts)
        return float(v), (float(v * v / den) if den > 0 else math.inf), "welch"
    if na + nb >= 3:
        ss = sum(((x - x.mean()) ** 2).sum() for x in (a, b) if x.size >= 2)
        dof = na + nb - 2
        return float(ss / dof * (1 / na + 1 / nb)), float(dof), "pooled"
    return 0.0, math.inf, "items"


def t_test(
    seed_a, seed_b, item_var: float = 0.0, item_df: float = math.inf, confidence: float = CONFIDENCE
) -> CellTest:
    """The marked test from per-seed scores and the item variance of d (module docstring).

    ``seed_a``, ``seed_b``: per-seed scores of each encoder (any order: not paired). ``item_var``,
    ``item_df``: the item part (:func:`item_variance`); 0 when there are no per-item predictions
    (the test is then conditional on this test set). Needs three seeds in all, or an item part (else
    untestable: p = NaN). No
    spread at all (identical seeds, no item part: a deterministic task) gives p = 1 for d = 0, else
    p = NaN (untestable, never marked), not p = 0.
    """
    a, b = np.asarray(seed_a, dtype=float), np.asarray(seed_b, dtype=float)
    if not a.size or not b.size:
        raise ValueError(f"need scores on both sides, got {a.size} and {b.size} seeds")
    vs, dfs, method = seed_variance(a, b)
    if method == "items" and not item_var > 0:  # one seed a side, no item part: nothing to scale d by
        vs, item_var, dfs, item_df = 0.0, 0.0, 1.0, 1.0   # untestable below (p = NaN, never marked)
    d = float(a.mean() - b.mean())
    v = vs + item_var
    df = dfs if vs > 0 else item_df  # the seeds' df, never raised by the item part (module docstring)
    if v <= 0:  # no spread anywhere (a deterministic task without predictions): nothing to scale d by
        p, half = (1.0, 0.0) if d == 0 else (math.nan, math.nan)
    else:
        se = math.sqrt(v)
        p = float(2 * stats.t.sf(abs(d) / se, df))
        half = float(stats.t.ppf((1 + confidence) / 2, df) * se)
    return CellTest(
        d,
        p if math.isnan(p) else min(1.0, p),
        d - half,
        d + half,
        math.sqrt(v),
        float(df),
        math.sqrt(vs),
        math.sqrt(item_var),
        int(a.size),
        int(b.size),
        method,
    )


def item_variance(scores_a, scores_b, clusters=None) -> tuple[float, float]:
    """(variance over test sets of the encoder-by-item part of d, its degrees of freedom), analytic.

    ``scores_a``: (seeds of a, n_items), ``scores_b``: (seeds of b, n_items), the same items in the
    same order; ``clusters``: optional (n_items,) ids of the units sampled together (sentences).
    Per encoder e, seed s and cluster k the linearised residual is r_esk = c_esk - Y_es n_k (c: correct
    items, Y: the seed's score). The variance of d over clusters is k/(k-1) sum_k (rbar_ak - rbar_bk)^2 / N^2
    (rbar: mean over seeds); its seed-by-item share, k/(k-1) sum_k v_k (1/S_a + 1/S_b) / N^2 with v_k the
    variance of r_esk over the seeds of an encoder pooled over both encoders (as the seed part pools
    with one seed on a side), is already in the per-seed spread and is taken out (floored at 0), so that
    no noise is counted twice. Degrees of freedom: 2 v^2 / Var(v), Var(v) from the spread of the k
    per-cluster terms (Satterthwaite's moment match to a scaled chi-square), at most k - 1: about k - 1
    when the part is real, few when it is noise around 0 (it then cannot inflate the df of the total).
    """
    a = np.atleast_2d(np.asarray(scores_a, dtype=float))
    b = np.atleast_2d(np.asarray(scores_b, dtype=float))
    if a.shape[1] != b.shape[1] or a.shape[1] == 0 or not len(a) or not len(b):
        raise ValueError(
            f"need (seeds, items) score arrays over the same non-empty items, got {a.shape} and {b.shape}"
        )
    ids = np.arange(a.shape[1]) if clusters is None else np.asarray(clusters)
    if ids.shape != (a.shape[1],):
        raise ValueError(f"clusters has shape {ids.shape}, the items ({a.shape[1]},)")
    _, inv = np.unique(ids, return_inverse=True)
    k = int(inv.max()) + 1
    if k < 2:
        return 0.0, math.inf
    n = np.bincount(inv, minlength=k).astype(float)
    big_n = n.sum()
    resid, ss, dof = [], np.zeros(k), 0
    for x in (a, b):
        c = np.stack([np.bincount(inv, row, minlength=k) for row in x])  # (seeds, clusters) correct items
        r = c - (c.sum(1, keepdims=True) / big_n) * n
        resid.append(r.mean(0))
        ss, dof = ss + ((r - r.mean(0)) ** 2).sum(0), dof + len(x) - 1
    z = resid[0] - resid[1]
    # per cluster: z_k^2 less its seed-by-item share (one head's variance pooled over both encoders, as the
    # part pools with one seed on a side)
    u = z * z - (ss / dof * (1 / len(a) + 1 / len(b)) if dof else 0.0)
    scale = k / (k - 1) / big_n**2
    v = float(u.sum() * scale)
    if v <= 0:
        return 0.0, math.inf
    spread = float(((u - u.mean()) ** 2).sum() * k / (k - 1) * scale**2)  # variance of v over the clusters
    return v, float(min(k - 1, 2 * v * v / spread)) if spread > 0 else float(k - 1)


def cell_test(scores_a, scores_b, clusters=None, confidence: float = CONFIDENCE) -> CellTest:
    """The marked test from per-item scores: (seeds, items) arrays of each encoder on the same items.

    Per-seed scores are micro averages (correct items / items); the item part is :func:`item_variance`.
    The function the tables, figures and the calibration check (benchmarks/significance_calibration.py,
    tests/analysis/test_analysis_calibration.py) go through.
    """
    a = np.atleast_2d(np.asarray(scores_a, dtype=float))
    b = np.atleast_2d(np.asarray(scores_b, dtype=float))
    iv, idf = item_variance(a, b, clusters)
    return t_test(a.mean(1), b.mean(1), iv, idf, confidence)
