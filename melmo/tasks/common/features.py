"""Batches of cached layer activations for a head: one float16 -> float32 copy, then a vectorised
gather per batch (no encoder runs while heads train, no per-item Python).

    batches = TokenBatches(acts, indices, targets, positions=None, batch_size=32, shuffle=True, seed=1)
    for batch in batches:       # a new order every epoch (seeded)
        batch["layers"]   # (B, T, L, D) float32: every layer of every unit
        batch["mask"]     # (B, T) bool
        batch["target"]   # (B, T) int64, IGNORE (-100) at padding and at units without a label
        batch["index"]    # (B,) the sentence index in the cached file

The units of the set are copied once from the float16 memory map into one float32 array; a batch
is one fancy index into it (padding reads a zero row). ``batch_size``: batches of that many
sentences, in the order torch's ``DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed))``
draws them, in index order when not shuffled; every epoch consumes the random numbers the
DataLoader did (its generator's, or one global draw without one), so a seeded head trains as it
did when the tasks used DataLoaders, to the bit. ``batch_tokens``: length-bucketed batches of about that many
units (sentences sorted by length and packed once, as Dozat & Manning's parser does), their order
permuted every epoch by ``numpy.random.default_rng(seed)``. ``positions[k]`` (optional, per
sentence) maps unit j of the head to row positions[k][j] of the cached sentence: this is how every
syntactic word of a multiword token gets its surface token's vector when the encoder read surface
tokens. ``extras`` adds more per-unit integer fields (e.g. the parser's ``rels``), padded with
IGNORE. Sentence pairs (XNLI): ``PairBatches`` fills ``layers_b`` / ``mask_b`` too, and ``target``
is one label per pair. Memory: the float32 activations of the set (n_units x L x D x 4 bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

IGNORE = -100  # label of padding / unlabelled units (torch cross_entropy's default ignore_index)


def pack(lengths: Sequence[int], batch_size: int | None = None,
         batch_tokens: int | None = None) -> list[np.ndarray]:
    """Positions (into ``lengths``) of each batch: sorted by length (stable), then cut every
    ``batch_size`` items, or before an item that would bring the batch over ``batch_tokens``."""
    if (batch_size is None) == (batch_tokens is None):
        raise ValueError("give exactly one of batch_size and batch_tokens")
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    if batch_size is not None:
        return [order[k : k + int(batch_size)] for k in range(0, len(order), int(batch_size))]
    batches, cur, n = [], [], 0
    for i in order.tolist():
        if cur and n + lengths[i] > batch_tokens:
            batches.append(np.array(cur))
            cur, n = [], 0
        cur.append(i)
        n += int(lengths[i])
    if cur:
        batches.append(np.array(cur))
    return batches


class UnitStore:
    """The units of a set of cached sentences as one float32 array (plus a zero row for padding)
    and per-unit integer fields; ``batch(items)`` gathers padded ``(B, T, ...)`` tensors at once."""

    def __init__(self, acts, sentences: Sequence[int], positions: Sequence[np.ndarray] | None = None,
                 fields: Mapping[str, Sequence[np.ndarray]] | None = None):
        offsets = acts.offsets
        if positions is None:
            rows = [np.arange(offsets[i], offsets[i + 1]) for i in sentences]
        else:
            rows = [offsets[i] + np.asarray(p, dtype=np.int64) for i, p in zip(sentences, positions)]
        self.lens = np.array([len(r) for r in rows], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lens)[:-1]]).astype(np.int64)
        n = int(self.lens.sum())
        flat = np.zeros((n + 1, *acts.acts.shape[1:]), dtype=np.float32)  # row n: padding
        if n:
            flat[:n] = acts.acts[np.concatenate(rows)]  # the one float16 -> float32 copy
        self.layers = torch.from_numpy(flat)
        self.fields = {}
        for name, values in (fields or {}).items():
            col = np.full(n + 1, IGNORE, dtype=np.int64)
            if n:
                col[:n] = np.concatenate([np.asarray(v, dtype=np.int64) for v in values])
            self.fields[name] = torch.from_numpy(col)
        self.sentences = torch.as_tensor(np.asarray(sentences, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.lens)

    def batch(self, items: np.ndarray, suffix: str = "") -> dict:
        lens = self.lens[items]
        T = int(lens.max(initial=0))
        mask = np.arange(T)[None, :] < lens[:, None]
        idx = torch.from_numpy(np.where(mask, self.starts[items][:, None] + np.arange(T)[None, :],
                                        len(self.layers) - 1))
        out = {f"layers{suffix}": self.layers[idx], f"mask{suffix}": torch.from_numpy(mask)}
        out.update({name + suffix: col[idx] for name, col in self.fields.items()})
        return out


class Batches:
    """Batches over ``n`` items (see the module docstring for the two orders); a plain iterable
    with a length, so Lightning and a hand-written loop read it alike."""

    def __init__(self, n: int, lengths: Sequence[int], batch_size: int | None, batch_tokens: int | None,
                 shuffle: bool, seed: int):
        self.n, self.shuffle = n, shuffle
        self.batch_size = None if batch_size is None else int(batch_size)
        self.packed = pack(lengths, batch_tokens=batch_tokens) if batch_tokens is not None else None
        if self.packed is None and self.batch_size is None:
            raise ValueError("give exactly one of batch_size and batch_tokens")
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.packed) if self.packed is not None else -(-self.n // self.batch_size)

    def parts(self) -> list[np.ndarray]:
        # a DataLoader without a generator draws its per-epoch base seed from the global RNG: so do we
        # (same dropout)
        if self.packed is not None or not self.shuffle:
            torch.empty((), dtype=torch.int64).random_()
        if self.packed is not None:
            order = self.rng.permutation(len(self.packed)) if self.shuffle else range(len(self.packed))
            return [self.packed[k] for k in order]
        if self.shuffle:  # DataLoader: the per-epoch base seed draw, RandomSampler's permutation, and the
            torch.empty((), dtype=torch.int64).random_(generator=self.generator)  # empty tail permutation it
            order = torch.randperm(self.n, generator=self.generator).numpy()  # draws when exhausted
            torch.randperm(self.n, generator=self.generator)
        else:
            order = np.arange(self.n)
        return [order[k : k + self.batch_size] for k in range(0, self.n, self.batch_size)]

    def __iter__(self):  # a generator: nothing is drawn until the first batch is asked for (Lightning
        for part in self.parts():  # calls iter() once on a non-DataLoader iterable just to check it)
            yield self.make(part)

    def make(self, part: np.ndarray) -> dict:
        raise NotImplementedError


class TokenBatches(Batches):
    def __init__(self, acts, indices: Sequence[int], targets: Sequence[np.ndarray],
                 positions: Sequence[np.ndarray] | None = None, *, batch_size: int | None = None,
                 batch_tokens: int | None = None, shuffle: bool = False, seed: int = 0,
                 extras: Mapping[str, Sequence[np.ndarray]] | None = None):
        indices = list(indices)
        if len(indices) != len(targets) or (positions is not None and len(positions) != len(indices)):
            raise ValueError("TokenBatches: indices, targets and positions must have one entry per sentence")
        n_units = [len(p) for p in positions] if positions is not None else \
            [int(acts.offsets[i + 1] - acts.offsets[i]) for i in indices]
        for k, (i, t) in enumerate(zip(indices, targets)):
            if len(t) != n_units[k]:
                raise ValueError(f"sentence {i}: {len(t)} labels for {n_units[k]} units")
        self.store = UnitStore(acts, indices, positions, {"target": targets, **dict(extras or {})})
        super().__init__(len(indices), n_units, batch_size, batch_tokens, shuffle, seed)

    def make(self, part: np.ndarray) -> dict:
        return {**self.store.batch(part), "index": self.store.sentences[part]}

    def n_units(self) -> int:
        return int(self.store.lens.sum())

    def unit_layers(self) -> list[torch.Tensor]:
        """Every unit's layers, ``(N, L, D)`` (what a head's input statistics are taken from)."""
        return [self.store.layers[:-1]]


class PairBatches(Batches):
    """Premise (``layers``, ``mask``) and hypothesis (``layers_b``, ``mask_b``) activations of the same
    pairs, ``target`` (B,) their labels, ``index`` (B,) the pair index."""

    def __init__(self, acts_a, acts_b, labels: Sequence[int], *, batch_size: int, shuffle: bool = False,
                 seed: int = 0):
        if not len(acts_a) == len(acts_b) == len(labels):
            raise ValueError(f"{len(acts_a)} premises, {len(acts_b)} hypotheses, {len(labels)} labels")
        self.labels = list(labels)
        self.a, self.b = UnitStore(acts_a, range(len(labels))), UnitStore(acts_b, range(len(labels)))
        self.targets = torch.as_tensor(self.labels, dtype=torch.long)
        super().__init__(len(labels), [], batch_size, None, shuffle, seed)

    def make(self, part: np.ndarray) -> dict:
        idx = torch.from_numpy(part.astype(np.int64))
        return {**self.a.batch(part), **self.b.batch(part, "_b"), "target": self.targets[idx], "index": idx}

    def n_units(self) -> int:
        return int(self.a.lens.sum() + self.b.lens.sum())

    def unit_layers(self) -> list[torch.Tensor]:
        """Every premise and hypothesis unit's layers, ``(N, L, D)`` each."""
        return [self.a.layers[:-1], self.b.layers[:-1]]
