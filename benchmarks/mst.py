"""Tree decoding speed: our batched single-root MST (melmo.tasks.parsing.mst) against ufal.chu_liu_edmonds.

    python benchmarks/mst.py [--treebank data/sample/ud/en/en_ewt-ud-test.conllu.xz] [--batch 32] [--repeat 3]

``ufal.chu_liu_edmonds`` (GPL-3, TurboParser's CLE in C++) is a benchmark baseline only
(``pip install -e '.[test]'``); the package never imports it. Both decoders get the same score
matrices, built before timing, with the sentence lengths of a real UD test file, in two regimes:

* ``parser-like``: gold arcs of the treebank plus Gaussian noise (margin ``--margin``), so that the
  greedy argmax is already a single-root tree for most sentences, as for a trained parser;
* ``random``: pure Gaussian scores, every sentence needs Chu-Liu-Edmonds (the worst case).

ufal does not enforce one ROOT child: it gets an exact reduction (every ROOT arc lowered by a
constant larger than any difference of tree scores; ours uses Gabow & Tarjan's swaps), one call per
sentence, on its (n+1) x (n+1) float64 matrix with NaN for forbidden arcs. Ours decodes padded batches of
``--batch`` sentences. Prints sentences/s side by side, their ratio, the share of sentences whose
greedy argmax was already a tree, and how many trees have the same score (|diff| < 1e-6) and the
same heads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from melmo.formats.conllu import read_conllu
from melmo.tasks.parsing.mst import _greedy, decode_mst, is_tree

ROOT = Path(__file__).resolve().parents[1]


def score_matrices(heads_list, rng, margin: float | None) -> list[np.ndarray]:
    out = []
    for heads in heads_list:
        n = len(heads)
        s = rng.normal(size=(n, n + 1))
        if margin is not None:
            s[np.arange(n), np.asarray(heads)] += margin
        out.append(s)
    return out


def batches(mats, size):
    for k in range(0, len(mats), size):
        chunk = mats[k: k + size]
        t = max(len(m) for m in chunk)
        s = np.zeros((len(chunk), t, t + 1))
        for b, m in enumerate(chunk):
            s[b, : len(m), : len(m) + 1] = m
        yield s, np.array([len(m) for m in chunk])


def ufal_matrix(s: np.ndarray) -> np.ndarray:
    n = len(s)
    m = np.full((n + 1, n + 1), np.nan)
    m[1:] = s
    np.fill_diagonal(m, np.nan)
    finite = s[np.isfinite(s)]
    m[1:, 0] -= (n + 1) * (finite.max() - finite.min()) + 1.0  # one ROOT child, exactly
    return m


def run(mats, batch: int, repeat: int):
    from ufal.chu_liu_edmonds import chu_liu_edmonds as ufal_cle

    prepared = list(batches(mats, batch))
    greedy_trees = sum(int(is_tree(_greedy(s, n), n).sum()) for s, n in prepared)
    t_ours = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ours = [decode_mst(s, n) for s, n in prepared]
        t_ours.append(time.perf_counter() - t0)
    umats = [ufal_matrix(s) for s in mats]
    t_ufal = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        theirs = [ufal_cle(m)[0] for m in umats]
        t_ufal.append(time.perf_counter() - t0)
    ours_flat = [h[b, :n] for (s, lens), h in zip(prepared, ours) for b, n in enumerate(lens)]
    same_score = same_heads = 0
    for s, a, b in zip(mats, ours_flat, theirs):
        b = np.asarray(b[1:])
        rows = np.arange(len(s))
        same_score += abs(s[rows, a].sum() - s[rows, b].sum()) < 1e-6
        same_heads += bool((a == b).all())
    return len(mats) / min(t_ours), len(mats) / min(t_ufal), greedy_trees, same_score, same_heads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--treebank", type=Path, default=ROOT / "data/sample/ud/en/en_ewt-ud-test.conllu.xz")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--margin", type=float, default=3.0, help="gold-arc margin of the parser-like regime")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    sents = read_conllu(args.treebank, check_trees=True)
    heads = [s.heads for s in sents]
    lens = np.array([len(h) for h in heads])
    print(f"{args.treebank.name}: {len(sents)} sentences, length mean {lens.mean():.1f}, "
          f"median {np.median(lens):.0f}, max {lens.max()}; batch {args.batch}, best of {args.repeat}")
    print(f"{'regime':<12} {'ours sent/s':>12} {'ufal sent/s':>12} {'ours/ufal':>10} {'greedy=tree':>12} "
          f"{'same score':>11} {'same heads':>11}")
    rng = np.random.default_rng(args.seed)
    for name, margin in (("parser-like", args.margin), ("random", None)):
        mats = score_matrices(heads, rng, margin)
        ours, ufal, greedy, same_score, same_heads = run(mats, args.batch, args.repeat)
        n = len(mats)
        print(f"{name:<12} {ours:>12.0f} {ufal:>12.0f} {ours / ufal:>10.2f} {greedy / n:>12.1%} "
              f"{same_score:>5}/{n:<5} {same_heads:>5}/{n:<5}")


if __name__ == "__main__":
    main()
