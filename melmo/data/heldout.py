"""Held-out text as continuous per-language rows, read statefully and scored after a warm-up.

Each language's held-out sentences (a fixed order) form one token stream, packed back to back the
way training reads text (bilm-tf's LMDataset): a sentence w1..wn contributes inputs <S> w1..wn and
targets w1..wn </S>. The backward stream is the exact reverse of the forward one (inputs </S> wn..w1,
targets wn..w1 <S>, sentences in reverse order), so both directions score the same number of targets.

The LM reads a row from a zero LSTM state; the first ``warmup_tokens`` targets of a language's
stream are therefore not scored (they measure the zero state, not the model). A long stream is cut
into rows of ``row_tokens`` scored targets; every row after the first also reads the
``warmup_tokens`` before it, unscored, so each target of the stream past the warm-up is scored
exactly once and always with at least ``warmup_tokens`` of context. ``row_tokens: 0`` keeps one row
per language (exactly a one-stream evaluation).

The rows are a flat list of (language, chunk) items; under DDP each rank reads ``rows[rank::world_size]``
and the metric states are summed (a rank left without rows reads one unscored row).

Batches (``R`` <= batch_rows rows, ``U = unroll_steps``, ``C`` characters per token)::

    fwd_chars (R, U, C), fwd_targets (R, U)   softmax ids; -1 = not scored (warm-up or padding)
    bwd_chars (R, U, C), bwd_targets (R, U)
    lang (R,)                                 language index (metadata["languages"]) of each row
    first                                     True on a row group's first window: reset the state
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset

from melmo.data.prepared import BOS_ID, EOS_ID, PreparedCorpus, Shard
from melmo.errors import ConfigError


@dataclass(frozen=True)
class HeldoutOptions:
    """How held-out text is read; the same for validation and evaluate.py. The defaults are
    conf/heldout/default.yaml's, whose comments say where each comes from."""

    row_tokens: int = 4000  # scored targets per row; 0 = one row per language
    warmup_tokens: int = 50  # targets after a zero state that are read but not scored
    batch_rows: int = 16  # rows per batch
    unroll_steps: int = 20  # window length of the stateful read

    def __post_init__(self):
        if self.row_tokens < 0 or self.warmup_tokens < 0 or self.batch_rows < 1 or self.unroll_steps < 1:
            raise ConfigError(f"held-out options out of range: {self}")


@dataclass
class HeldoutRow:
    """One row: type ids (not yet mapped to the softmax) of both directions; targets -1 = unscored."""

    lang: int
    fwd_ids: np.ndarray  # (n,) int64
    fwd_targets: np.ndarray  # (n,) int64
    bwd_ids: np.ndarray
    bwd_targets: np.ndarray


def language_stream(shard: Shard) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) type ids of one language's forward stream; the backward stream is
    (targets[::-1], inputs[::-1])."""
    ins, tgs = [], []
    for i in range(len(shard)):
        toks = shard.sentence(i).astype(np.int64)
        ins.append(np.concatenate([[BOS_ID], toks]))
        tgs.append(np.concatenate([toks, [EOS_ID]]))
    if not ins:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(ins), np.concatenate(tgs)


def _chunks(ids: np.ndarray, targets: np.ndarray, row_tokens: int,
            warmup: int) -> list[tuple[np.ndarray, np.ndarray]]:
    n = len(ids)
    step = row_tokens if row_tokens > 0 else max(n, 1)
    out = []
    for start in range(0, n, step):
        lo = max(0, start - warmup)
        stop = min(n, start + step)
        tgt = targets[lo:stop].copy()
        tgt[: max(start, warmup) - lo] = -1  # targets before ``start`` or in the stream's warm-up
        out.append((ids[lo:stop], tgt))
    return out


def heldout_rows(corpus: PreparedCorpus, opts: HeldoutOptions) -> list[HeldoutRow]:
    """Every language's held-out stream cut into rows (languages in metadata order)."""
    rows = []
    for li, lang in enumerate(corpus.languages):
        ins, tgs = language_stream(corpus.heldout(lang))
        fwd = _chunks(ins, tgs, opts.row_tokens, opts.warmup_tokens)
        bwd = _chunks(tgs[::-1].copy(), ins[::-1].copy(), opts.row_tokens, opts.warmup_tokens)
        rows += [HeldoutRow(li, fi, ft, bi, bt) for (fi, ft), (bi, bt) in zip(fwd, bwd)]
    return rows


def _pad(seqs: list[np.ndarray], width: int, fill: int) -> np.ndarray:
    out = np.full((len(seqs), width), fill, np.int64)
    for r, s in enumerate(seqs):
        out[r, : len(s)] = s
    return out


def heldout_batches(corpus: PreparedCorpus, rows: list[HeldoutRow], opts: HeldoutOptions):
    """Yield the batches of ``rows`` (see the module docstring); rows of similar length share a group."""
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i].fwd_ids))
    U = opts.unroll_steps
    for g in range(0, len(order), opts.batch_rows):
        group = [rows[i] for i in order[g : g + opts.batch_rows]]
        width = -(-max(len(r.fwd_ids) for r in group) // U) * U
        arrays = {}
        for d in ("fwd", "bwd"):
            ids = _pad([getattr(r, f"{d}_ids") for r in group], width, EOS_ID)
            raw = _pad([getattr(r, f"{d}_targets") for r in group], width, -1)
            tgt = np.where(raw >= 0, corpus.targets(np.maximum(raw, 0)), -1)
            arrays[d] = (ids, tgt)
        lang = torch.tensor([r.lang for r in group], dtype=torch.long)
        for w in range(0, width, U):
            batch = {"lang": lang, "first": w == 0}
            for d, (ids, tgt) in arrays.items():
                batch[f"{d}_chars"] = torch.from_numpy(corpus.char_ids(ids[:, w : w + U]))
                batch[f"{d}_targets"] = torch.from_numpy(tgt[:, w : w + U])
            yield batch


def n_batches(rows: list[HeldoutRow], opts: HeldoutOptions) -> int:
    order = sorted((len(r.fwd_ids) for r in rows), reverse=True)
    return sum(-(-order[g] // opts.unroll_steps) for g in range(0, len(order), opts.batch_rows))


def unscored_row(unroll_steps: int) -> HeldoutRow:
    """A row that scores nothing (every target -1): what a rank without held-out rows reads, so that it
    still runs the validation loop and joins the metric's all-reduce instead of leaving the others waiting."""
    ids, tgt = np.full(unroll_steps, EOS_ID, np.int64), np.full(unroll_steps, -1, np.int64)
    return HeldoutRow(0, ids, tgt, ids.copy(), tgt.copy())


class HeldoutDataset(IterableDataset):
    """All languages' held-out rows as one iterable (one DataLoader, one progress bar); under DDP rank r
    reads rows r, r + world_size, ... (each row scored once; the metric sums are all-reduced)."""

    def __init__(self, corpus: PreparedCorpus, opts: HeldoutOptions, rank: int = 0, world_size: int = 1):
        self.corpus, self.opts = corpus, opts
        self.rows = heldout_rows(corpus, opts)[rank::world_size]
        if not self.rows and world_size > 1:
            self.rows = [unscored_row(opts.unroll_steps)]

    def __len__(self) -> int:
        return n_batches(self.rows, self.opts)

    def __iter__(self):
        return heldout_batches(self.corpus, self.rows, self.opts)
