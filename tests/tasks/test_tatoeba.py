"""Tatoeba retrieval: identical sides 100 %, permutation invariance with gold, one-sided permutation hurts."""

import numpy as np
import pytest

from melmo.tasks.tatoeba import (
    every_layer_accuracy,
    pooled_layers,
    retrieval_accuracy,
    sentence_vectors,
)


def _unit(rng, n, d):
    v = rng.standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _brute_force_acc(q, x, gold):
    """Independent reference: cosine from scratch, loop over queries."""
    hits = 0
    for i in range(len(q)):
        cos = [float(np.dot(q[i], x[j]) / (np.linalg.norm(q[i]) * np.linalg.norm(x[j])))
               for j in range(len(x))]
        hits += int(np.argmax(cos) == gold[i])
    return hits / len(q)


def test_identical_embeddings_score_100():
    v = _unit(np.random.default_rng(0), 50, 8)
    assert retrieval_accuracy(v, v, np.arange(50))[0] == 1.0


def test_permutation_with_gold_unchanged_one_side_lowers():
    rng = np.random.default_rng(1)
    en = _unit(rng, 200, 16)
    xx = en + 0.35 * rng.standard_normal(en.shape)  # noisy translations: some retrieval errors
    xx /= np.linalg.norm(xx, axis=1, keepdims=True)
    gold = np.arange(200)
    acc, _ = retrieval_accuracy(en, xx, gold)
    assert acc == pytest.approx(_brute_force_acc(en, xx, gold)) and 0.3 < acc < 1.0
    perm = rng.permutation(200)
    # the other side's lines permuted, the gold alignment permuted with them: same score
    inv = np.argsort(perm)
    assert retrieval_accuracy(en, xx[perm], inv[gold])[0] == pytest.approx(acc)
    # permuting one side alone (gold still the line index) lowers it
    assert retrieval_accuracy(en, xx[perm], gold)[0] < acc - 0.3


def test_sentence_vectors_mean_pool_and_normalise():
    class Acts:
        def __init__(self, s):
            self.s, self.meta = s, {"dim": 2}

        def __len__(self):
            return len(self.s)

        def sentence(self, i):
            return self.s[i]

    # (n=2 tokens, L=2, D=2)
    a = np.array([[[1.0, 0.0], [3.0, 0.0]], [[1.0, 2.0], [3.0, 2.0]]], dtype=np.float16)
    acts = Acts([a, np.zeros((0, 2, 2), np.float16)])
    v0 = sentence_vectors(acts, 0)  # layer 0 mean: (1, 1) -> normalised
    np.testing.assert_allclose(v0[0], np.array([1, 1]) / np.sqrt(2))
    np.testing.assert_array_equal(v0[1], [0, 0])
    avg = sentence_vectors(acts, "average")  # layers averaged: mean over tokens of (2, 0), (2, 2) = (2, 1)
    np.testing.assert_allclose(avg[0], np.array([2, 1]) / np.sqrt(5))


class _Acts:
    def __init__(self, s):
        self.s, self.meta = s, {"dim": s[0].shape[2]}

    def __len__(self):
        return len(self.s)

    def sentence(self, i):
        return self.s[i]


def test_every_layer_from_one_encoding_matches_each_layer_alone():
    rng = np.random.default_rng(4)
    en = [rng.standard_normal((int(rng.integers(1, 6)), 3, 5)) for _ in range(40)]
    xx = [e + 1.2 * rng.standard_normal(e.shape) for e in en]  # noisy translations of every layer
    gold = np.arange(40)
    got = every_layer_accuracy(pooled_layers(_Acts(en)), pooled_layers(_Acts(xx)), gold)
    assert set(got) == {"acc_layer0", "acc_layer1", "acc_layer2", "acc_average"}
    for layer in (0, 1, 2, "average"):
        # brute force: pool each sentence of the one layer (or the layer mean) by hand, cosine from scratch
        def vec(s, layer=layer):
            return (s.mean(1) if layer == "average" else s[:, layer]).mean(0)

        ref = _brute_force_acc([vec(s) for s in en], [vec(s) for s in xx], gold)
        name = "acc_average" if layer == "average" else f"acc_layer{layer}"
        assert got[name] == pytest.approx(ref), layer
        assert got[name] == retrieval_accuracy(sentence_vectors(_Acts(en), layer),
                                               sentence_vectors(_Acts(xx), layer), gold)[0]
    assert len(set(got.values())) > 1  # the layers differ here, so a mixed-up layer would show
