"""Stage 1 of corpus preparation: one language's corpus -> tokenized sentences on disk.

The output is a cache keyed by the source file's content, the UDPipe model and the tokenizer
options, so every sampling strategy (alpha04, alpha02, trunc, ...) reuses one tokenization:

    <cache>/tokenized/<lang>-<fingerprint>/
        tokens.txt    one sentence per line, tokens joined by a single space
        lengths.u32   tokens per sentence (raw little-endian uint32, read as a memmap)
        stats.json    counts and the tokenization recorded for the model's metadata

Memory stays bounded: lines stream in, sentences stream out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from melmo.corpus.readers import CorpusError, check_exists, corpus_format
from melmo.corpus.select import stream_key
from melmo.formats.conllu import iter_conllu_forms
from melmo.formats.text import iter_text_lines
from melmo.utils.atomic import staged_dir

FORMAT_VERSION = 1  # bump when the cache layout or tokenization semantics change


@dataclass
class LanguageSource:
    """Where one language's text comes from and how it is tokenized."""

    lang: str
    paths: list[Path]  # one or more files, read in order (the CoNLL 2017 dumps come in many parts)
    udpipe_model: Path | None = None  # None for CoNLL-U input (already tokenized)
    tokenizer: dict = field(default_factory=dict)  # options for melmo.corpus.udpipe.Tokenizer


@dataclass
class Tokenized:
    """A finished stage-1 directory."""

    lang: str
    directory: Path

    @property
    def stats(self) -> dict:
        return json.loads((self.directory / "stats.json").read_text())

    def lengths(self) -> np.ndarray:
        if not self.n_sentences:
            return np.zeros(0, "<u4")
        return np.memmap(self.directory / "lengths.u32", dtype="<u4", mode="r")

    @property
    def n_sentences(self) -> int:
        return self.stats["sentences"]

    def sentences(self) -> Iterator[list[str]]:
        for line in self.lines():
            yield line.split(" ")

    def lines(self) -> Iterator[str]:
        """Each sentence as its line of space-separated tokens (no newline)."""
        with open(self.directory / "tokens.txt", encoding="utf-8") as fh:
            for line in fh:
                yield line[:-1] if line.endswith("\n") else line


def _split_long(tokens: list[str], max_len: int) -> list[list[str]]:
    """Cut a sentence into pieces of at most ``max_len`` tokens (over-long lines are split, never silently
    dropped)."""
    return [tokens[i : i + max_len] for i in range(0, len(tokens), max_len)]


def _sentences(src: LanguageSource) -> Iterator[list[str]]:
    tokenizer = None
    for path in src.paths:
        if corpus_format(path) == "conllu":
            yield from iter_conllu_forms(path)
            continue
        if tokenizer is None:
            from melmo.corpus.udpipe import Tokenizer

            # a model-free UDPipe tokenizer only when named (data.tokenizer.builtin); never silently
            model = None if src.tokenizer.get("builtin") else src.udpipe_model
            tokenizer = Tokenizer(model, **src.tokenizer)
        yield from tokenizer.tokenize_lines(iter_text_lines(path))


def fingerprint(src: LanguageSource, source_hash: list[str], model_hash: str | None, max_sentence_tokens: int,
                max_chars: int) -> str:
    return format(
        stream_key(FORMAT_VERSION, src.lang, source_hash, model_hash, sorted(src.tokenizer.items()),
                   max_sentence_tokens, max_chars),
        "016x",
    )


def tokenize_language(src: LanguageSource, out_dir: Path, *, max_sentence_tokens: int, max_chars: int,
                      provenance: dict) -> Tokenized:
    """Tokenize ``src`` into ``out_dir`` (atomically: a temporary sibling renamed at the end)."""
    out_dir = Path(out_dir)
    if (out_dir / "stats.json").is_file():
        return Tokenized(src.lang, out_dir)
    for path in src.paths:
        check_exists(path, src.lang)
    with staged_dir(out_dir, "stats.json") as tmp:  # published when the block ends without an error
        n_sent = n_tok = n_split = n_cut = 0
        # imported here, not at the top: melmo.model loads torch, which the corpus CLI otherwise never needs
        from melmo.model.chars import count_truncated

        # bilm-tf keeps max_characters_per_token - 2 bytes (BOW/EOW; bilm-tf bilm/data.py)
        max_bytes = max_chars - 2
        buf = np.empty(1 << 16, dtype="<u4")
        fill = 0
        with open(tmp / "tokens.txt", "w", encoding="utf-8") as ftok, open(tmp / "lengths.u32", "wb") as flen:
            for tokens in _sentences(src):
                if not all(map(str.strip, tokens)) or any(" " in t for t in tokens):
                    tokens = [t.replace(" ", "\u00a0") for t in tokens if t.strip()]
                if not tokens:
                    continue
                pieces = (_split_long(tokens, max_sentence_tokens) if len(tokens) > max_sentence_tokens
                          else [tokens])
                n_split += len(pieces) > 1
                for piece in pieces:
                    ftok.write(" ".join(piece))
                    ftok.write("\n")
                    # a UTF-8 character is 1-4 bytes: else none is cut
                    if max(map(len, piece)) * 4 > max_bytes:
                        n_cut += count_truncated(piece, max_chars)  # spelled in over max_chars - 2 bytes
                    n_sent += 1
                    n_tok += len(piece)
                    buf[fill] = len(piece)
                    fill += 1
                    if fill == len(buf):
                        flen.write(buf.tobytes())
                        fill = 0
            flen.write(buf[:fill].tobytes())
        if n_tok == 0:
            raise CorpusError(f"{src.paths[0]}: corpus for language {src.lang!r} has no tokens")
        stats = {
            "lang": src.lang,
            "sentences": n_sent,
            "tokens": n_tok,
            "long_sentences_split": n_split,
            "max_sentence_tokens": max_sentence_tokens,
            "tokens_cut": n_cut,
            "tokens_cut_share": n_cut / n_tok,
            "max_characters_per_token": max_chars,
            **provenance,
        }
        (tmp / "stats.json").write_text(json.dumps(stats, indent=1, default=str))
    return Tokenized(src.lang, out_dir)
