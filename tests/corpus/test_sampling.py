"""Properties of the sampling rules (melmo.corpus.sampling.target_sizes, the paper's §3.2 rule)."""

import math

import pytest

from melmo.corpus.sampling import (
    AlphaSampling,
    MonoSampling,
    SamplingError,
    UniMaxSampling,
    mono_sizes,
    target_sizes,
    unimax_sizes,
)

# Table 3 of the paper, million tokens: hi is the smallest (91.74M); en, ru, ja among the largest.
PAPER_M04 = {"hi": 91.74, "en": 585.52, "eu": 113.42, "ja": 460.53}
COUNTS = {"en": 2_300_000, "ru": 900_000, "ja": 700_000, "fi": 120_000, "eu": 40_000, "hi": 25_000}


def test_trunc_gives_every_language_the_smallest_size():
    sizes = target_sizes(COUNTS, 0.0)
    assert set(sizes.values()) == {min(COUNTS.values())}


def test_alpha_one_is_identity():
    assert target_sizes(COUNTS, 1.0) == COUNTS


def test_smallest_language_is_kept_whole_and_nobody_exceeds_its_data():
    for alpha in (0.0, 0.1, 0.2, 0.4, 0.7, 1.0):
        sizes = target_sizes(COUNTS, alpha)
        assert sizes["hi"] == COUNTS["hi"]
        assert all(sizes[k] <= COUNTS[k] for k in COUNTS)


def test_sizes_grow_monotonically_with_alpha():
    alphas = [i / 20 for i in range(21)]
    for lang in COUNTS:
        seq = [target_sizes(COUNTS, a)[lang] for a in alphas]
        assert seq == sorted(seq), lang
    totals = [sum(target_sizes(COUNTS, a).values()) for a in alphas]
    assert totals == sorted(totals) and totals[0] < totals[-1]


def test_formula_and_proportions_match_q_proportional_to_p_alpha():
    sizes = target_sizes(COUNTS, 0.4)
    n_min = min(COUNTS.values())
    for lang, n in COUNTS.items():
        assert sizes[lang] == round(n_min * (n / n_min) ** 0.4)
    # the share of language i equals p_i^alpha / sum_j p_j^alpha (up to rounding)
    total = sum(COUNTS.values())
    z = sum((n / total) ** 0.4 for n in COUNTS.values())
    for lang, n in COUNTS.items():
        assert math.isclose(sizes[lang] / sum(sizes.values()), (n / total) ** 0.4 / z, rel_tol=1e-4)


def test_paper_table3_is_consistent_with_the_rule():
    # invert M0.4 sizes to original sizes, then M0.2 = n_min * (n/n_min)^0.2 must match Table 3's M0.2 row
    n_min = PAPER_M04["hi"]
    orig = {k: n_min * (v / n_min) ** (1 / 0.4) for k, v in PAPER_M04.items()}
    m02 = target_sizes({k: round(v * 1e6) for k, v in orig.items()}, 0.2)
    paper_m02 = {"hi": 91.74, "en": 231.76, "eu": 102.01, "ja": 205.54}
    for lang, v in paper_m02.items():
        assert abs(m02[lang] / 1e6 - v) < 0.02 * v


@pytest.mark.parametrize("alpha", [-0.1, 1.01, float("nan"), "0.4", None, True])
def test_alpha_out_of_range_is_a_clear_error(alpha):
    with pytest.raises(SamplingError, match="alpha"):
        target_sizes(COUNTS, alpha)


@pytest.mark.parametrize(
    "counts, message",
    [({}, "empty"), ({"xx": 5}, "unknown language"), ({"en": 0}, "empty"),
     ([("en", 5), ("EN", 6)], "duplicate"), ({"en": 2.5}, "integer"), ({"en": -3}, "empty")],
)
def test_bad_counts_are_clear_errors(counts, message):
    with pytest.raises(ValueError, match=message):
        target_sizes(counts, 0.4)


def test_mono_keeps_one_language_whole():
    assert mono_sizes(COUNTS, "fi") == {"fi": COUNTS["fi"]}
    assert MonoSampling("FI").sizes(COUNTS) == {"fi": COUNTS["fi"]}
    with pytest.raises(SamplingError, match="not among"):
        mono_sizes({"en": 5}, "fi")


def test_unimax_respects_budget_and_epoch_cap():
    for budget in (10_000, 150_000, 600_000, 3_000_000, 20_000_000):
        for epochs in (1, 2.5, 4):
            sizes = unimax_sizes(COUNTS, budget, epochs)
            assert sum(sizes.values()) <= budget
            assert all(sizes[k] <= epochs * COUNTS[k] for k in COUNTS)
            # uniform where possible: every language below the cap gets the same share (+-1 from integer
            # division)
            uncapped = [v for k, v in sizes.items() if v < math.floor(epochs * COUNTS[k])]
            assert not uncapped or max(uncapped) - min(uncapped) <= 1
            # nothing is wasted unless every language is at its cap
            capped_all = all(sizes[k] == math.floor(epochs * COUNTS[k]) for k in COUNTS)
            assert capped_all or budget - sum(sizes.values()) < len(COUNTS)


def test_unimax_small_budget_is_uniform_and_large_budget_hits_caps():
    small = unimax_sizes(COUNTS, 60_000, 1)
    assert set(small.values()) == {10_000}
    big = unimax_sizes(COUNTS, 10**9, 2)
    assert big == {k: 2 * v for k, v in COUNTS.items()}


def _water_level(caps: dict, budget: int) -> int:
    """The largest integer level L with sum(min(cap, L)) <= budget (bisection; UniMax's uniform share)."""
    lo, hi = 0, budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if sum(min(c, mid) for c in caps.values()) <= budget else (lo, mid - 1)
    return lo


def test_strategy_objects_give_the_sizes_of_their_rule():
    # expected values from the rules themselves, not from the functions the objects wrap
    alpha = AlphaSampling(0.2).sizes(COUNTS)
    assert alpha["hi"] == COUNTS["hi"]  # the smallest language is kept whole
    for k, n in COUNTS.items():  # n_i' = n_min * (n_i / n_min) ** alpha, to the nearest token
        assert abs(alpha[k] - COUNTS["hi"] * (n / COUNTS["hi"]) ** 0.2) <= 0.5
    assert AlphaSampling(0.2, "alpha02").describe() == {"strategy": "alpha", "alpha": 0.2, "name": "alpha02"}
    assert (MonoSampling("FI").sizes(COUNTS) == {"fi": 120_000}
            and MonoSampling("fi").languages(list(COUNTS)) == ["fi"])

    assert UniMaxSampling(max_epochs=1, budget_tokens=60_000).sizes(COUNTS) == {k: 10_000 for k in COUNTS}
    frac = UniMaxSampling(max_epochs=1, budget_fraction=0.1)
    budget = round(0.1 * sum(COUNTS.values()))  # 408,500: eu and hi are capped, the rest share 343,500 evenly
    level = _water_level(COUNTS, budget)
    assert level == 85_875
    assert frac.sizes(COUNTS) == {k: min(n, level) for k, n in COUNTS.items()}
    twice = UniMaxSampling(max_epochs=2, budget_tokens=400_000)  # caps 2 * n: hi may be repeated
    level = _water_level({k: 2 * n for k, n in COUNTS.items()}, 400_000)
    assert twice.sizes(COUNTS) == {k: min(2 * n, level) for k, n in COUNTS.items()}
    with pytest.raises(SamplingError, match="exactly one"):
        UniMaxSampling(budget_tokens=5, budget_fraction=0.5).sizes(COUNTS)
