"""MST decoding: greedy trees kept, cycles repaired, one ROOT child, optimal against brute force and
against ufal.chu_liu_edmonds (GPL-3, a test oracle only; it does not enforce one ROOT child, so the
oracle runs it once per candidate ROOT child with the other ROOT arcs forbidden and keeps the best)."""

import functools
import itertools

import numpy as np
import pytest

from melmo.tasks.parsing.eisner import decode_eisner
from melmo.tasks.parsing.mst import chu_liu_edmonds, decode_mst, is_tree

NEG = -1e9


def score(s, heads):
    return float(sum(s[i, h] for i, h in enumerate(heads)))


def is_single_root_tree(heads):
    n = len(heads)
    if sum(h == 0 for h in heads) != 1 or any(not 0 <= h <= n for h in heads):
        return False
    for start in range(1, n + 1):  # every word reaches ROOT within n steps
        v, steps = start, 0
        while v != 0 and steps <= n:
            v, steps = heads[v - 1], steps + 1
        if v != 0:
            return False
    return True


@functools.cache
def all_single_root_trees(n):
    """Every single-root tree on n words, found by enumerating all (n+1)^n head assignments."""
    return np.array([h for h in itertools.product(range(n + 1), repeat=n) if is_single_root_tree(h)])


def brute_force_best(s):
    n = s.shape[0]
    return float(s[np.arange(n), all_single_root_trees(n)].sum(1).max())


def test_returns_argmax_when_already_a_tree():
    rng = np.random.default_rng(0)
    gold = np.array([2, 0, 2, 3, 2])  # a tree: word 2 is the ROOT child
    s = rng.normal(size=(5, 6))
    s[np.arange(5), gold] += 10.0
    assert (chu_liu_edmonds(s) == gold).all()
    assert (decode_mst(s[None], np.array([5]))[0] == gold).all()


def test_repairs_two_cycle_to_the_optimum():
    # greedy: 1 <- 2 and 2 <- 1 (a 2-cycle); ROOT arcs weaker. Best tree: break the cycle where it costs
    # least.
    s = np.array([[1.0, NEG, 10.0], [2.0, 9.0, NEG]])  # rows: words 1, 2; cols: ROOT, 1, 2
    heads = chu_liu_edmonds(s)
    # options: ROOT->1->2 (1 + 9 = 10) or ROOT->2->1 (2 + 10 = 12)
    assert heads.tolist() == [2, 0]
    assert score(s, heads) == 12.0


def test_one_root_child_even_when_root_arcs_dominate():
    rng = np.random.default_rng(1)
    for n in range(1, 30):
        s = rng.normal(size=(n, n + 1))
        s[:, 0] += 5.0  # greedy attaches every word to ROOT
        heads = chu_liu_edmonds(s)
        assert (heads == 0).sum() == 1 and is_single_root_tree(heads.tolist())


@pytest.mark.parametrize("seed", range(4))
def test_equals_brute_force_best_single_root_tree(seed):
    rng = np.random.default_rng(seed)
    for _ in range(50):
        n = int(rng.integers(1, 7)) if seed < 3 else 6
        s = rng.normal(size=(n, n + 1)) * rng.uniform(0.1, 5.0)
        heads = chu_liu_edmonds(s)
        assert is_single_root_tree(heads.tolist())
        assert score(s, heads) == pytest.approx(brute_force_best(s), abs=1e-9)


def ufal_best_single_root(s):
    ufal = pytest.importorskip("ufal.chu_liu_edmonds")
    n = s.shape[0]
    best = -np.inf
    for r in range(n):
        m = np.full((n + 1, n + 1), np.nan)  # NaN = forbidden arc in ufal's API
        m[1:] = s
        np.fill_diagonal(m, np.nan)
        m[1:, 0] = np.nan
        m[r + 1, 0] = s[r, 0]
        heads, tree = ufal.chu_liu_edmonds(m)
        assert is_single_root_tree(heads[1:])
        best = max(best, tree)
    return best


def test_equals_ufal_chu_liu_edmonds_up_to_60_words():
    rng = np.random.default_rng(2)
    for n in list(range(1, 12)) + [int(x) for x in rng.integers(12, 61, size=25)] + [60]:
        s = rng.normal(size=(n, n + 1)) * rng.uniform(0.1, 10.0)
        heads = chu_liu_edmonds(s)
        assert is_single_root_tree(heads.tolist())
        assert score(s, heads) == pytest.approx(ufal_best_single_root(s), abs=1e-7)


def test_batched_decode_matches_per_sentence_and_zero_pads():
    rng = np.random.default_rng(3)
    lengths = np.array([1, 7, 3, 12, 12, 5])
    t = int(lengths.max())
    s = rng.normal(size=(len(lengths), t, t + 1))
    # junk in padding too
    s[:, :, :] += np.nan_to_num(np.where(rng.random(s.shape) < 0.1, np.inf, 0), posinf=1e6)
    heads = decode_mst(s, lengths)
    assert heads.shape == (len(lengths), t)
    for b, n in enumerate(lengths):
        assert is_single_root_tree(heads[b, :n].tolist())
        assert score(s[b, :n, : n + 1], heads[b, :n]) == pytest.approx(
            score(s[b, :n, : n + 1], chu_liu_edmonds(s[b, :n, : n + 1])))
        assert (heads[b, n:] == 0).all()
    assert is_tree(heads, lengths).all()


def test_nan_is_a_forbidden_arc_in_the_batched_decoder():
    """NaN scores (a forbidden arc, as in ufal's API) may sit where the greedy argmax would look: the
    trees are the best ones without those arcs (brute force over every single-root tree)."""
    rng = np.random.default_rng(4)
    lengths = np.array([5, 4, 6])
    s = rng.normal(size=(3, 6, 7))
    s[0, 2, 3] = s[1, 0, 2] = s[2, 4, 1] = np.nan  # NumPy's argmax picks a NaN before any number
    heads = decode_mst(s, lengths)
    for b, n in enumerate(lengths):
        forbidden = np.where(np.isnan(s[b, :n, : n + 1]), NEG, s[b, :n, : n + 1])
        assert is_single_root_tree(heads[b, :n].tolist())
        assert score(forbidden, heads[b, :n]) == pytest.approx(brute_force_best(forbidden))


def test_no_single_root_tree_is_an_error_not_a_hang():
    """Two words that may only take ROOT: no tree with one ROOT child exists; the decoder says so (it
    looped for ever before). The alarm turns a regression into a failure instead of a hung suite."""
    import signal

    s = np.array([[1.0, -np.inf, -np.inf], [2.0, -np.inf, -np.inf]])
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("decoding did not stop"))
    signal.alarm(10)
    try:
        with pytest.raises(ValueError, match="no tree with exactly one ROOT child"):
            chu_liu_edmonds(s)
        with pytest.raises(ValueError, match="no tree with exactly one ROOT child"):
            decode_mst(s[None], np.array([2]))
    finally:
        signal.alarm(0)


def test_is_tree_flags_cycles_and_extra_roots():
    lengths = np.array([3, 3, 3, 2])
    heads = np.array([[0, 1, 2], [2, 3, 1], [0, 0, 1], [0, 1, 0]])
    assert is_tree(heads, lengths).tolist() == [True, False, False, True]


def test_torch_input_accepted():
    torch = pytest.importorskip("torch")
    s = torch.randn(2, 4, 5)
    heads = decode_mst(s, torch.tensor([4, 2]))
    assert is_tree(heads, np.array([4, 2])).all()


def projective(heads):
    arcs = [tuple(sorted((d, h))) for d, h in enumerate(heads, 1)]
    return not any(a < c < b < d for a, b in arcs for c, d in arcs)


def test_eisner_equals_brute_force_best_projective_tree():
    rng = np.random.default_rng(4)
    for _ in range(12):
        lengths = rng.integers(1, 6, size=3)
        t = int(lengths.max())
        s = rng.normal(size=(3, t, t + 1))
        heads = decode_eisner(s, lengths)
        for b, n in enumerate(lengths):
            h = heads[b, :n].tolist()
            assert is_single_root_tree(h) and projective(h)
            best = max(score(s[b, :n], c) for c in itertools.product(range(n + 1), repeat=n)
                       if is_single_root_tree(c) and projective(c))
            assert score(s[b, :n], h) == pytest.approx(best, abs=1e-9)
            assert (heads[b, n:] == 0).all()
