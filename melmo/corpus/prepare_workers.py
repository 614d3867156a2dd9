"""The process-pool jobs of corpus preparation (melmo.corpus.prepare): tokenize a language, count the
types of its kept sentences, scatter its sentences as token ids into bucket pieces (and write its held-out
arrays), concatenate and shuffle one bucket into a shard. Module-level functions so a process pool can
pickle them (forked on Linux: no re-import of ``__main__``); each takes one tuple of arguments.
"""

from __future__ import annotations

from collections import Counter
from itertools import repeat
from pathlib import Path

import numpy as np

from melmo.corpus.select import CHUNK, ChunkedBuckets, chunk_mask, stream_key
from melmo.corpus.tokenized import Tokenized, tokenize_language

UNK_ID = 2  # vocab.txt starts <S>, </S>, <UNK> (bilm-tf bilm/data.py Vocabulary)
FLUSH_TOKENS = 4_000_000  # tokens a write worker buffers before its bucket pieces go to disk (~16 MB)




def tokenize_job(args) -> Tokenized:
    src, out_dir, opts, provenance = args
    return tokenize_language(src, out_dir, max_sentence_tokens=opts.max_sentence_tokens,
                             max_chars=opts.max_chars, provenance=provenance)


def _iter_selected(tok: Tokenized, plan: dict):
    """(sentence index, tokens, copies) of every sentence the plan keeps, in file order."""
    n = tok.n_sentences
    start = 0
    lines = tok.lines()  # split into tokens only when kept: a downsampled language skips most
    while start < n:
        stop = min(start + CHUNK, n)
        held = chunk_mask(start, stop, plan["heldout"])
        copies = plan["repeats"] + chunk_mask(start, stop, plan["rule"], plan["heldout"]).astype(np.int64)
        copies[held] = -1
        for j, c in enumerate(copies.tolist()):
            line = next(lines)
            if c:
                yield start + j, line.split(" "), c
        start = stop


def count_job(args) -> tuple[str, Counter, bool, list[str]]:
    tok, plan, capacity = args
    counts: Counter = Counter()
    pruned = False
    held: dict[str, None] = {}  # held-out types in first-seen order: kept in types.txt for their spelling
    for _, tokens, copies in _iter_selected(tok, plan):
        if copies < 0:
            held.update(dict.fromkeys(tokens))
        if copies <= 0:
            continue
        for _ in range(copies):
            counts.update(tokens)
        if len(counts) > capacity:  # lossy counting: drop the rarest half; the vocabulary's head stays exact
            keep = counts.most_common(capacity // 2)
            counts = Counter(dict(keep))
            pruned = True
    return tok.lang, counts, pruned, list(held)


_TYPE_IDS: dict = {}  # per worker process: the type -> id table of the corpus being written (built once)


def _type_ids(path: Path) -> dict[str, int]:
    if path not in _TYPE_IDS:
        _TYPE_IDS.clear()
        _TYPE_IDS[path] = {t: i for i, t in enumerate(path.read_text(encoding="utf-8").split("\n")[:-1])}
    return _TYPE_IDS[path]


def write_job(args) -> dict:
    """Scatter one language's kept sentences into bucket pieces; write its held-out arrays."""
    tok, plan, lang_index, tmp, n_buckets, seed, vocab_size = args
    ids = _type_ids(tmp / "types.txt")
    buckets = [([], []) for _ in range(n_buckets)]  # (token id arrays, lengths) per bucket
    buffered, flushes = 0, 0

    def flush() -> None:  # bounded memory: pieces go to disk every FLUSH_TOKENS tokens
        for b, (arrs, lens) in enumerate(buckets):
            if arrs:
                piece = tmp / "pieces" / f"{b:05d}.{tok.lang}.{flushes:05d}"
                np.save(f"{piece}.tokens.npy", np.concatenate(arrs))
                np.save(f"{piece}.lengths.npy", np.asarray(lens, dtype="<u4"))
                arrs.clear()
                lens.clear()
    bucket_of = ChunkedBuckets(lambda c: stream_key(seed, "shard", tok.lang, c), tok.n_sentences, n_buckets)
    held_tokens, held_lengths = [], []
    sizes = {"tokens": 0, "sentences": 0, "unk_tokens": 0, "heldout_tokens": 0, "heldout_sentences": 0,
             "heldout_unk_tokens": 0}
    for idx, tokens, copies in _iter_selected(tok, plan):
        arr = np.array(list(map(ids.get, tokens, repeat(UNK_ID, len(tokens)))), dtype="<u4")
        unk = count_unk(arr, vocab_size)
        if copies < 0:
            held_tokens.append(arr)
            held_lengths.append(len(arr))
            sizes["heldout_tokens"] += len(arr)
            sizes["heldout_sentences"] += 1
            sizes["heldout_unk_tokens"] += unk
            continue
        for c in range(copies):
            b = bucket_of(idx, c)
            buckets[b][0].append(arr)
            buckets[b][1].append(len(arr))
            sizes["tokens"] += len(arr)
            sizes["sentences"] += 1
            sizes["unk_tokens"] += unk
            buffered += len(arr)
        if buffered >= FLUSH_TOKENS:
            flush()
            buffered, flushes = 0, flushes + 1
    flush()
    held = tmp / "heldout" / tok.lang
    np.save(f"{held}.tokens.npy", np.concatenate(held_tokens) if held_tokens else np.zeros(0, "<u4"))
    np.save(f"{held}.lengths.npy", np.asarray(held_lengths, dtype="<u4"))
    np.save(f"{held}.langs.npy", np.full(len(held_lengths), lang_index, dtype="u1"))
    return sizes


def count_unk(ids: np.ndarray, vocab_size: int) -> int:
    """Tokens that the softmax sees as <UNK>: every id >= vocab_size (types kept in types.txt but
    outside the vocabulary, PreparedCorpus.targets) and id 2 itself (types beyond max_types)."""
    ids = np.asarray(ids)
    return int(((ids >= vocab_size) | (ids == UNK_ID)).sum())


def shard_job(args) -> int:
    """Concatenate a bucket's pieces over languages and shuffle its sentences."""
    tmp, b, langs, seed = args
    toks, lens, lang_ids = [], [], []
    for i, lang in enumerate(langs):
        for piece in sorted((tmp / "pieces").glob(f"{b:05d}.{lang}.*.tokens.npy")):
            toks.append(np.load(piece))
            lens.append(np.load(str(piece).replace(".tokens.npy", ".lengths.npy")))
            lang_ids.append(np.full(len(lens[-1]), i, dtype="u1"))
    if not toks:
        return 0
    tokens, lengths, langs_arr = np.concatenate(toks), np.concatenate(lens), np.concatenate(lang_ids)
    starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)[:-1]])
    order = np.random.default_rng(stream_key(seed, "shuffle", b) % (1 << 63)).permutation(len(lengths))
    pieces = [tokens[starts[i] : starts[i] + lengths[i]] for i in order]
    out = tmp / "shards" / f"{b:05d}"
    np.save(f"{out}.tokens.npy", np.concatenate(pieces))
    np.save(f"{out}.lengths.npy", lengths[order])
    np.save(f"{out}.langs.npy", langs_arr[order])
    return len(lengths)
