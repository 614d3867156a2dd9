"""Many comparisons: p-values adjusted within a family by Holm and by Benjamini–Hochberg.

A family is one comparison (a - b) on one task/metric over the languages (the cells of one row
of Table 4). Holm (1979, "A simple sequentially rejective multiple test procedure") controls the
family-wise error rate under any dependence and is what the tables and figures mark;
Benjamini & Hochberg (1995) control the false discovery rate (valid for independent or positively
dependent tests: the languages' test sets are disjoint) and are written beside it. BH comes from
``scipy.stats.false_discovery_control``; Holm's step-down is a few lines. NaN p-values stay NaN and
do not count in the family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

FAMILY = ["a", "b", "task", "metric"]  # a family: one comparison on one task/metric, over languages


def holm(p) -> np.ndarray:
    """Holm's adjusted p-values: sorted ascending, p_(i) * (m - i + 1), running maximum, capped at 1."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m:
        order = np.argsort(q, kind="stable")
        adj = np.minimum(1.0, np.maximum.accumulate(q[order] * (m - np.arange(m))))
        res = np.empty(m)
        res[order] = adj
        out[ok] = res
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (``scipy.stats.false_discovery_control``, method "bh")."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def adjust(tests: pd.DataFrame, family=FAMILY, p: str = "p") -> pd.DataFrame:
    """``tests`` with columns ``p_holm``, ``p_bh`` (adjusted within each ``family``) and ``family_size``."""
    out = tests.copy()
    out["p_holm"], out["p_bh"], out["family_size"] = np.nan, np.nan, 0
    if out.empty:
        return out
    for idx in out.groupby(list(family), sort=False).groups.values():
        ps = out.loc[idx, p].to_numpy(dtype=float)
        out.loc[idx, "p_holm"] = holm(ps)
        out.loc[idx, "p_bh"] = benjamini_hochberg(ps)
        out.loc[idx, "family_size"] = int((~np.isnan(ps)).sum())
    return out
