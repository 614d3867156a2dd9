"""The marked test keeps its false-positive rate with 3 seeds (benchmarks/significance_calibration.py, fast).

Both nulls go through :func:`melmo.analysis.seedtest.cell_test`, the function the tables and figures
mark with: put the per-cell hierarchical bootstrap back in it and these rates rise above the bound.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from melmo.analysis.seedtest import cell_test

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "results" / "sample" / "results.csv"  # committed: per-seed rows of a real study
HEADS = [("pos", "acc"), ("parsing", "uas"), ("parsing", "las"), ("pos_transfer", "acc"), ("xnli", "acc")]
LEVEL = 0.05
# items per cell: the order of the sample's PoS and parsing test sets (10-25k tokens: column n of the
# hierarchical rows of docs/results/sample/analysis/significance.csv at commit 09e5d3b), where the seeds
# dominate the noise
N_ITEMS = 10_000


def bound(reps: int) -> float:
    """The nominal level plus 3 Monte-Carlo standard errors."""
    return LEVEL + 3 * math.sqrt(LEVEL * (1 - LEVEL) / reps)


def rebuilt_items(scores, rng, nested: bool) -> np.ndarray:
    """(seeds, N_ITEMS) correct items with each row's mean round(score x N) / N: correct sets drawn
    independently per seed, or nested along one shared item order."""
    counts = np.round(np.asarray(scores) * N_ITEMS).astype(int)
    order = rng.permutation(N_ITEMS)
    out = np.zeros((len(counts), N_ITEMS), dtype=bool)
    for s, c in enumerate(counts):
        out[s, (order if nested else rng.permutation(N_ITEMS))[:c]] = True
    return out


def seed_cells():
    df = pd.read_csv(SAMPLE)
    keep = np.array([tm in HEADS for tm in zip(df["task"], df["metric"])]) & ~df["encoder"].isin(
        ["majority", "chance"]
    )
    df = df[keep]
    for _, g in df.groupby(["encoder", "task", "metric", "language"]):
        v = g.sort_values("seed")["value"].to_numpy()
        if len(v) == 3 and np.ptp(v) > 0:
            yield v


def test_simulated_3_vs_3_nulls_with_the_observed_seed_spread():
    cells = list(seed_cells())
    sd = math.sqrt(np.mean([np.var(v, ddof=1) for v in cells]))  # the sample's pooled seed spread
    mean = float(np.mean([v.mean() for v in cells]))
    rng = np.random.default_rng(0)
    reps = 1000
    p = [
        cell_test(
            *np.split(rebuilt_items(np.clip(mean + sd * rng.standard_normal(6), 0, 1), rng, r % 2 == 0), 2)
        ).p_value
        for r in range(reps)
    ]
    rate = np.mean(np.asarray(p) < LEVEL)
    assert rate <= bound(reps), f"rejects {rate:.3f} of simulated nulls (seed sd {sd:.4f})"


def test_real_leave_one_seed_out_nulls():
    rng = np.random.default_rng(1)
    p = []
    for v in seed_cells():
        for h in range(3):
            x = rebuilt_items(v, rng, nested=h == 0)
            p.append(cell_test(np.delete(x, h, 0), x[[h]]).p_value)
    rate = np.mean(np.asarray(p) < LEVEL)
    assert len(p) > 300 and rate <= bound(len(p)), f"rejects {rate:.3f} of {len(p)} real seed splits"
