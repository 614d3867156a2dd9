"""Memory and start-up of the training stream index on a large synthetic prepared corpus.

    python benchmarks/stream_index.py --tokens 1e9 --ranks 2      # ~4 GB on disk, removed afterwards
    python benchmarks/stream_index.py --tokens 1e8 --keep /tmp/c  # smaller; keep the corpus for reruns
    python benchmarks/stream_index.py --corpus /tmp/c --ranks 4   # reuse a corpus

Writes a corpus in the layout melmo.corpus.prepare writes (metadata.json, types.txt, vocab.txt,
shards/NNNNN.{tokens,lengths,langs}.npy) straight from numpy: sentence lengths geometric with mean
``--mean-len`` (cut at 200, the shipped max_sentence_tokens), token ids log-uniform over ``--types``
types (a Zipf-like head and a long tail of rare types that are spelled on demand). Then starts
``--ranks`` processes at once, as DDP ranks, each opening the corpus and building the forward and
backward streams of its rank (melmo.data.stream.LMStream) and the character ids of their first
batch, and prints per rank: peak RSS (VmHWM), its anonymous part, the RSS of the imports alone
(numpy + torch, which melmo.model.chars needs) and the time to the first batch.
Run the same script against another checkout with PYTHONPATH=<checkout> to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT))

import numpy as np

from melmo.languages import PAPER_LANGUAGES

LANGS = list(PAPER_LANGUAGES)


def _status() -> dict[str, float]:
    """VmHWM, VmRSS, RssAnon, RssFile of this process in MB (Linux /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024
    return out


def build(out: Path, tokens: int, shard_tokens: int, n_types: int, vocab_size: int, mean_len: float,
          seed: int) -> None:
    """A synthetic prepared corpus of about ``tokens`` tokens in ``out``."""
    rng = np.random.default_rng(seed)
    (out / "shards").mkdir(parents=True)
    (out / "heldout").mkdir()
    types = ["<S>", "</S>", "<UNK>"] + [f"w{i:x}z" for i in range(n_types - 3)]
    (out / "types.txt").write_text("".join(t + "\n" for t in types), encoding="utf-8")
    (out / "vocab.txt").write_text("".join(t + "\n" for t in types[:vocab_size]), encoding="utf-8")
    del types
    shards, total, b = [], 0, 0
    while total < tokens:
        want = min(shard_tokens, tokens - total)
        draws = rng.geometric(1.0 / mean_len, size=int(want / mean_len * 1.1) + 16)
        lengths = np.clip(draws, 1, 200).astype("<u4")
        ends = np.cumsum(lengths, dtype=np.int64)
        lengths = lengths[: int(np.searchsorted(ends, want)) + 1]
        n_tok = int(lengths.sum(dtype=np.int64))
        stem = out / "shards" / f"{b:05d}"
        tok = np.lib.format.open_memmap(f"{stem}.tokens.npy", mode="w+", dtype="<u4", shape=(n_tok,))
        step = 1 << 24
        for a in range(0, n_tok, step):  # ids 3..n_types-1, log-uniform
            u = rng.random(min(step, n_tok - a))
            tok[a : a + len(u)] = 2 + np.floor(np.exp(u * np.log(n_types - 3))).astype("<u4")
        tok.flush()
        del tok
        np.save(f"{stem}.lengths.npy", lengths)
        np.save(f"{stem}.langs.npy", rng.integers(0, len(LANGS), size=len(lengths)).astype("u1"))
        shards.append(f"{b:05d}")
        total += n_tok
        b += 1
    meta = {"name": "synthetic", "languages": LANGS, "vocab_size": vocab_size, "n_types": n_types,
            "shards": shards, "total_tokens": total, "prepare_version": 1, "seed": seed}
    (out / "metadata.json").write_text(json.dumps(meta, indent=1))


def rank_main(corpus: str, rank: int, world: int, batch_size: int, unroll: int, more: int) -> None:
    import torch  # noqa: F401  (melmo.model.chars needs it; measured as part of the baseline)

    import melmo.model.chars  # noqa: F401
    from melmo.data.prepared import PreparedCorpus
    from melmo.data.stream import LMStream

    base = _status()
    t0 = time.perf_counter()
    c = PreparedCorpus(corpus)
    streams = [LMStream(c, batch_size, unroll, seed=1, direction=d, rank=rank, world_size=world)
               for d in ("fwd", "bwd")]
    for s in streams:
        c.char_ids(s.next_batch()["ids"])
    first = time.perf_counter() - t0
    at_first = _status()
    t1 = time.perf_counter()
    for _ in range(more):
        for s in streams:
            c.char_ids(s.next_batch()["ids"])
    per_batch = (time.perf_counter() - t1) / max(1, more)
    print(json.dumps({"rank": rank, "first_batch_s": first, "batch_s": per_batch, "base": base,
                      "at_first": at_first, "end": _status()}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=float, default=1e9, help="corpus size in tokens (default 1e9: ~4 GB)")
    ap.add_argument("--shard-tokens", type=float, default=5e7,
                    help="tokens per shard (conf/data/conll17.yaml: 5e7)")
    ap.add_argument("--types", type=float, default=2e6, help="types in types.txt (conf/data: max_types 2e6)")
    ap.add_argument("--vocab", type=int, default=100_000, help="softmax vocabulary (conf/data/conll17.yaml)")
    ap.add_argument("--mean-len", type=float, default=25.0, help="mean sentence length in tokens")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128, help="rows per rank (bilm-tf: 128 per GPU)")
    ap.add_argument("--unroll", type=int, default=20)
    ap.add_argument("--more", type=int, default=200, help="batches per rank after the first (steady state)")
    ap.add_argument("--corpus", type=Path, help="an existing corpus (skip building)")
    ap.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    ap.add_argument("--rank", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rank is not None:
        return rank_main(str(args.corpus), args.rank, args.ranks, args.batch_size, args.unroll, args.more)

    tmp = None
    corpus = args.corpus
    if corpus is None:
        if args.keep is None:
            tmp = Path(tempfile.mkdtemp(prefix="melmo-stream-index-"))
        corpus = args.keep or tmp / "corpus"
        need = args.tokens * 4.3 / 2**30
        where = corpus.parent if corpus.parent.exists() else Path(tempfile.gettempdir())
        free = shutil.disk_usage(where).free / 2**30
        if need > 0.8 * free:
            sys.exit(f"{corpus.parent}: {free:.1f} GiB free, the corpus needs ~{need:.1f} GiB; "
                     "lower --tokens")
        t0 = time.perf_counter()
        build(corpus, int(args.tokens), int(args.shard_tokens), int(args.types), args.vocab, args.mean_len,
              seed=0)
        print(f"built {corpus} in {time.perf_counter() - t0:.1f} s")
    try:
        meta = json.loads((corpus / "metadata.json").read_text())
        n_sent = sum(len(np.load(corpus / "shards" / f"{s}.lengths.npy", mmap_mode="r"))
                     for s in meta["shards"])
        print(f"corpus: {meta['total_tokens']:,} tokens, {n_sent:,} sentences, {len(meta['shards'])} shards, "
              f"{meta.get('n_types', '?'):,} types; {args.ranks} ranks x batch {args.batch_size} x unroll "
              f"{args.unroll}")
        cmd = [sys.executable, __file__, "--corpus", str(corpus), "--ranks", str(args.ranks), "--batch-size",
               str(args.batch_size), "--unroll", str(args.unroll), "--more", str(args.more)]
        procs = [subprocess.Popen(cmd + ["--rank", str(r)], stdout=subprocess.PIPE, text=True)
                 for r in range(args.ranks)]
        outs = [p.communicate()[0] for p in procs]
        if any(p.returncode for p in procs):
            sys.exit("a rank failed")
        print(f"{'rank':>4} {'first batch s':>14} {'s/batch':>8} {'imports MB':>11} {'peak RSS MB':>12} "
              f"{'peak-imports':>13} {'anon MB':>8} {'file MB':>8}")
        for line in outs:
            r = json.loads(line.strip().splitlines()[-1])
            e = r["end"]
            print(f"{r['rank']:>4} {r['first_batch_s']:>14.2f} {r['batch_s']:>8.4f} "
                  f"{r['base']['VmHWM']:>11.0f} {e['VmHWM']:>12.0f} {e['VmHWM'] - r['base']['VmHWM']:>13.0f} "
                  f"{e['RssAnon']:>8.0f} {e['RssFile']:>8.0f}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
