"""Corpus preparation: per-language corpora -> one sampled, shuffled, sharded training stream.

    sources ──► stage 1 (melmo.corpus.tokenized, cached per language, parallel)
            ──► held-out split per language (fixed by the data, not by the sampling seed)
            ──► token counts ──► sampler.sizes() ──► targets
            ──► whole sentences drawn per language (melmo.corpus.select, seeded)
            ──► vocabulary ranked by frequency in the sampled mixture
            ──► token ids scattered to shards by a seeded hash, each shard shuffled
            ──► <out_root>/<name>-<fingerprint>/ written atomically

Output directory::

    metadata.json      counts, strategy, targets, realised sizes, seed, sources + hashes, UDPipe models
    vocab.txt          <S>, </S>, <UNK>, then tokens by descending frequency (bilm-tf order), vocab_size lines
    types.txt          the same order, every type kept (ids of the stream index this file)
    shards/NNNNN.*.npy tokens (uint32 ids), lengths (uint32), langs (uint8) of each shard's sentences
    heldout/<lang>.*.npy  the same arrays for each language's held-out sentences

Everything streams: memory is bounded by the shard size and the type counter's capacity, not by
the corpus size. The directory name carries a fingerprint of the config and the inputs' content,
so a second run with the same config and inputs reuses it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path


from melmo import __version__
from melmo.corpus.hashcache import cached_sha256
from melmo.corpus.readers import CorpusError, check_exists, corpus_format
from melmo.corpus.prepare_workers import count_job, shard_job, tokenize_job, write_job
from melmo.corpus.select import budget_cutoff, heldout_rule, selected_total, stream_key
from melmo.corpus.sources import check_udpipe_model
from melmo.corpus.tokenized import LanguageSource, Tokenized, fingerprint
from melmo.corpus.vocabulary import SPECIALS, corpus_types, read_vocab_file, vocab_path
from melmo.languages import check_language
from melmo.utils.atomic import staged_dir
from melmo.utils.lifeline import die_with_parent

log = logging.getLogger(__name__)

PREPARE_VERSION = 2  # 2: held-out split in tokens, unk_tokens counted against the softmax vocabulary


@dataclass(frozen=True)
class PrepareOptions:
    """Every number of corpus preparation. The defaults are conf/data/sample.yaml's (the sample's sizes;
    conf/data/conll17.yaml's paper-scale ones override four); the YAML comments say where each comes from."""

    seed: int = 1  # train.py passes ${seed}
    vocab_size: int = 20_000
    max_types: int = 2_000_000  # types kept in types.txt (beyond: <UNK>, spelled as such)
    count_capacity: int = 5_000_000  # type counter entries before rare ones are pruned
    max_sentence_tokens: int = 200
    # melmo.model.chars.MAX_CHARS (not imported: it loads torch); train.py passes the model's
    max_chars: int = 50
    heldout_tokens: int = 2_500  # held-out tokens per language (whole sentences, drawn until reached)
    heldout_max_share: float = 0.25  # but never more than this share of a language's tokens
    shard_tokens: int = 200_000
    workers: int = 2
    # a given vocabulary (e.g. a model's vocab.txt): its tokens are the softmax classes
    vocab_file: str | None = None

    def check(self) -> None:
        """One-line errors naming the config key (data.prepare.*) of a value preparation cannot use."""
        if self.vocab_file is None and self.vocab_size < len(SPECIALS) + 1:
            raise CorpusError(f"data.prepare.vocab_size={self.vocab_size}: must be at least "
                              f"{len(SPECIALS) + 1} (the special tokens {', '.join(SPECIALS)} and one word)")
        if self.vocab_file is None and self.max_types < self.vocab_size - len(SPECIALS):
            raise CorpusError(f"data.prepare.max_types={self.max_types}: smaller than "
                              f"vocab_size={self.vocab_size} needs")
        for key in ("max_sentence_tokens", "shard_tokens", "count_capacity", "workers"):
            if getattr(self, key) < 1:
                raise CorpusError(f"data.prepare.{key}={getattr(self, key)}: must be at least 1")


# ------------------------------------------------------------------------------------------


def _pool(workers: int, n_jobs: int):
    if workers <= 1 or n_jobs <= 1:
        return None
    return ProcessPoolExecutor(max_workers=min(workers, n_jobs),
                               mp_context=get_context("fork" if sys.platform == "linux" else "spawn"),
                               # kill -9 of us ends them too
                               initializer=die_with_parent, initargs=(os.getpid(),))


def _map(pool, fn, jobs):
    return list(pool.map(fn, jobs)) if pool is not None else [fn(j) for j in jobs]


def _validate(sources: list[LanguageSource]) -> list[LanguageSource]:
    seen = set()
    for src in sources:
        src.lang = check_language(src.lang)
        if src.lang in seen:
            raise CorpusError(f"language {src.lang!r} is configured twice")
        seen.add(src.lang)
        if not src.paths:
            raise CorpusError(f"no corpus files configured for language {src.lang!r}")
        for path in src.paths:
            check_exists(path, src.lang)
        if any(corpus_format(p) == "text" for p in src.paths) and not src.tokenizer.get("builtin"):
            if src.udpipe_model is None or not Path(src.udpipe_model).is_file():
                raise CorpusError(
                    f"{src.udpipe_model}: UDPipe model for language {src.lang!r} not found "
                    f"(train one: python -m melmo.corpus.udpipe train --lang {src.lang} ...)"
                )
    if not sources:
        raise CorpusError("no languages configured")
    return sources


def prepare(sources: list[LanguageSource], sampler, out_root: Path, cache_dir: Path, opts: PrepareOptions,
            name: str = "corpus", timings: dict | None = None) -> Path:
    """Prepare (or reuse) the training corpus for ``sampler``; return its directory. ``timings``, when
    given, receives the seconds of each stage: read (stage 1), sample, count, shard (and ``<stage>_cpu``)."""
    clock = [time.perf_counter(), time.process_time()]

    def lap(stage: str) -> None:  # wall seconds, and CPU seconds of this process (all of it when workers=1)
        now = [time.perf_counter(), time.process_time()]
        if timings is not None:
            timings[stage], timings[f"{stage}_cpu"] = now[0] - clock[0], now[1] - clock[1]
        clock[:] = now

    opts.check()
    available = [check_language(s.lang) for s in sources]
    wanted = sampler.languages(available)
    sources = _validate([s for s in sources if check_language(s.lang) in wanted])
    out_root, cache_dir = Path(out_root), Path(cache_dir)

    # Stage 1: tokenization, cached per language by content.
    jobs, provenance = [], {}
    for src in sources:
        src_hash = [cached_sha256(p, cache_dir) for p in src.paths]
        needs_model = any(corpus_format(p) == "text" for p in src.paths) and not src.tokenizer.get("builtin")
        model_hash = cached_sha256(src.udpipe_model, cache_dir) if needs_model else None
        prov = {
            "source": [str(p) for p in src.paths], "source_sha256": src_hash,
            "format": sorted({corpus_format(p) for p in src.paths}),
            "udpipe_model": str(src.udpipe_model) if model_hash else None, "udpipe_model_sha256": model_hash,
            "tokenizer": (dict(src.tokenizer) if any(corpus_format(p) == "text" for p in src.paths)
                          else "conllu FORM column (syntactic words)"),
        }
        fp = fingerprint(src, src_hash, model_hash, opts.max_sentence_tokens, opts.max_chars)
        if needs_model and not (cache_dir / "tokenized" / f"{src.lang}-{fp}" / "stats.json").is_file():
            check_udpipe_model(src.udpipe_model, src.lang, src.tokenizer)  # before any worker starts
        jobs.append((src, cache_dir / "tokenized" / f"{src.lang}-{fp}", opts, prov))
        provenance[src.lang] = (fp, prov)
    given = read_vocab_file(vocab_path(opts.vocab_file)) if opts.vocab_file else None
    # by content, not by path
    given_hash = cached_sha256(vocab_path(opts.vocab_file), cache_dir) if given else None
    fp_all = format(stream_key(
        PREPARE_VERSION, sorted((k, v[0]) for k, v in provenance.items()), sorted(sampler.describe().items()),
        sorted(asdict(opts).items() - {("workers", opts.workers), ("vocab_file", opts.vocab_file)}),
        given_hash,
    ), "016x")
    out_dir = out_root / f"{name}-{sampler.describe()['name']}-seed{opts.seed}-{fp_all[:12]}"
    if (out_dir / "metadata.json").is_file():
        log.info("reusing prepared corpus %s", out_dir)
        return out_dir

    pool = _pool(opts.workers, len(jobs))
    try:
        toks: list[Tokenized] = _map(pool, tokenize_job, jobs)
        lap("read")
        langs = [t.lang for t in toks]

        # Held-out split (depends on the data only) and the counts the sampler sees.
        plans, counts, stats = {}, {}, {}
        for tok in toks:
            lengths = tok.lengths()
            st = tok.stats
            held = heldout_rule(tok.lang, lengths, opts.heldout_tokens, opts.heldout_max_share)
            plans[tok.lang] = {"heldout": held}
            held_tokens = selected_total(lengths, held) if held is not None else 0
            counts[tok.lang] = st["tokens"] - held_tokens
            if counts[tok.lang] <= 0:
                raise CorpusError(f"{st['source'][0]}: corpus for language {tok.lang!r} is too small to "
                                  "leave training data after the held-out split")
            stats[tok.lang] = st
        targets = sampler.sizes(counts)
        for tok in toks:
            plan, n, target = plans[tok.lang], counts[tok.lang], targets[tok.lang]
            repeats, remainder = divmod(target, n)
            plan["repeats"] = repeats
            if remainder:
                key = stream_key(opts.seed, "sample", tok.lang)
                plan["rule"] = (key, budget_cutoff(tok.lengths(), key, remainder, plan["heldout"]))
            else:
                plan["rule"] = None

        lap("sample")
        # Vocabulary by frequency in the sampled mixture.
        counted = _map(pool, count_job, [(t, plans[t.lang], opts.count_capacity) for t in toks])
        total: Counter = Counter()
        pruned = False
        for _, c, p, _ in counted:
            total.update(c)
            pruned |= p
        ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
        types, vocab_size = corpus_types([t for t, _ in ranked], given,
                                         (t for *_, held in counted for t in held), opts.max_types,
                                         opts.vocab_size)
        with staged_dir(out_dir, "metadata.json") as tmp:  # published when the block ends without an error
            for sub in ("pieces", "shards", "heldout"):
                (tmp / sub).mkdir()
            (tmp / "types.txt").write_text("".join(t + "\n" for t in types), encoding="utf-8")
            (tmp / "vocab.txt").write_text("".join(t + "\n" for t in types[:vocab_size]), encoding="utf-8")

            selected_tokens = sum(targets.values())
            n_buckets = max(1, math.ceil(selected_tokens / opts.shard_tokens))
            lap("count")
            sizes = _map(pool, write_job, [(t, plans[t.lang], i, tmp, n_buckets, opts.seed, vocab_size)
                                            for i, t in enumerate(toks)])
            n_per_shard = _map(pool, shard_job, [(tmp, b, langs, opts.seed) for b in range(n_buckets)])
            shutil.rmtree(tmp / "pieces")
            shards = [f"{b:05d}" for b, n in enumerate(n_per_shard) if n]
            realised = {lang: s for lang, s in zip(langs, sizes)}
            freq = {t: total[t] for t in types[len(SPECIALS) : vocab_size]}
            meta = {
                "melmo_version": __version__,
                "prepare_version": PREPARE_VERSION,
                "name": name,
                "fingerprint": fp_all,
                "languages": langs,
                "sampling": sampler.describe(),
                "seed": opts.seed,
                "options": asdict(opts),
                "original_tokens": {lang: stats[lang]["tokens"] for lang in langs},
                "available_tokens": counts,
                "target_tokens": targets,
                "realised": realised,
                "realised_share": {
                    lang: realised[lang]["tokens"] / max(1, sum(r["tokens"] for r in realised.values()))
                    for lang in langs},
                "total_tokens": sum(r["tokens"] for r in realised.values()),
                "tokens_cut_share": {lang: stats[lang]["tokens_cut_share"] for lang in langs},
                "long_sentences_split": {lang: stats[lang]["long_sentences_split"] for lang in langs},
                "vocab_size": vocab_size,
                "vocab_file": {"path": str(opts.vocab_file), "sha256": given_hash} if given else None,
                "n_types": len(types),
                "vocab_coverage": sum(freq.values()) / max(1, sum(total.values())),
                "type_counter_pruned": pruned,
                "shards": shards,
                "sources": {lang: provenance[lang][1] for lang in langs},
                "tokenized_cache": {lang: provenance[lang][0] for lang in langs},
            }
            (tmp / "metadata.json").write_text(json.dumps(meta, indent=1, default=str))
        lap("shard")
    finally:
        if pool is not None:
            pool.shutdown()
    log.info("prepared corpus %s", out_dir)
    return out_dir

