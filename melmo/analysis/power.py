"""How many seeds to ask for: the power of the marked test (:mod:`melmo.analysis.seedtest`) per task.

For two encoders with S head seeds each, a seed spread sigma (sd of one head's score) and an item
standard error se_item of the difference, the marked test's estimated variance is
SE^2 = s_a^2 / S + s_b^2 / S + se_item^2 with the seed part's Welch–Satterthwaite degrees of freedom,
both random through the sample variances s_a^2, s_b^2; :func:`power` integrates over them (normal seed
scores), so the power is the Welch test's own, not a known-variance approximation.

:func:`power_table` reports, per task/metric, the smallest delta detected with 80 % power (Cohen
1988's convention) with the seeds used, at the per-test level and at Holm's first step (level / m for
a family of m languages: the bound a marked cell has to pass when it is the family's smallest p),
and the seeds per encoder needed to detect :data:`TARGETS` at Holm's first step. sigma is the
seed spread pooled over the tested encoders and languages (sum (S_i - 1) s_i^2 / sum (S_i - 1)),
se_item the median item part of the task's marked tests (0 without predictions). When the item part
alone exceeds a target, no number of seeds reaches it (a larger test set would).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from melmo.analysis.marked import LEVEL, MARKED_TESTS
from melmo.analysis.tables import label
from melmo.results.table import load_results

POWER = 0.8  # Cohen (1988), Statistical Power Analysis for the Behavioral Sciences: the conventional target
TARGETS = (
    0.005,
    0.01,
)  # differences of interest: Table 4 reports scores to 2 decimals; 0.005 rounds a change in
MAX_SEEDS = 200  # seeds per encoder searched before reporting "more than"
GRID = 64  # quantiles per seed variance in the power integral (64 x 64 points: power to ~1e-3)
POWER_COLUMNS = [
    "task",
    "metric",
    "seeds",
    "seed_sd",
    "item_se",
    "languages",
    "mde",
    "mde_holm",
    *[f"seeds_for_{t}" for t in TARGETS],
]


def _test_spread(seed_sd: float, seeds: int, item_se: float, alpha: float) -> tuple[np.ndarray, float]:
    """(critical |d| over the grid of seed-variance draws, the true sd of d): see :func:`power`."""
    sd_d = math.sqrt(2 * seed_sd**2 / seeds + item_se**2)
    if seed_sd == 0 or seeds < 2:
        return np.array([stats.norm.ppf(1 - alpha / 2) * sd_d]), sd_d
    x = stats.chi2.ppf((np.arange(GRID) + 0.5) / GRID, seeds - 1)  # s^2 (S - 1) / sigma^2, at grid quantiles
    va, vb = np.meshgrid(seed_sd**2 * x / ((seeds - 1) * seeds), seed_sd**2 * x / ((seeds - 1) * seeds))
    df = (va + vb) ** 2 / ((va**2 + vb**2) / (seeds - 1))  # Welch–Satterthwaite, as seedtest.t_test
    return (stats.t.ppf(1 - alpha / 2, df) * np.sqrt(va + vb + item_se**2)).ravel(), sd_d


def power(delta: float, seed_sd: float, seeds: int, item_se: float = 0.0, alpha: float = LEVEL) -> float:
    """Probability that the marked test (two-sided, level ``alpha``) detects a true difference ``delta``.

    Exact for normal seed scores with spread ``seed_sd`` on both sides, ``seeds`` each, and a known item
    part: d ~ N(delta, 2 sigma^2 / S + se_item^2) is independent of the seed variances s_a^2, s_b^2
    (sigma^2 chi^2_{S-1} / (S - 1) each), which set the test's standard error and Welch df; the power
    averages P(|d| > t_{df} SE) over a GRID x GRID quantile grid of the two chi-squares.
    """
    crit, sd_d = _test_spread(seed_sd, seeds, item_se, alpha)
    if sd_d == 0:
        return 1.0 if delta else alpha
    return float(
        np.mean(stats.norm.sf((crit - abs(delta)) / sd_d) + stats.norm.cdf((-crit - abs(delta)) / sd_d))
    )


def minimal_difference(
    seed_sd: float, seeds: int, item_se: float = 0.0, alpha: float = LEVEL, target: float = POWER
) -> float:
    """The smallest true difference detected with probability ``target`` (root of :func:`power`)."""
    crit, sd_d = _test_spread(seed_sd, seeds, item_se, alpha)
    if sd_d == 0:
        return 0.0

    def miss(d):
        return float(np.mean(stats.norm.sf((crit - d) / sd_d) + stats.norm.cdf((-crit - d) / sd_d))) - target

    hi = sd_d
    while miss(hi) < 0:
        hi *= 2
    return float(optimize.brentq(miss, 0.0, hi, xtol=1e-9 * sd_d))


def seeds_needed(
    delta: float,
    seed_sd: float,
    item_se: float = 0.0,
    alpha: float = LEVEL,
    target: float = POWER,
    max_seeds: int = MAX_SEEDS,
) -> float:
    """Seeds per encoder (>= 2) for :func:`minimal_difference` <= ``delta``; inf when the item part alone
    forbids it, NaN when more than ``max_seeds`` would be needed (bisection: the MDE falls with S)."""
    if minimal_difference(0.0, 2, item_se, alpha, target) > delta:
        return math.inf
    if minimal_difference(seed_sd, max_seeds, item_se, alpha, target) > delta:
        return math.nan
    lo, hi = 1, max_seeds  # MDE(lo) > delta (or lo < 2) and MDE(hi) <= delta
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if minimal_difference(seed_sd, mid, item_se, alpha, target) <= delta:
            hi = mid
        else:
            lo = mid
    return float(max(hi, 2))


def power_table(tests: pd.DataFrame | None, results) -> pd.DataFrame:
    """Per task/metric of the marked tests: seeds, seed_sd, item_se, languages, mde, mde_holm, seeds_for_*."""
    if tests is None or tests.empty:
        return pd.DataFrame(columns=POWER_COLUMNS)
    marked = tests[tests["test"].isin(MARKED_TESTS)]
    df = load_results(results)
    rows = []
    for (task, metric), t in marked.groupby(["task", "metric"], sort=False):
        encoders = set(t["a"]) | set(t["b"])
        cells = df[(df["task"] == task) & (df["metric"] == metric) & df["encoder"].isin(encoders)]
        g = cells.groupby(["encoder", "language"])["value"]
        n, var = g.count(), g.var(ddof=1)
        dof = (n - 1)[n >= 2]
        if not dof.sum():
            continue
        sd = math.sqrt(float(((n - 1) * var)[n >= 2].sum() / dof.sum()))
        seeds = int(n.mode().max())
        if seeds < 2:
            continue
        known = t["item_se"].dropna().to_numpy(dtype=float)  # NaN: a t_seeds test, no predictions
        item = float(np.median(known)) if known.size else 0.0
        if sd == 0 and item == 0:  # deterministic (Tatoeba's retrieval) and no predictions: nothing to say
            continue
        m = int(t["family_size"].max())
        row = {
            "task": task,
            "metric": metric,
            "seeds": seeds,
            "seed_sd": sd,
            "item_se": item,
            "languages": m,
            "mde": minimal_difference(sd, seeds, item),
            "mde_holm": minimal_difference(sd, seeds, item, LEVEL / m),
        }
        for target in TARGETS:
            row[f"seeds_for_{target}"] = seeds_needed(target, sd, item, LEVEL / m)
        rows.append(row)
    return pd.DataFrame(rows, columns=POWER_COLUMNS)


def _seeds_text(s: float) -> str:
    if math.isinf(s):
        return "none (test set)"
    return f"> {MAX_SEEDS}" if math.isnan(s) else str(int(s))


def power_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "No power analysis: no task has a marked test with two or more seeds per encoder.\n"
    heads = [
        "task",
        "seeds",
        "seed sd",
        "item se",
        "languages",
        f"MDE (p < {LEVEL:g})",
        "MDE (Holm)",
        *[f"seeds for {t}" for t in TARGETS],
    ]
    lines = [
        (
            f"Smallest true difference the marked test detects with {POWER:.0%} power (MDE); the seeds per "
            f"encoder needed to detect a difference of {' or '.join(map(str, TARGETS))} at Holm's first step "
            f"({LEVEL:g} / languages); seed sd pooled over the tested encoders and languages.\n"
        ),
        "| " + " | ".join(heads) + " |",
        "|" + "---|" * len(heads),
    ]
    for r in table.to_dict("records"):
        need = [_seeds_text(r[f"seeds_for_{t}"]) for t in TARGETS]
        lines.append(
            f"| {label(r['task'], r['metric'])} | {r['seeds']} | {r['seed_sd']:.4f} | {r['item_se']:.4f} "
            f"| {r['languages']} | {r['mde']:.4f} | {r['mde_holm']:.4f} | " + " | ".join(need) + " |"
        )
    return "\n".join(lines) + "\n"
