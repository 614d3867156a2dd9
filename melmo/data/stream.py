"""Stateful truncated-BPTT windows over a prepared corpus, the way bilm-tf reads its data.

Each of the ``batch_size`` rows of every process is its own continuous stream of sentences
packed back to back (bilm-tf bilm/training.py LanguageModel, train): a sentence w1..wn contributes inputs <S>
w1..wn and targets w1..wn </S> (backward: inputs </S> wn..w1, targets wn..w1 <S>); sentences run across batch
boundaries, so every batch is exactly (batch_size, unroll_steps) with no padding and the LSTM
state of row r carries over to row r of the next batch.

Which sentences a row reads: in epoch e the training sentences are put in one global order (the
shards in a seeded order, each shard's sentences in a seeded permutation). With S = world_size x
batch_size streams, stream s = rank x batch_size + row reads global positions s, s + S, s + 2S, ...
So the ranks' streams are disjoint and together cover every sentence once per epoch. The backward
direction uses its own order (bilm-tf reads it as an independent dataset).

The position (epoch, sentence, offset per row) is a small dict: ``state_dict``/``load_state_dict``.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from melmo.corpus.select import stream_key
from melmo.data.prepared import BOS_ID, EOS_ID, PreparedCorpus


class SentenceOrder:
    """Epoch-wise global order of the training sentences, computed on demand (bounded memory: the
    permutations of the last ``cache`` shards read, uint32 -- all rows read the same shard or two)."""

    def __init__(self, shard_sizes: list[int], seed: int, direction: str, cache: int = 8):
        self.sizes = np.asarray(shard_sizes, dtype=np.int64)
        self.total = int(self.sizes.sum())
        self.seed, self.direction = seed, direction
        self._perm: OrderedDict = OrderedDict()
        self._cache = cache

    def _rng(self, *parts) -> np.random.Generator:
        return np.random.default_rng(stream_key(self.seed, self.direction, *parts) % (1 << 63))

    def _shards(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        key = ("shards", epoch)
        if key not in self._perm:
            order = self._rng("shards", epoch).permutation(len(self.sizes))
            starts = np.concatenate([[0], np.cumsum(self.sizes[order])[:-1]])
            self._remember(key, (order, starts))
        return self._perm[key]

    def _remember(self, key, value) -> None:
        self._perm[key] = value
        self._perm.move_to_end(key)
        while len(self._perm) > self._cache:
            self._perm.popitem(last=False)

    def locate(self, epoch: int, position: int) -> tuple[int, int]:
        """(shard, sentence within shard) at global ``position`` of ``epoch``."""
        order, starts = self._shards(epoch)
        j = int(np.searchsorted(starts, position, side="right")) - 1
        shard = int(order[j])
        key = ("perm", epoch, shard)
        if key not in self._perm:
            perm = self._rng("perm", epoch, shard).permutation(int(self.sizes[shard]))
            self._remember(key, perm.astype(np.uint32) if len(perm) < (1 << 32) else perm)  # half the memory
        else:
            self._perm.move_to_end(key)
        return shard, int(self._perm[key][position - int(starts[j])])


class LMStream:
    """``next_batch()`` -> dict of (batch_size, unroll_steps) arrays for one direction."""

    def __init__(self, corpus: PreparedCorpus, batch_size: int, unroll_steps: int, *, seed: int,
                 direction: str = "fwd", rank: int = 0, world_size: int = 1):
        if direction not in ("fwd", "bwd"):
            raise ValueError(f"direction must be 'fwd' or 'bwd', got {direction!r}")
        self.corpus, self.batch_size, self.unroll = corpus, batch_size, unroll_steps
        self.rank, self.world_size, self.direction, self.seed = rank, world_size, direction, seed
        self.order = SentenceOrder([len(s) for s in corpus.shards], seed, direction)
        self.n_streams = world_size * batch_size
        if self.order.total < self.n_streams:
            raise ValueError(
                f"{corpus.directory}: {self.order.total} training sentences for {self.n_streams} streams "
                f"(batch_size x world_size); lower the batch size"
            )
        self.epoch = np.zeros(batch_size, np.int64)
        self.k = np.zeros(batch_size, np.int64)
        self.off = np.zeros(batch_size, np.int64)

    def _segment(self, row: int) -> tuple[np.ndarray, np.ndarray, int, tuple[int, int]]:
        """Inputs, targets and language of the sentence row ``row`` is reading."""
        s = self.rank * self.batch_size + row
        pos = s + int(self.k[row]) * self.n_streams
        shard, i = self.order.locate(int(self.epoch[row]), pos)
        sh = self.corpus.shards[shard]
        toks = sh.sentence(i).astype(np.int64)
        if self.direction == "fwd":
            inputs = np.concatenate([[BOS_ID], toks])
            targets = np.concatenate([toks, [EOS_ID]])
        else:
            rev = toks[::-1]
            inputs = np.concatenate([[EOS_ID], rev])
            targets = np.concatenate([rev, [BOS_ID]])
        return inputs, targets, sh.lang(i), (shard, i)

    def _advance_sentence(self, row: int) -> None:
        self.k[row] += 1
        self.off[row] = 0
        s = self.rank * self.batch_size + row
        if s + int(self.k[row]) * self.n_streams >= self.order.total:
            self.epoch[row] += 1
            self.k[row] = 0

    def next_batch(self, with_positions: bool = False) -> dict:
        B, U = self.batch_size, self.unroll
        ids = np.empty((B, U), np.int64)
        tgt = np.empty((B, U), np.int64)
        lang = np.empty((B, U), np.int64)
        where = np.empty((B, U, 4), np.int64) if with_positions else None  # (epoch, shard, sentence, offset)
        for r in range(B):
            filled = 0
            while filled < U:
                inputs, targets, lg, (shard, i) = self._segment(r)
                start = int(self.off[r])
                take = min(U - filled, len(inputs) - start)
                ids[r, filled : filled + take] = inputs[start : start + take]
                tgt[r, filled : filled + take] = targets[start : start + take]
                lang[r, filled : filled + take] = lg
                if where is not None:
                    where[r, filled : filled + take, :3] = (int(self.epoch[r]), shard, i)
                    where[r, filled : filled + take, 3] = np.arange(start, start + take)
                filled += take
                self.off[r] = start + take
                if self.off[r] == len(inputs):
                    self._advance_sentence(r)
        out = {"ids": ids, "targets": self.corpus.targets(tgt), "lang": lang}
        if where is not None:
            out["positions"] = where
        return out

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch.tolist(), "k": self.k.tolist(), "off": self.off.tolist(),
            "rank": self.rank, "world_size": self.world_size, "seed": self.seed, "direction": self.direction,
        }

    def load_state_dict(self, state: dict) -> None:
        mine = (self.batch_size, self.rank, self.world_size, self.seed, self.direction)
        theirs = (len(state["k"]), state["rank"], state["world_size"], state["seed"], state["direction"])
        if mine != theirs:
            raise ValueError(
                "cannot resume the data stream: saved (batch_size, rank, world_size, seed, direction) = "
                f"{theirs}, now {mine}"
            )
        self.epoch = np.asarray(state["epoch"], np.int64)
        self.k = np.asarray(state["k"], np.int64)
        self.off = np.asarray(state["off"], np.int64)
