"""Seeded selection of whole sentences up to a token budget, in bounded memory.

Every sentence i of a language gets a pseudo-random 64-bit priority ``splitmix64(key ^ i)``
(Steele et al. 2014, the SplitMix64 finaliser); a budget keeps the sentences of lowest priority
until their token total first reaches it. That is exactly "draw sentences in a random order until
the target is met" -- so the realised size is within one sentence of the target -- but it needs
no permutation in memory: the cut-off priority is found by bisection over chunked passes of the
per-sentence length array, which may be a disk memmap of any size.
"""

from __future__ import annotations

import hashlib

import numpy as np

CHUNK = 1 << 20  # sentences per vectorised pass; bounds memory at ~16 MB per pass

_M1 = np.uint64(0xBF58476D1CE4E5B9)  # SplitMix64 constants (Steele, Lea & Flood 2014)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def stream_key(*parts: object) -> int:
    """A 64-bit key from any parts (seed, language, purpose), stable across runs and platforms."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def priorities(key: int, start: int, stop: int) -> np.ndarray:
    """uint64 priorities of sentences ``start..stop-1`` under ``key``."""
    with np.errstate(over="ignore"):
        z = np.arange(start, stop, dtype=np.uint64) * _GOLDEN + np.uint64(key)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


Rule = tuple  # (key, cut): selects the sentences whose priority under key is <= cut


def chunk_mask(start: int, stop: int, rule: Rule | None, exclude: Rule | None = None) -> np.ndarray:
    """Boolean mask of sentences ``start..stop-1`` that ``rule`` selects and ``exclude`` does not
    (``None`` selects nothing)."""
    if rule is None:
        return np.zeros(stop - start, dtype=bool)
    key, cut = rule
    keep = priorities(key, start, stop) <= np.uint64(cut)
    if exclude is not None:
        keep &= priorities(exclude[0], start, stop) > np.uint64(exclude[1])
    return keep


def selected_total(weights: np.ndarray, rule: Rule | None, exclude: Rule | None = None) -> int:
    """Sum of ``weights`` over the sentences ``rule`` selects (and ``exclude`` does not), in chunks."""
    total = 0
    for start in range(0, len(weights), CHUNK):
        stop = min(start + CHUNK, len(weights))
        keep = chunk_mask(start, stop, rule, exclude)
        total += int(np.asarray(weights[start:stop])[keep].sum(dtype=np.int64))
    return total


def budget_cutoff(weights: np.ndarray, key: int, budget: int, exclude: Rule | None = None) -> int:
    """The smallest priority cut-off whose selected weight reaches ``budget`` (or the maximum,
    selecting everything, when the whole array does not reach it)."""
    lo, hi = 0, (1 << 64) - 1
    if selected_total(weights, (key, hi), exclude) <= budget:
        return hi
    while lo < hi:  # 64 passes at most
        mid = (lo + hi) // 2
        if selected_total(weights, (key, mid), exclude) >= budget:
            hi = mid
        else:
            lo = mid + 1
    return lo


def select_budget(weights: np.ndarray, key: int, budget: int, exclude: Rule | None = None) -> Rule:
    """The rule that keeps ``budget`` tokens (weights = lengths) or sentences (weights = 1)."""
    return (key, budget_cutoff(weights, key, budget, exclude))


def rule_mask(n: int, rule: Rule, exclude: Rule | None = None) -> np.ndarray:
    """The whole mask of a rule (1 byte per sentence; for tests and small corpora)."""
    return np.concatenate([chunk_mask(s, min(s + CHUNK, n), rule, exclude) for s in range(0, n, CHUNK)]
                          or [np.zeros(0, bool)])


class ChunkedBuckets:
    """``buckets(i, copy)`` = priorities(key_of(copy), i) mod ``n_buckets`` for sentence i of ``n``,
    computed a CHUNK of sentences at a time (one numpy call per chunk and copy, not one per sentence)."""

    def __init__(self, key_of, n: int, n_buckets: int):
        self.key_of, self.n, self.n_buckets = key_of, n, np.uint64(n_buckets)
        self.start, self.rows = -1, {}

    def __call__(self, idx: int, copy: int) -> int:
        start = idx - idx % CHUNK
        if start != self.start:
            self.start, self.rows = start, {}
        row = self.rows.get(copy)
        if row is None:
            key = self.key_of(copy)
            row = self.rows[copy] = (priorities(key, start,
                                                min(start + CHUNK, self.n)) % self.n_buckets).astype(np.int64)
        return int(row[idx - start])
def heldout_rule(lang: str, lengths: np.ndarray, budget_tokens: int, max_share: float) -> Rule | None:
    """The held-out sentences of one language: whole sentences drawn in a fixed order until
    ``min(budget_tokens, max_share x the language's tokens)`` tokens are reached.

    The key depends on the language only -- not on the sampling strategy or seed -- so every
    corpus prepared from the same inputs (any alpha, TRUNC, MONO, UniMax) holds out the same
    sentences and its models are scored on the same text. None when nothing is held out.
    """
    budget = min(int(budget_tokens), int(max_share * selected_total(lengths, (0, (1 << 64) - 1))))
    if budget <= 0:
        return None
    key = stream_key("heldout", lang)
    return select_budget(lengths, key, budget)
