"""Length-bucketed batches of cached activations: every sentence once, its rows (through ``positions``)
converted to float32, padding masked and IGNORE-labelled; seeded batch order, fixed batches."""

import numpy as np
import pytest
import torch

from melmo.tasks.common.features import IGNORE, PairBatches, TokenBatches, pack


class FakeActs:
    """What the batches read of a CachedActivations: ``offsets`` and the float16 ``acts`` (n_tokens, L, D)."""

    def __init__(self, lengths, seed=0):
        self.offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.acts = np.random.default_rng(seed).normal(size=(int(self.offsets[-1]), 3, 4)).astype(np.float16)

    def __len__(self):
        return len(self.offsets) - 1


LENGTHS = [5, 30, 12, 7, 40, 3, 22, 1, 9]


def test_pack_by_length_keeps_every_item_and_respects_the_limits():
    by_tokens = pack(LENGTHS, batch_tokens=45)
    assert sorted(i for b in by_tokens for i in b.tolist()) == list(range(len(LENGTHS)))
    assert all(sum(LENGTHS[i] for i in b) <= 45 or len(b) == 1 for b in by_tokens)
    by_size = pack(LENGTHS, batch_size=4)
    assert [len(b) for b in by_size] == [4, 4, 1]
    flat = [LENGTHS[i] for b in by_size for i in b]
    assert flat == sorted(LENGTHS)  # buckets of similar length
    with pytest.raises(ValueError):
        pack(LENGTHS)


def test_token_batches_hold_each_sentence_rows_as_float32_with_masked_padding():
    acts = FakeActs(LENGTHS)
    indices = [8, 0, 3, 6, 2]  # a subset, out of order
    positions = {8: np.arange(9), 0: np.array([0, 0, 1, 2, 4, 4]), 3: np.arange(7),
                 6: np.arange(22)[::-1].copy(), 2: np.arange(12)}
    targets = [np.arange(len(positions[i])) % 5 for i in indices]
    batches = TokenBatches(acts, indices, targets, [positions[i] for i in indices], batch_size=2,
                           extras={"rels": targets})
    seen = []
    for b in batches:
        for k, i in enumerate(b["index"].tolist()):
            seen.append(i)
            n = len(positions[i])
            rows = acts.acts[acts.offsets[i] + positions[i]].astype(np.float32)  # brute force, per sentence
            assert b["layers"].dtype == torch.float32
            np.testing.assert_array_equal(b["layers"][k, :n].numpy(), rows)
            assert (b["layers"][k, n:] == 0).all() and b["mask"][k, :n].all() and not b["mask"][k, n:].any()
            want = targets[indices.index(i)]
            assert b["target"][k, :n].tolist() == want.tolist() and (b["target"][k, n:] == IGNORE).all()
            assert b["rels"][k, :n].tolist() == want.tolist() and (b["rels"][k, n:] == IGNORE).all()
    assert sorted(seen) == sorted(indices)
    with pytest.raises(ValueError, match="sentence 8: 2 labels for 9 units"):
        TokenBatches(acts, [8], [np.zeros(2)], [positions[8]], batch_size=2)


def test_token_packed_batches_are_fixed_and_reordered_per_epoch_and_seed():
    acts = FakeActs(LENGTHS)
    idx = list(range(len(LENGTHS)))
    targets = [np.zeros(n, dtype=np.int64) for n in LENGTHS]

    def orders(seed, epochs=4):
        tb = TokenBatches(acts, idx, targets, batch_tokens=30, shuffle=True, seed=seed)
        return [[tuple(b["index"].tolist()) for b in tb] for _ in range(epochs)]

    a, b = orders(1), orders(1)
    assert a == b  # seeded
    assert len({tuple(e) for e in a}) > 1  # a new order across epochs
    assert all(sorted(e) == sorted(a[0]) for e in a + orders(2))  # always the same batches
    plain = TokenBatches(acts, idx, targets, batch_size=2)
    assert [tuple(x["index"].tolist()) for x in plain] == [tuple(idx[k : k + 2])
                                                           for k in range(0, len(idx), 2)]


def test_sentence_batches_come_in_the_order_a_seeded_dataloader_draws():
    """batch_size batches = DataLoader(shuffle=True, generator=manual_seed(seed)) batches, epoch after epoch,
    so a seeded head sees the batches it saw before the tasks moved off the DataLoader."""
    from torch.utils.data import DataLoader

    acts = FakeActs(LENGTHS)
    idx = [8, 0, 3, 6, 2, 1, 5]
    targets = [np.zeros(LENGTHS[i], dtype=np.int64) for i in idx]
    ours = TokenBatches(acts, idx, targets, batch_size=3, shuffle=True, seed=7)
    loader = DataLoader(idx, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(7))
    for _ in range(3):
        assert [b["index"].tolist() for b in ours] == [b.tolist() for b in loader]
    ours.reseed(7)
    loader.generator.manual_seed(7)
    assert [b["index"].tolist() for b in ours] == [b.tolist() for b in loader]


def test_pair_batches_align_premise_and_hypothesis():
    a, b = FakeActs([3, 5, 2, 6], 0), FakeActs([4, 1, 7, 2], 1)
    labels = [0, 2, 1, 1]
    got = {}
    for batch in PairBatches(a, b, labels, batch_size=3):
        for k, i in enumerate(batch["index"].tolist()):
            na, nb = int(batch["mask"][k].sum()), int(batch["mask_b"][k].sum())
            np.testing.assert_array_equal(batch["layers"][k, :na].numpy(),
                                          a.acts[a.offsets[i]:a.offsets[i + 1]].astype(np.float32))
            np.testing.assert_array_equal(batch["layers_b"][k, :nb].numpy(),
                                          b.acts[b.offsets[i]:b.offsets[i + 1]].astype(np.float32))
            got[i] = int(batch["target"][k])
    assert got == dict(enumerate(labels))
