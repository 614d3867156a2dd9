"""Stateful LM windows: row continuity, disjoint DDP streams, resumable position."""

import numpy as np
import pytest

from melmo.data.prepared import BOS_ID, EOS_ID, PreparedCorpus
from melmo.data.stream import LMStream


@pytest.fixture(scope="module")
def corpus(ud_corpus):
    return PreparedCorpus(ud_corpus)


def _epoch0_positions(stream: LMStream) -> set:
    seen = set()
    while (stream.epoch == 0).any():
        pos = stream.next_batch(with_positions=True)["positions"].reshape(-1, 4)
        seen |= {tuple(p[1:]) for p in pos if p[0] == 0}
    return seen


def test_two_ranks_read_disjoint_windows_covering_the_stream(corpus):
    ranks = [LMStream(corpus, 3, 7, seed=5, rank=r, world_size=2) for r in range(2)]
    a, b = (_epoch0_positions(s) for s in ranks)
    assert a and b and not (a & b)
    everything = {(k, i, off) for k, sh in enumerate(corpus.shards) for i in range(len(sh))
                  for off in range(int(sh.lengths[i]) + 1)}
    assert a | b == everything


def test_rows_continue_across_batches_and_targets_are_next_tokens(corpus):
    s = LMStream(corpus, 4, 5, seed=1)
    batches = [s.next_batch() for _ in range(30)]
    ids = np.concatenate([b["ids"] for b in batches], axis=1)
    tgt = np.concatenate([b["targets"] for b in batches], axis=1)
    for row_ids, row_tgt in zip(ids, tgt):
        # each row is <S> w1..wn <S> v1..: the target of position t is the input at t+1, </S> before each <S>
        nxt = np.where(row_ids[1:] == BOS_ID, EOS_ID, corpus.targets(row_ids[1:]))
        assert (row_tgt[:-1] == nxt).all()
        assert row_ids[0] == BOS_ID and (row_ids != EOS_ID).all()


def test_backward_stream_reverses_sentences(corpus):
    f = LMStream(corpus, 2, 400, seed=1, direction="fwd").next_batch()
    b = LMStream(corpus, 2, 400, seed=1, direction="bwd").next_batch()
    assert b["ids"][0, 0] == EOS_ID and (b["ids"] != BOS_ID).all()
    def sentences(row, start):
        cuts = np.flatnonzero(row == start)
        return {tuple(row[c + 1 : d]) for c, d in zip(cuts[:-1], cuts[1:])}
    fwd = {s for r in f["ids"] for s in sentences(r, BOS_ID)}
    bwd = {s[::-1] for r in b["ids"] for s in sentences(r, EOS_ID)}
    assert fwd and bwd and fwd != bwd  # independent orders
    full = {tuple(sh.sentence(i)) for sh in corpus.shards for i in range(len(sh))}
    assert bwd <= full and fwd <= full


def test_position_saves_and_restores(corpus):
    s = LMStream(corpus, 3, 11, seed=2, rank=1, world_size=2)
    for _ in range(17):
        s.next_batch()
    state = s.state_dict()
    expected = [s.next_batch()["ids"] for _ in range(5)]
    t = LMStream(corpus, 3, 11, seed=2, rank=1, world_size=2)
    t.load_state_dict(state)
    assert all((t.next_batch()["ids"] == e).all() for e in expected)
    with pytest.raises(ValueError, match="cannot resume"):
        LMStream(corpus, 4, 11, seed=2, rank=1, world_size=2).load_state_dict(state)


def test_seed_changes_order(corpus):
    a = LMStream(corpus, 3, 9, seed=1).next_batch()["ids"]
    b = LMStream(corpus, 3, 9, seed=2).next_batch()["ids"]
    assert (a != b).any()


