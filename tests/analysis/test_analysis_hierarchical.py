"""The hierarchical (crossed) bootstrap over head seeds and test items: against a brute-force loop and a
noisy seed. It is no longer the marked test (tests/analysis/test_analysis_marked.py, _calibration.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy import stats

from melmo.analysis import paired_bootstrap
from melmo.analysis.hierarchical import hierarchical_bootstrap


def brute_force(a, b, clusters, n_resamples, seed):
    """The definition, one loop per level: draw a's seeds, b's seeds and the sentences with replacement."""
    rnd = random.Random(seed)
    sents = sorted(set(clusters))
    members = {c: [i for i, x in enumerate(clusters) if x == c] for c in sents}

    def score(rows, seeds, items):
        return sum(sum(rows[s][i] for i in items) / len(items) for s in seeds) / len(seeds)

    everything = list(range(len(clusters)))
    d = score(a, range(len(a)), everything) - score(b, range(len(b)), everything)
    diffs = []
    for _ in range(n_resamples):
        sa = [rnd.randrange(len(a)) for _ in a]
        sb = [rnd.randrange(len(b)) for _ in b]
        items = [i for c in (rnd.choice(sents) for _ in sents) for i in members[c]]
        diffs.append(score(a, sa, items) - score(b, sb, items))
    p = (1 + sum(abs(x - d) >= abs(d) - 1e-12 for x in diffs)) / (1 + n_resamples)
    return d, p, np.quantile(diffs, [0.025, 0.975])


def test_agrees_with_a_brute_force_loop():
    rng = np.random.default_rng(5)
    n_sent, per = 50, 4
    clusters = [str(i // per) for i in range(n_sent * per)]
    b = [(rng.random(n_sent * per) < q).astype(int).tolist() for q in (0.70, 0.74, 0.72)]
    a = [(rng.random(n_sent * per) < q).astype(int).tolist() for q in (0.73, 0.76, 0.71)]
    d_ref, p_ref, ci_ref = brute_force(a, b, clusters, 3000, seed=1)
    r = hierarchical_bootstrap(a, b, clusters=clusters, n_resamples=20000, seed=0)
    assert r.difference == pytest.approx(d_ref, abs=1e-12)
    assert 0.05 < p_ref < 0.95  # a case where the p-value is not trivially 0 or 1
    assert r.p_value == pytest.approx(p_ref, abs=0.04)  # Monte Carlo error of 3000 resamples: ~0.009
    assert r.ci_low == pytest.approx(ci_ref[0], abs=0.01) and r.ci_high == pytest.approx(ci_ref[1], abs=0.01)
    assert (r.n_items, r.n_clusters, r.n_seeds_a, r.n_seeds_b) == (200, 50, 3, 3)
    assert r == hierarchical_bootstrap(a, b, clusters=clusters, n_resamples=20000, seed=0)  # seeded


def _noisy_third_seed(n=3000):
    """Three head seeds per encoder; a == b on seeds 1 and 2, a's seed 3 is 0.04 worse (a bad head)."""
    rng = np.random.default_rng(11)
    b = np.stack([rng.random(n) < q for q in (0.80, 0.81, 0.79)])
    a = b.copy()
    right = np.flatnonzero(a[2])
    a[2, rng.choice(right, int(0.04 * n), replace=False)] = False
    return a, b


def test_one_noisy_seed_is_significant_per_seed_but_not_hierarchically():
    a, b = _noisy_third_seed()
    per_seed = [paired_bootstrap(a[s], b[s], n_resamples=4000, seed=0).p_value for s in range(3)]
    # the item bootstrap of seed 3 alone: "significant"
    assert per_seed[0] == per_seed[1] == 1.0 and per_seed[2] < 0.001
    t = stats.ttest_rel(a.mean(1), b.mean(1)).pvalue
    assert t > 0.3  # the seeds disagree
    h = hierarchical_bootstrap(a, b, n_resamples=4000, seed=0)
    assert h.difference == pytest.approx(-0.04 / 3)
    # the share of resamples without a's seed 3 alone is (2/3)^3 = 0.30, each of them |d* - d| >= |d|
    assert h.p_value > 0.25


def test_identical_and_consistent_differences():
    a, b = _noisy_third_seed(600)
    assert hierarchical_bootstrap(b, b.copy(), n_resamples=500).p_value == 1.0
    better = b.copy()
    for s in range(3):
        better[s, np.flatnonzero(~better[s])[:90]] = True  # +0.15 on every seed
    assert hierarchical_bootstrap(better, b, n_resamples=2000).p_value < 0.001
    with pytest.raises(ValueError, match="same non-empty items"):
        hierarchical_bootstrap(a[:, :10], b[:, :11])
