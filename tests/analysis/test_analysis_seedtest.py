"""The marked test's parts against independent references: scipy's t-tests, a brute-force bootstrap, the
adjustments by hand, the power by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from melmo.analysis.multiple import adjust, benjamini_hochberg, holm
from melmo.analysis.power import minimal_difference, power, seeds_needed
from melmo.analysis.seedtest import cell_test, item_variance, t_test


def test_seed_part_is_welch_or_pooled_and_unpaired():
    a, b = [0.80, 0.83, 0.81], [0.78, 0.80, 0.80, 0.76]
    r = t_test(a, b)
    assert r.p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue) and r.method == "welch"
    assert t_test(a[::-1], b[1:] + b[:1]).p_value == pytest.approx(r.p_value)  # seed order does not matter
    one = t_test(a, [0.75])  # one seed on a side: pooled variance, df = 3 + 1 - 2
    assert one.p_value == pytest.approx(stats.ttest_ind(a, [0.75], equal_var=True).pvalue) and one.df == 2
    half = stats.t.ppf(0.975, r.df) * math.sqrt(np.var(a, ddof=1) / 3 + np.var(b, ddof=1) / 4)
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (np.mean(a) - np.mean(b) - half, np.mean(a) - np.mean(b) + half)
    )
    assert t_test(a, a).p_value == 1.0
    assert math.isnan(t_test([0.5, 0.5], [0.4, 0.4]).p_value)  # no spread at all: untestable, not p = 0
    # one seed a side and no item part (a study's 1-seed floors): untestable, not an error that stops the
    # analysis
    one_each = t_test([0.5], [0.4])
    assert math.isnan(one_each.p_value) and one_each.difference == pytest.approx(0.1)


def test_item_part_adds_to_the_standard_error_not_to_the_df():
    r0 = t_test([0.80, 0.83, 0.81], [0.78, 0.80, 0.80])
    r1 = t_test([0.80, 0.83, 0.81], [0.78, 0.80, 0.80], item_var=1e-4, item_df=5000)
    assert r1.df == r0.df and r1.se == pytest.approx(math.hypot(r0.se, 1e-2)) and r1.p_value > r0.p_value
    only_items = t_test([0.9], [0.8], item_var=1e-4, item_df=300)  # a deterministic task: the items' df
    assert only_items.method == "items" and only_items.df == 300
    assert only_items.p_value == pytest.approx(2 * stats.t.sf(0.1 / 1e-2, 300))


def _bootstrap_variance(diff_by_cluster, n_by_cluster, reps, rng):
    """Brute force: resample clusters, variance of sum(diff) / sum(n)."""
    k = len(n_by_cluster)
    idx = rng.integers(0, k, size=(reps, k))
    return float(np.var(diff_by_cluster[idx].sum(1) / n_by_cluster[idx].sum(1)))


def test_item_variance_is_the_cluster_bootstrap_variance_without_the_seed_by_item_share():
    rng = np.random.default_rng(0)
    n_sent, per = 300, 6
    clusters = np.repeat(np.arange(n_sent), per)
    hard = rng.random(n_sent * per)
    a_row, b_row = hard < 0.8, hard < 0.7  # encoder by item: a right on items b misses
    a, b = np.stack([a_row] * 3), np.stack([b_row] * 3)  # identical seeds: no seed-by-item noise
    v, df = item_variance(a, b, clusters)
    d_k = np.bincount(clusters, a_row.astype(float) - b_row)
    ref = _bootstrap_variance(d_k, np.bincount(clusters).astype(float), 20000, rng)
    assert v == pytest.approx(ref, rel=0.05) and 100 < df <= n_sent - 1  # 0/1 terms: fewer df than clusters
    # no encoder-by-item part, independent seed-by-item noise only: the estimate is ~0 (in the seed spread)
    noise = [
        item_variance(rng.random((3, 1800)) < 0.7, rng.random((3, 1800)) < 0.7, clusters)[0]
        for _ in range(50)
    ]
    naive = 2 * 0.7 * 0.3 / 3 / 1800  # what the seed-averaged difference's item variance would count
    assert np.mean(noise) < 0.2 * naive


def test_cell_test_is_t_test_on_the_seed_scores_and_item_part():
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 400)) < 0.8, rng.random((3, 400)) < 0.75
    v, df = item_variance(a, b)
    assert cell_test(a, b) == t_test(a.mean(1), b.mean(1), v, df)


def test_holm_and_bh_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04
    # -> running max 0.02, 0.03, 0.06, 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: p * 4 / rank = 0.02, 0.02, 0.04, 0.04 -> running min from the top, same
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    with_nan = holm([0.2, np.nan, 0.01])
    assert math.isnan(with_nan[1]) and with_nan[[0, 2]] == pytest.approx([0.2, 0.02])
    import pandas as pd

    t = pd.DataFrame(
        {"a": ["x", "x", "y"], "b": "z", "task": "pos", "metric": "acc", "p": [0.01, 0.04, 0.04]}
    )
    got = adjust(t)
    assert got["p_holm"].tolist() == pytest.approx([0.02, 0.04, 0.04]) and got["family_size"].tolist() == [
        2,
        2,
        1,
    ]


def test_power_by_hand_and_by_simulation():
    # no seed spread: the normal test, MDE = (z_0.975 + z_0.8) se (the wrong-sign tail is ~1e-7)
    assert minimal_difference(0.0, 3, 0.01) == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.01, rel=1e-4
    )
    assert power(0.0, 0.01, 3) <= 0.05
    sd = 0.01
    mde = minimal_difference(sd, 3)
    rng = np.random.default_rng(2)
    hits = np.mean([t_test(rng.normal(mde, sd, 3), rng.normal(0, sd, 3)).p_value < 0.05 for _ in range(3000)])
    assert hits == pytest.approx(0.8, abs=3 * math.sqrt(0.8 * 0.2 / 3000))
    assert seeds_needed(mde, sd) == 3 and seeds_needed(mde / 2, sd) > 3
    assert math.isinf(seeds_needed(0.005, sd, item_se=0.01))  # the test set alone is too small
