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


def _cle(s: np.ndarray, root_arc: np.ndarray, parent: np.ndarray | None = None,
         alive: np.ndarray | None = None) -> np.ndarray:
    """Chu-Liu-Edmonds with exactly one root child on a dense ``(m, m)`` matrix ``s[dep, head]``
    (row 0 = root, all -inf; forbidden arcs -inf; ``s`` and ``root_arc`` are modified). ``root_arc``
    ``(m,)``: each node's root arc score, also where ``s[:, 0]`` has it swapped out. ``parent``:
    ``s.argmax(1)`` (root's 0) when the caller has it. Returns parents ``(m,)``.

    A cycle is contracted in place into its first node: that node's row becomes the best way into the
    cycle from each head, its column the best head inside the cycle for each dependent, and the other
    members leave the graph (``alive`` False, rows and columns -inf), so every level works on the same
    matrix with a handful of array operations.

    The root constraint as Gabow & Tarjan (1984), in Zmigrod, Vieira & Cotterell's (2020)
    formulation: once the greedy graph has no cycle, while the root has several children the one
    whose swap to its best other head costs least is swapped (its root arc leaves ``s``); a cycle
    the swap closes is contracted as usual, and the contracted node may enter it through the root
    arc of any member, swapped or not."""
    for _ in range(len(s) + 1):  # a pass without a cycle swaps one root arc out: at most m passes
        if parent is None:
            parent = s.argmax(1)
            parent[0] = 0  # a node that left the graph (all -inf) also gets 0: never on a cycle
        cyc = _find_cycle(parent)
        if cyc is not None:
            break
        roots = (parent == 0)
        roots[0] = False
        if alive is not None:
            roots &= alive
        roots = roots.nonzero()[0]
        if len(roots) <= 1:
            return parent
        other = s[roots, 1:].max(1)  # best non-root head of each root child
        # -inf - -inf: a root child with no other head (infeasible, below)
        with np.errstate(invalid="ignore"):
            s[roots[np.argmin(s[roots, 0] - other)], 0] = NEG_INF
        parent = None
    else:  # e.g. two words whose only allowed head is ROOT
        raise ValueError("no tree with exactly one ROOT child: too many words can only take ROOT as their "
                         "head")
    kept = s[cyc, parent[cyc]]  # score of each cycle node's cycle arc
    enter = s[cyc] - kept[:, None]  # (c, m): gain of breaking the cycle at member i with head j
    enter[:, 0] = root_arc[cyc] - kept  # the cycle may be entered through any member's root arc
    enter[:, cyc] = NEG_INF
    enter_dep, enter_best = enter.argmax(0), enter.max(0)
    leave = s[:, cyc]  # (m, c): dependent k taking a head inside the cycle
    leave_head, leave_best = leave.argmax(1), leave.max(1)
    c0, gone = cyc[0], cyc[1:]
    s[:, c0] = leave_best
    s[c0] = enter_best
    s[c0, c0] = NEG_INF
    s[gone] = NEG_INF
    s[:, gone] = NEG_INF
    root_arc[c0] = enter_best[0]
    alive = np.ones(len(s), dtype=bool) if alive is None else alive.copy()
    alive[gone] = False
    sub = _cle(s, root_arc, None, alive)
    result = np.where(sub == c0, cyc[leave_head], sub)  # a dependent of the cycle: its best member
    result[cyc] = parent[cyc]  # cycle nodes keep their cycle arcs but the one entered
    j = sub[c0]
    result[cyc[enter_dep[j]]] = j
    result[0] = 0
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
    ``return_masked``, the scores with every forbidden arc at -inf). Two passes over the scores when
    they hold no NaN (mask the padding heads, argmax): the decoder's share for the trees greedy gets
    right. NumPy's argmax picks a row's NaN when it has one, so a NaN is seen in the chosen scores."""
    _b, t, _ = s.shape
    pos = np.arange(t + 1)
    # head must be ROOT or a real word
    masked = np.where(pos[None, None, :] <= lengths[:, None, None], s, NEG_INF)
    words = np.arange(t)
    masked[:, words, words + 1] = NEG_INF  # no self-loop
    heads = masked.argmax(-1)
    if np.isnan(np.take_along_axis(masked, heads[..., None], -1)).any():  # NaN = a forbidden arc
        masked[np.isnan(masked)] = NEG_INF
        heads = masked.argmax(-1)
    heads[words[None, :] >= lengths[:, None]] = 0
    return (heads, masked) if return_masked else heads


def is_tree(heads: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: ``heads`` ``(B, T)`` form a tree with exactly one ROOT child (vectorised:
    pointer doubling over the batch's nodes numbered as one array)."""
    heads = np.asarray(heads, dtype=np.int64)
    b, t = heads.shape
    lengths = np.asarray(lengths, dtype=np.int64)
    real = np.arange(t)[None, :] < lengths[:, None]
    one_root = ((heads == 0) & real).sum(1) == 1
    parent = np.zeros((b, t + 1), dtype=np.int64)
    parent[:, 1:] = np.where(real, heads, 0)
    in_range = ((parent >= 0) & (parent <= lengths[:, None])).all(1)
    base = np.arange(b)[:, None] * (t + 1)
    up = (np.clip(parent, 0, t) + base).ravel()  # node -> its parent, batch-wide numbering
    for _ in range(max(1, int(np.ceil(np.log2(t + 1))))):  # after k steps: ancestor 2^k up
        up = up[up]
    return one_root & in_range & (up.reshape(b, t + 1) == base).all(1)


def decode_mst(scores, lengths) -> np.ndarray:
    """Best single-root trees of a batch: ``scores`` ``(B, T, T + 1)`` (NumPy or torch),
    ``lengths`` ``(B,)``. Returns heads ``(B, T)`` int64 (0 = ROOT, 0 on padding)."""
    s = _as_numpy(scores)
    lengths = np.asarray(_as_numpy(lengths), dtype=np.int64)
    if s.ndim != 3 or s.shape[2] != s.shape[1] + 1 or lengths.shape != (s.shape[0],):
        raise ValueError(f"scores must be (B, T, T + 1) and lengths (B,), got {s.shape} and {lengths.shape}")
    heads, masked = _greedy(s, lengths, return_masked=True)
    failing = np.flatnonzero(~is_tree(heads, lengths))
    if len(failing):
        pad = np.arange(s.shape[1])[None, :] >= lengths[failing, None]
        no_root = ~(np.isfinite(masked[failing, :, 0]) | pad).all(1)
        if no_root.any():
            raise ValueError(f"sentence {failing[no_root.argmax()]}: every word needs a finite score for "
                             "ROOT as its head")
    for k in failing:
        n = int(lengths[k])
        m = np.empty((n + 1, n + 1))
        m[0] = NEG_INF
        m[1:] = masked[k, :n, : n + 1]  # self-loops and padding already -inf
        parent = np.empty(n + 1, dtype=np.int64)
        parent[0], parent[1:] = 0, heads[k, :n]  # the greedy heads: m's row-wise argmax
        heads[k, :n] = _cle(m, m[:, 0].copy(), parent)[1:]
    return heads
