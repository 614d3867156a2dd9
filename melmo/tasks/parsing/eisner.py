"""Projective decoding (Eisner 1996) with exactly one child of ROOT, batched over sentences.

Same layout as ``mst.py``: ``scores[b, i, j]`` is word ``i + 1`` taking head ``j`` (0 = ROOT), shape
``(B, T, T + 1)``; ``lengths`` ``(B,)``; heads come back ``(B, T)`` int64 (0 on padding).

The four charts of Eisner's O(n^3) algorithm in the max semiring are filled one span width at a
time, vectorised over sentences, span starts and split points. One ROOT child: a complete span
headed by ROOT may only cover the whole sentence (SuPar's ``eisner``/DependencyCRF with
``multiroot=False`` does the same), so ROOT's one incomplete span takes a single dependent.
"""

from __future__ import annotations

import numpy as np

from melmo.tasks.parsing.mst import _as_numpy

NEG_INF = -np.inf


def decode_eisner(scores, lengths) -> np.ndarray:
    """Best projective single-root trees: ``(B, T, T + 1)`` scores -> ``(B, T)`` heads."""
    s = _as_numpy(scores)
    lengths = np.asarray(_as_numpy(lengths), dtype=np.int64)
    b, t, _ = s.shape
    n = t + 1
    arc = np.full((b, n, n), NEG_INF)  # arc[b, dep, head]
    arc[:, 1:, :] = np.where(np.isnan(s), NEG_INF, s)
    ci = np.full((b, n, n), NEG_INF)  # incomplete spans, same inner max for both directions
    il, ir = ci.copy(), ci.copy()  # il[i, j]: head j, dependent i; ir[i, j]: head i, dependent j
    cl, cr = ci.copy(), ci.copy()  # complete: cl[i, j] headed by j, cr[i, j] headed by i
    bp_i = np.zeros((b, n, n), dtype=np.int64)
    bp_l, bp_r = bp_i.copy(), bp_i.copy()
    idx = np.arange(n)
    cl[:, idx, idx] = 0.0
    cr[:, idx, idx] = 0.0
    for w in range(1, n):
        i = np.arange(n - w)[:, None]  # (K, 1) span starts
        j = i + w
        r = i + np.arange(w)[None, :]  # (K, w) split points i..j-1
        inner = cr[:, i, r] + cl[:, r + 1, j]  # (B, K, w)
        best = inner.argmax(-1)
        inner_max = np.take_along_axis(inner, best[..., None], -1)[..., 0]
        ii, jj = i[:, 0], j[:, 0]
        bp_i[:, ii, jj] = i[:, 0] + best
        il[:, ii, jj] = inner_max + arc[:, ii, jj]
        ir[:, ii, jj] = inner_max + arc[:, jj, ii]
        left = cl[:, i, r] + il[:, r, j]  # (B, K, w): cl[i, r] + il[r, j], r in i..j-1
        k = left.argmax(-1)
        cl[:, ii, jj] = np.take_along_axis(left, k[..., None], -1)[..., 0]
        bp_l[:, ii, jj] = i[:, 0] + k
        r2 = r + 1  # split points i+1..j
        right = ir[:, i, r2] + cr[:, r2, j]
        k = right.argmax(-1)
        cr[:, ii, jj] = np.take_along_axis(right, k[..., None], -1)[..., 0]
        bp_r[:, ii, jj] = i[:, 0] + 1 + k
        # ROOT's complete span must reach the sentence's end: one ROOT child (SuPar, multiroot=False)
        cr[lengths != w, 0, w] = NEG_INF
    heads = np.zeros((b, t), dtype=np.int64)
    for k in range(b):
        if lengths[k] > 0:
            _backtrack(k, int(lengths[k]), bp_i, bp_l, bp_r, heads)
    return heads


def _backtrack(k: int, length: int, bp_i, bp_l, bp_r, heads: np.ndarray) -> None:
    stack = [("cr", 0, length)]
    while stack:
        kind, i, j = stack.pop()
        if i == j:
            continue
        if kind == "cr":
            r = bp_r[k, i, j]
            stack += [("ir", i, r), ("cr", r, j)]
        elif kind == "cl":
            r = bp_l[k, i, j]
            stack += [("cl", i, r), ("il", r, j)]
        else:
            if kind == "ir":
                heads[k, j - 1] = i
            else:
                heads[k, i - 1] = j
            r = bp_i[k, i, j]
            stack += [("cr", i, r), ("cl", r + 1, j)]
