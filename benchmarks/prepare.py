"""Corpus preparation throughput: the shipped 13-language sample, or a synthetic corpus at scale.

    python benchmarks/prepare.py [--langs en,fi,zh] [--repeat 3]
    python benchmarks/prepare.py --scale 1e8 [--workers 1] [--keep DIR]   # scale mode (~4 GB of CoNLL-U)

Scale mode writes an already tokenized CoNLL-U .xz corpus of about ``--scale`` tokens over the 13
languages (one file per language, sizes as unequal as Wikipedia's: 1x .. ~30x; ten filled columns,
as the CoNLL 2017 dumps' UDPipe output), then runs preparation (alpha04) and prints tokens/s per
stage (read = decompress + read CoNLL-U + write the tokenized cache; sample = held-out split +
budgets; count = the vocabulary; shard = id lookup + scatter + shuffle + write), per core
(``--workers`` processes), the xz decompression rate alone, and peak RSS (this process and its
workers).

Prints, in one run:
  * UDPipe tokenization (stage 1) in tokens/s with 1 and with 2 worker processes, cold cache;
  * counting + sampling + vocabulary + sharding (everything after tokenization) in tokens/s,
    timed with a warm tokenization cache, for alpha04 (which reads every tokenized sentence);
  * the ratio of the two stages' throughputs.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT))  # this checkout's melmo

import numpy as np

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.sampling import AlphaSampling
from melmo.corpus.sources import language_sources
from melmo.languages import PAPER_LANGUAGES

# First code point of each language's synthetic word forms (its script), so byte lengths are realistic.
SCRIPT = {"ar": 0x0627, "eu": 0x61, "zh": 0x4E00, "en": 0x61, "fi": 0x61, "he": 0x05D0, "hi": 0x0915,
          "it": 0x61, "ja": 0x3041, "ko": 0xAC00, "ru": 0x0430, "sv": 0x61, "tr": 0x61}
CONLLU_TAIL = "\t{f}\tNOUN\tNN\t_\t0\troot\t_\tSpaceAfter=No"  # LEMMA..MISC as a parser fills them


def write_conllu_xz(path: Path, lang: str, tokens: int, rng: np.random.Generator,
                    n_types: int = 200_000) -> int:
    """A CoNLL-U .xz of about ``tokens`` tokens: sentences of geometric length (mean 20), word forms
    log-uniform over ``n_types`` types of 1-12 letters of the language's script. Returns its tokens."""
    base = SCRIPT[lang]
    lengths = 1 + rng.integers(0, 12, size=n_types) % (1 + rng.integers(0, 12, size=n_types))
    letters = rng.integers(0, 26, size=int(lengths.sum()))
    ends = np.cumsum(lengths)
    text = (base + letters).astype("<u4").tobytes().decode("utf-32-le")
    forms = [text[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist())]
    rows = [f"\t{f}" + CONLLU_TAIL.format(f=f.lower()) + "\n" for f in forms]
    written = 0
    with lzma.open(path, "wb", preset=0) as out:
        sent = 0
        while written < tokens:
            n = np.minimum(rng.geometric(1 / 20, size=4096), 150)
            ids = np.floor(np.exp(rng.random(int(n.sum())) * np.log(n_types))).astype(np.int64) - 1
            parts, k = [], 0
            for m in n.tolist():
                sent += 1
                parts.append(f"# sent_id = {sent}\n")
                parts.extend(f"{i + 1}{rows[t]}" for i, t in enumerate(ids[k : k + m].tolist()))
                parts.append("\n")
                k += m
            out.write("".join(parts).encode("utf-8"))
            written += k
    return written


def _decompress_rate(paths: list[Path]) -> float:
    """MB/s of xz decompression alone (bytes out)."""
    t0, n = time.perf_counter(), 0
    for p in paths:
        with lzma.open(p, "rb") as fh:
            while block := fh.read(1 << 22):
                n += len(block)
    return n / 1e6 / (time.perf_counter() - t0)


def _peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def scale(args) -> None:
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp(prefix="melmo-prepare-scale-")) if args.keep is None else args.keep
    try:
        corpus = tmp / "conll17"
        corpus.mkdir(parents=True, exist_ok=True)
        shares = np.geomspace(1, 30, len(PAPER_LANGUAGES))  # the smallest language ~1/30 of the largest
        shares = shares / shares.sum()
        paths = {}
        t0 = time.perf_counter()
        for lang, share in zip(PAPER_LANGUAGES, shares):
            paths[lang] = corpus / lang / f"{lang}-common_crawl-wikipedia-000.conllu.xz"
            if not paths[lang].is_file():
                paths[lang].parent.mkdir(exist_ok=True)
                part = paths[lang].with_suffix(".part")
                write_conllu_xz(part, lang, int(args.scale * share), rng)
                part.rename(paths[lang])
        size = sum(p.stat().st_size for p in paths.values()) / 1e6
        print(f"synthetic CoNLL-U corpus: {size:,.0f} MB of .xz in {len(paths)} languages (written in "
              f"{time.perf_counter() - t0:.0f} s)")
        mbps = _decompress_rate(list(paths.values()))
        srcs = language_sources(list(PAPER_LANGUAGES), str(corpus / "{lang}" / "*wikipedia*.conllu.xz"))
        opts = PrepareOptions(workers=args.workers, vocab_size=100_000, shard_tokens=50_000_000,
                              heldout_tokens=200_000)
        timings: dict = {}
        # a kept corpus: measure from cold, never from a previous run's cache
        for done in ("cache", "prepared"):
            shutil.rmtree(tmp / done, ignore_errors=True)
        t0 = time.perf_counter()
        out = prepare(srcs, AlphaSampling(0.4, "alpha04"), tmp / "prepared", tmp / "cache", opts,
                      name="scale", timings=timings)
        wall = time.perf_counter() - t0
        meta = json.loads((out / "metadata.json").read_text())
        read = sum(meta["original_tokens"].values())
        kept = meta["total_tokens"]
        own, children = _peak_rss_mb()
        cores = min(args.workers, len(PAPER_LANGUAGES))
        print(f"prepare alpha04, {args.workers} worker process(es), {os.cpu_count()} cores on the machine: "
              f"{read:,} tokens read, {kept:,} kept, {wall:.1f} s")
        print(f"xz decompression alone: {mbps:,.0f} MB/s of CoNLL-U text (1 core)")
        # per core: CPU seconds when everything ran in this process (workers=1), else wall x workers
        cpu = {k: timings[f"{k}_cpu"] if args.workers == 1 else timings[k] * cores
               for k in ("read", "sample", "count", "shard")}
        print(f"{'stage':<11}{'wall s':>8}{'core s':>8}{'tokens/s':>13}{'per core':>13}   tokens")
        for stage in ("read", "sample", "count", "shard"):
            n = kept if stage == "shard" else read
            print(f"{stage:<11}{timings[stage]:>8.2f}{cpu[stage]:>8.2f}{n / timings[stage]:>13,.0f}"
                  f"{n / cpu[stage]:>13,.0f}   {'kept' if stage == 'shard' else 'read'}")
        after, after_cpu = wall - timings["read"], sum(cpu[k] for k in ("sample", "count", "shard"))
        print(f"{'after read':<11}{after:>8.2f}{after_cpu:>8.2f}{read / after:>13,.0f}"
              f"{read / after_cpu:>13,.0f}   read")
        print(f"peak RSS: main process {own:,.0f} MB, largest worker {children:,.0f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default=",".join(PAPER_LANGUAGES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float,
                    help="scale mode: synthetic CoNLL-U .xz corpus of this many tokens (e.g. 1e8)")
    ap.add_argument("--workers", type=int, default=1,
                    help="scale mode: worker processes (tokens/s per core = / workers)")
    ap.add_argument("--keep", type=Path, help="scale mode: write the corpus (and cache) here and keep them")
    args = ap.parse_args()
    if args.scale:
        return scale(args)
    langs = args.langs.split(",")
    srcs = lambda: language_sources(langs, str(ROOT / "data/sample/text/{lang}.txt.xz"), None,  # noqa: E731
                                    str(ROOT / "data/udpipe"))
    print(f"machine: {os.cpu_count()} cores; languages: {' '.join(langs)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tok_rates = {}
        for workers in (1, 2):
            cache = tmp / f"cache{workers}"
            t0 = time.perf_counter()
            out = prepare(srcs(), AlphaSampling(1.0, "full"), tmp / f"out{workers}", cache,
                          PrepareOptions(workers=workers))
            dt = time.perf_counter() - t0
            n_tok = sum(json.loads((out / "metadata.json").read_text())["original_tokens"].values())
            # subtract the (measured below) post-tokenization time of the same corpus
            t1 = time.perf_counter()
            prepare(srcs(), AlphaSampling(1.0, "full"), tmp / f"again{workers}", cache,
                    PrepareOptions(workers=workers))
            rest = time.perf_counter() - t1
            tok_rates[workers] = n_tok / max(dt - rest, 1e-9)
            print(f"UDPipe tokenization, {workers} process(es): {n_tok:,} tokens in {dt - rest:.2f} s = "
                  f"{tok_rates[workers]:,.0f} tokens/s")
        print(f"tokenization speed-up 2 vs 1 processes: {tok_rates[2] / tok_rates[1]:.2f}x")
        best = float("inf")
        for r in range(args.repeat):
            t0 = time.perf_counter()
            out = prepare(srcs(), AlphaSampling(0.4, "alpha04"), tmp / f"bench{r}", tmp / "cache2",
                          PrepareOptions(workers=2))
            best = min(best, time.perf_counter() - t0)
        meta = json.loads((out / "metadata.json").read_text())
        read = sum(meta["original_tokens"].values())
        rate = read / best
        print(
            f"count + sample + vocabulary + shard (alpha04, 2 processes): {read:,} tokens read, "
            f"{meta['total_tokens']:,} kept, best of {args.repeat}: {best:.2f} s = {rate:,.0f} tokens/s"
        )
        print(f"ratio post-tokenization / tokenization (2 processes): {rate / tok_rates[2]:.1f}x")


if __name__ == "__main__":
    main()
