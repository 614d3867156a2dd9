"""Paired bootstrap over items (and sentences) and the paired test over seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from melmo.analysis import ResultsError, compare_predictions, paired_bootstrap, paired_seed_test
from melmo.results.predictions import predictions_path, write_predictions


def _two_encoders(n=400, p_a=0.85, p_b=0.70, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random(n) < p_a, rng.random(n) < p_b


def test_identical_predictions_p_is_one():
    a, _ = _two_encoders()
    r = paired_bootstrap(a, a.copy(), n_resamples=2000, seed=3)
    assert r.difference == 0 and r.p_value == 1.0
    r = paired_bootstrap(a, a.copy(), n_resamples=2000, seed=3, clusters=np.arange(a.size) // 10)
    assert r.p_value == 1.0


def test_clearly_better_encoder_small_p_and_reproducible():
    a, b = _two_encoders()
    r1 = paired_bootstrap(a, b, n_resamples=5000, seed=7)
    r2 = paired_bootstrap(a, b, n_resamples=5000, seed=7)
    assert r1 == r2  # seeded: same numbers
    assert r1.difference == pytest.approx(a.mean() - b.mean())
    assert r1.p_value < 0.001 and r1.ci_low > 0
    r3 = paired_bootstrap(a, b, n_resamples=5000, seed=8)
    assert r3.ci_low != r1.ci_low  # the seed is used


def test_p_value_agrees_with_the_normal_approximation():
    # Independent reference: for a moderate difference the bootstrap p is close to the paired z-test's.
    rng = np.random.default_rng(0)
    n = 600
    b = rng.random(n) < 0.6
    a = b.copy()
    flip = rng.choice(n, 60, replace=False)
    a[flip] = rng.random(60) < 0.75  # a differs from b on 60 items only
    d = a.astype(float) - b.astype(float)
    z = d.mean() / (d.std(ddof=0) / math.sqrt(n))
    p_ref = 2 * stats.norm.sf(abs(z))
    r = paired_bootstrap(a, b, n_resamples=20000, seed=0)
    assert 0.005 < p_ref < 0.3
    assert r.p_value == pytest.approx(p_ref, rel=0.3)
    lo, hi = d.mean() - 1.96 * d.std(ddof=0) / math.sqrt(n), d.mean() + 1.96 * d.std(ddof=0) / math.sqrt(n)
    assert r.ci_low == pytest.approx(lo, abs=0.006) and r.ci_high == pytest.approx(hi, abs=0.006)


def test_clusters_widen_the_interval():
    # Whole sentences right or wrong together: item-level resampling understates the spread.
    rng = np.random.default_rng(2)
    n_sent, per = 40, 10
    a = np.repeat(rng.random(n_sent) < 0.6, per)
    b = np.repeat(rng.random(n_sent) < 0.5, per)
    sent = np.repeat(np.arange(n_sent), per)
    items = paired_bootstrap(a, b, n_resamples=4000, seed=0)
    sents = paired_bootstrap(a, b, n_resamples=4000, seed=0, clusters=sent)
    assert sents.n_clusters == n_sent and items.n_clusters == n_sent * per
    assert (sents.ci_high - sents.ci_low) > 2 * (items.ci_high - items.ci_low)
    assert sents.p_value > items.p_value


def test_compare_prediction_files(tmp_path):
    a, b = _two_encoders(n=300)
    items = [f"{i // 5}:{i % 5}" for i in range(300)]
    gold = ["X"] * 300
    pa = write_predictions(predictions_path(tmp_path, "pos", "MONO", "fi", 1), items, gold,
                           ["X" if c else "Y" for c in a])
    pb = write_predictions(predictions_path(tmp_path, "pos", "M0.4", "fi", 1), items[::-1], gold,
                           ["X" if c else "Y" for c in b[::-1]])  # other order: aligned by item
    r = compare_predictions(pa, pb, "acc", n_resamples=3000)
    assert r.difference == pytest.approx(a.mean() - b.mean()) and r.n_clusters == 60 and r.p_value < 0.01
    assert compare_predictions(pa, pa, "acc", n_resamples=500).p_value == 1.0
    # the same predictions written in another item order are paired by item: every resample agrees
    pa_rev = write_predictions(tmp_path / "rev.tsv", items[::-1], gold, ["X" if c else "Y" for c in a[::-1]])
    same = compare_predictions(pa, pa_rev, "acc", n_resamples=500)
    assert same.p_value == 1.0 and same.ci_low == same.ci_high == 0.0
    other_gold = write_predictions(tmp_path / "g.tsv", items, ["Y"] + gold[1:], ["X"] * 300)
    with pytest.raises(ResultsError, match="item '0:0' has gold 'Y'"):
        compare_predictions(pa, other_gold, "acc")


def _seed_results(a_vals, b_vals):
    rows = [{"encoder": e, "task": "pos", "metric": "acc", "language": "fi", "seed": s, "value": v}
            for e, vals in (("A", a_vals), ("B", b_vals)) for s, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_paired_seed_test():
    a, b = [0.80, 0.83, 0.81, 0.84], [0.78, 0.80, 0.80, 0.81]
    r = paired_seed_test(_seed_results(a, b), "pos", "acc", "fi", "A", "B")
    assert r.n_seeds == 4 and r.difference == pytest.approx(np.mean(np.subtract(a, b)))
    assert r.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)
    w = paired_seed_test(_seed_results(a, b), "pos", "acc", "fi", "A", "B", method="wilcoxon")
    assert w.p_value == pytest.approx(stats.wilcoxon(a, b).pvalue)
    same = paired_seed_test(_seed_results(a, a), "pos", "acc", "fi", "A", "B")
    assert same.p_value == 1.0
    shifted = paired_seed_test(_seed_results([0.5, 0.75, 0.25], [0.25, 0.5, 0.0]), "pos", "acc", "fi", "A",
                               "B")
    assert shifted.p_value == 0.0 and shifted.difference == 0.25  # constant difference, no spread
