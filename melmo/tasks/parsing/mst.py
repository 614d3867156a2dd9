"""Maximum spanning tree decoding with exactly one child of ROOT (Chu-Liu-Edmonds), batched.

Score layout (as SuPar's ``s_arc[batch, dependent, head]``): ``scores[b, i, j]`` is the score of
word ``i + 1`` taking head ``j`` (``j = 0`` is ROOT, ``j = k`` is word ``k``), shape ``(B, T, T + 1)``;
``lengths[b]`` is the number of words of sentence ``b`` (rows and columns past it are padding).
Heads come back word-indexed, shape ``(B, T)``, values in ``0..lengths[b]`` (0 = ROOT), 0 on padding.

Batched strategy: the greedy argmax of every sentence is computed at once and checked for being a
tree with one root child with vectorised pointer doubling; only the sentences that fail (few, for
a trained parser) go through Chu-Liu-Edmonds (Chu & Liu 1965; Edmonds 1967), the contraction
algorithm, O(n^3) worst case here with NumPy doing each contraction in O(n^2).

Single root (Gabow & Tarjan 1984, as Zmigrod, Vieira & Cotterell 2020, "Please Mind the Root",
formulate it): once the greedy graph of the current (contracted) graph has no cycle, while ROOT
has several children the child whose switch to its best other head costs least is switched; a
cycle this closes is contracted as usual, and the contracted node may still enter it through any
member's ROOT arc. One CLE run, no penalised second run and no try-every-root loop (Dozat's
Parser-v3, SuPar).
"""

from __future__ import annotations

import numpy as np

NEG_INF = -np.inf


def _as_numpy(scores) -> np.ndarray:
    if hasattr(scores, "detach"):  # a torch tensor: decode on the CPU in float64
        scores = scores.detach().to("cpu").double().numpy()
    return np.asarray(scores, dtype=np.float64)


def _find_cycle(parent: np.ndarray) -> np.ndarray | None:
    """Nodes of one cycle of the functional graph ``parent`` (node 0 = root, its own parent), or None.
    Plain Python lists: for the few dozen nodes of a sentence they beat NumPy's per-call overhead."""
    par = parent.tolist()
    state = [0] * len(par)  # 0 unseen, 1 on the current path, 2 finished
    state[0] = 2
    for start in range(1, len(par)):
        if state[start]:
            continue
        path, v = [], start
        while state[v] == 0:
            state[v] = 1
            path.append(v)
            v = par[v]
        if state[v] == 1:
            return np.array(path[path.index(v):], dtype=np.int64)
        for u in path:
            state[u] = 2
    return None


def _cle(s: np.ndarray, root_arc: np.ndarray) -> np.ndarray:
    """Chu-Liu-Edmonds with exactly one root child on a dense ``(m, m)`` matrix ``s[dep, head]``
    (row 0 = root, all -inf; forbidden arcs -inf; ``s`` is modified). ``root_arc`` ``(m,)``: each
    node's root arc score, also where ``s[:, 0]`` has it swapped out. Returns parents ``(m,)``.

    The root constraint as Gabow & Tarjan (1984), in Zmigrod, Vieira & Cotterell's (2020)
    formulation: once the greedy graph has no cycle, while the root has several children the one
    whose swap to its best other head costs least is swapped (its root arc leaves ``s``); a cycle
    the swap closes is contracted as usual, and the contracted node may enter it through the root
    arc of any member, swapped or not."""
    while True:
        parent = s.argmax(1)
        parent[0] = 0
        cyc = _find_cycle(parent)
        if cyc is not None:
            break
        roots = np.flatnonzero(parent[1:] == 0) + 1
        if len(roots) <= 1:
            return parent
        other = s[roots, 1:].max(1)  # best non-root head of each root child
        s[roots[np.argmin(s[roots, 0] - other)], 0] = NEG_INF
    outside = np.ones(len(s), dtype=bool)
    outside[cyc] = False
    out = outside.nonzero()[0]  # out[0] == 0, the root is never on a cycle
    o = len(out)
    kept = s[cyc, parent[cyc]]  # score of each cycle node's cycle arc
    heads_in = s[cyc[:, None], out]
    heads_in[:, 0] = root_arc[cyc]  # the contracted node may enter through any member's root arc
    enter = heads_in - kept[:, None]  # gain of breaking the cycle at i with head j
    enter_dep = enter.argmax(0)
    leave = s[out[:, None], cyc]  # outside dependent k taking a head inside the cycle
    leave_head = leave.argmax(1)
    t = np.empty((o + 1, o + 1))
    t[:o, :o] = s[out[:, None], out]
    t[:o, o] = leave.max(1)
    t[o, :o] = enter.max(0)
    t[o, o] = NEG_INF
    t[0, :] = NEG_INF
    sub_root = np.empty(o + 1)
    sub_root[:o] = root_arc[out]
    sub_root[o] = t[o, 0]
    sub = _cle(t, sub_root)
    result = parent.copy()  # cycle nodes keep their cycle arcs but one
    via_cycle = sub[:o] == o
    result[out] = np.where(via_cycle, cyc[leave_head], out[np.minimum(sub[:o], o - 1)])
    result[0] = 0
    j = sub[o]
    result[cyc[enter_dep[j]]] = out[j]
    return result


def chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """Best tree with one ROOT child of one sentence. ``scores`` ``(n, n + 1)``: ``scores[i, j]``
    for word ``i + 1`` taking head ``j``; -inf or NaN marks a forbidden arc (every word must keep
    at least one allowed head, and ROOT arcs must be allowed). Returns heads ``(n,)`` in ``0..n``."""
    s = _as_numpy(scores)
    n = s.shape[0]
    if s.shape != (n, n + 1):
        raise ValueError(f"scores must have shape (n, n + 1), got {s.shape}")
    m = np.full((n + 1, n + 1), NEG_INF)
    m[1:] = np.where(np.isnan(s), NEG_INF, s)
    np.fill_diagonal(m, NEG_INF)
    if not np.isfinite(m[1:, 0]).all():
        raise ValueError("every word needs a finite score for ROOT as its head")
    return _cle(m, m[:, 0].copy())[1:]


def _greedy(s: np.ndarray, lengths: np.ndarray, return_masked: bool = False):
    """Row-wise argmax heads ``(B, T)`` with padding heads and self-loops forbidden (and, with
    ``return_masked``, the scores with every forbidden arc at -inf). Three passes over the scores
    (mask the padding heads, find NaNs, argmax): the decoder's share for the trees greedy gets right."""
    _b, t, _ = s.shape
    pos = np.arange(t + 1)
    masked = np.where(pos[None, None, :] <= lengths[:, None, None], s, NEG_INF)  # head must be ROOT or a real word
    words = np.arange(t)
    masked[:, words, words + 1] = NEG_INF  # no self-loop
    nan = np.isnan(masked)
    if nan.any():
        masked[nan] = NEG_INF
    heads = masked.argmax(-1)
    heads[words[None, :] >= lengths[:, None]] = 0
    return (heads, masked) if return_masked else heads


def is_tree(heads: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: ``heads`` ``(B, T)`` form a tree with exactly one ROOT child (vectorised)."""
    heads = np.asarray(heads, dtype=np.int64)
    b, t = heads.shape
    lengths = np.asarray(lengths, dtype=np.int64)
    real = np.arange(t)[None, :] < lengths[:, None]
    one_root = ((heads == 0) & real).sum(1) == 1
    parent = np.zeros((b, t + 1), dtype=np.int64)
    parent[:, 1:] = np.where(real, heads, 0)
    in_range = ((parent >= 0) & (parent <= lengths[:, None])).all(1)
    parent = np.clip(parent, 0, t)
    for _ in range(max(1, int(np.ceil(np.log2(t + 1))))):  # after k steps: ancestor 2^k up
        parent = np.take_along_axis(parent, parent, axis=1)
    return one_root & in_range & (parent == 0).all(1)


def decode_mst(scores, lengths) -> np.ndarray:
    """Best single-root trees of a batch: ``scores`` ``(B, T, T + 1)`` (NumPy or torch),
    ``lengths`` ``(B,)``. Returns heads ``(B, T)`` int64 (0 = ROOT, 0 on padding)."""
    s = _as_numpy(scores)
    lengths = np.asarray(_as_numpy(lengths), dtype=np.int64)
    if s.ndim != 3 or s.shape[2] != s.shape[1] + 1 or lengths.shape != (s.shape[0],):
        raise ValueError(f"scores must be (B, T, T + 1) and lengths (B,), got {s.shape} and {lengths.shape}")
    heads, masked = _greedy(s, lengths, return_masked=True)
    for k in np.flatnonzero(~is_tree(heads, lengths)):
        n = int(lengths[k])
        if not np.isfinite(masked[k, :n, 0]).all():
            raise ValueError(f"sentence {k}: every word needs a finite score for ROOT as its head")
        m = np.full((n + 1, n + 1), NEG_INF)
        m[1:] = masked[k, :n, : n + 1]  # self-loops and padding already -inf
        heads[k, :n] = _cle(m, m[:, 0].copy())[1:]
    return heads
