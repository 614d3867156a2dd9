"""Batches of cached layer activations for a head, built as tensors once (no encoder runs while heads train).

    batches = TokenBatches(acts, indices, targets, positions=None, batch_size=32, shuffle=True, seed=1)
    for batch in batches:       # a new batch order every epoch (seeded), the same batches
        batch["layers"]   # (B, T, L, D) float32: every layer of every unit
        batch["mask"]     # (B, T) bool
        batch["target"]   # (B, T) int64, IGNORE (-100) at padding and at units without a label
        batch["index"]    # (B,) the sentence index in the cached file

Sentences are sorted by length and packed into batches of ``batch_size`` sentences or of about
``batch_tokens`` units (length bucketing, as AllenNLP's bucket iterator and Dozat & Manning's
parser do: little padding); every batch is gathered from the float16 memory map with one
vectorised index and converted to float32 once, when the batches are built; an epoch only
permutes their order. ``positions[k]`` (optional, per sentence) maps unit j of the head to row
positions[k][j] of the cached sentence: this is how every syntactic word of a multiword token gets
its surface token's vector when the encoder read surface tokens. ``extras`` adds more per-unit
integer fields (e.g. the parser's ``rels``), padded with IGNORE. Sentence pairs (XNLI):
``PairBatches`` fills ``layers_b`` / ``mask_b`` too, and ``target`` is one label per pair.
Memory: the float32 activations of the set (n_units x L x D x 4 bytes) for as long as it is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

IGNORE = -100  # label of padding / unlabelled units (torch cross_entropy's default ignore_index)


def pack(lengths: Sequence[int], batch_size: int | None = None, batch_tokens: int | None = None) -> list[np.ndarray]:
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


def gather(acts, sentences: Sequence[int], positions: Sequence[np.ndarray] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ``(B, T, L, D)`` float32 layers and ``(B, T)`` mask of the cached ``sentences``:
    one fancy index into the float16 memory map, one float32 conversion."""
    offsets = acts.offsets
    if positions is None:
        rows = [np.arange(offsets[i], offsets[i + 1]) for i in sentences]
    else:
        rows = [offsets[i] + np.asarray(p, dtype=np.int64) for i, p in zip(sentences, positions)]
    lens = np.array([len(r) for r in rows], dtype=np.int64)
    B, T = len(rows), int(lens.max(initial=0))
    mask = np.arange(T)[None, :] < lens[:, None]
    flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    layers = np.zeros((B, T, *acts.acts.shape[1:]), dtype=np.float32)
    layers[mask] = acts.acts[flat]  # float16 -> float32 in one assignment
    return torch.from_numpy(layers), torch.from_numpy(mask)


def pad_ints(values: Sequence[np.ndarray], mask: torch.Tensor, fill: int = IGNORE) -> torch.Tensor:
    """``(B, T)`` int64 of per-unit values, ``fill`` at padding."""
    out = np.full(tuple(mask.shape), fill, dtype=np.int64)
    if len(values):
        out[mask.numpy()] = np.concatenate([np.asarray(v, dtype=np.int64) for v in values])
    return torch.from_numpy(out)


class Batches:
    """A fixed list of batch dicts, iterated in a seeded new order every epoch when ``shuffle``
    (a plain iterable with a length: Lightning and a hand-written loop read it alike)."""

    def __init__(self, batches: list[dict], shuffle: bool, seed: int = 0):
        self.batches, self.shuffle = batches, shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        order = self.rng.permutation(len(self.batches)) if self.shuffle else range(len(self.batches))
        return iter([self.batches[k] for k in order])

    def n_units(self) -> int:
        return sum(int(b["mask"].sum()) + int(b["mask_b"].sum() if "mask_b" in b else 0) for b in self.batches)


class TokenBatches(Batches):
    def __init__(self, acts, indices: Sequence[int], targets: Sequence[np.ndarray], positions: Sequence[np.ndarray] | None = None,
                 *, batch_size: int | None = None, batch_tokens: int | None = None, shuffle: bool = False, seed: int = 0,
                 extras: Mapping[str, Sequence[np.ndarray]] | None = None):
        indices = list(indices)
        if len(indices) != len(targets) or (positions is not None and len(positions) != len(indices)):
            raise ValueError("TokenBatches: indices, targets and positions must have one entry per sentence")
        extras = dict(extras or {})
        n_units = [len(p) for p in positions] if positions is not None else \
            [int(acts.offsets[i + 1] - acts.offsets[i]) for i in indices]
        for k, (i, t) in enumerate(zip(indices, targets)):
            if len(t) != n_units[k]:
                raise ValueError(f"sentence {i}: {len(t)} labels for {n_units[k]} units")
        batches = []
        for part in pack(n_units, batch_size, batch_tokens):
            sents = [indices[k] for k in part]
            layers, mask = gather(acts, sents, None if positions is None else [positions[k] for k in part])
            batch = {"layers": layers, "mask": mask, "target": pad_ints([targets[k] for k in part], mask),
                     "index": torch.tensor(sents, dtype=torch.long)}
            batch.update({name: pad_ints([vals[k] for k in part], mask) for name, vals in extras.items()})
            batches.append(batch)
        super().__init__(batches, shuffle, seed)


class PairBatches(Batches):
    """Premise (``layers``, ``mask``) and hypothesis (``layers_b``, ``mask_b``) activations of the same
    pairs, ``target`` (B,) their labels, ``index`` (B,) the pair index; bucketed by the longer side."""

    def __init__(self, acts_a, acts_b, labels: Sequence[int], *, batch_size: int, shuffle: bool = False, seed: int = 0):
        if not len(acts_a) == len(acts_b) == len(labels):
            raise ValueError(f"{len(acts_a)} premises, {len(acts_b)} hypotheses, {len(labels)} labels")
        self.labels = list(labels)
        longer = np.maximum(np.diff(acts_a.offsets), np.diff(acts_b.offsets))
        batches = []
        for part in pack(longer, batch_size=batch_size):
            layers, mask = gather(acts_a, part)
            layers_b, mask_b = gather(acts_b, part)
            batches.append({"layers": layers, "mask": mask, "layers_b": layers_b, "mask_b": mask_b,
                            "target": torch.tensor([self.labels[k] for k in part], dtype=torch.long),
                            "index": torch.from_numpy(part.astype(np.int64))})
        super().__init__(batches, shuffle, seed)
