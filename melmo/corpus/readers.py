"""Read a language's corpus: plain text (.txt, .gz, .xz) or CoNLL-U (also .conllu.gz/.xz).

Both readers stream (constant memory whatever the file size) and fail with a one-line
``CorpusError`` naming the file and the place: the byte offset of invalid UTF-8 or of a NUL byte
(NUL is refused, never silently dropped: it means a UTF-16 or binary file), the line of a
malformed CoNLL-U row.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class CorpusError(ValueError):
    """A corpus file that cannot be used (one-line message naming the file)."""


def _open_binary(path: Path) -> BinaryIO:
    name = path.name
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def corpus_format(path: Path) -> str:
    """``conllu`` or ``text``, from the file name (compression suffix ignored)."""
    name = Path(path).name
    for suffix in (".gz", ".xz"):
        name = name.removesuffix(suffix)
    return "conllu" if name.endswith(".conllu") else "text"


def check_exists(path: Path, lang: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory, expected a corpus file for language {lang!r} (name the files, or a glob such as {path}/*.conllu.xz)")
    if not path.is_file():
        raise CorpusError(f"{path}: corpus file for language {lang!r} not found")
    if path.stat().st_size == 0:
        raise CorpusError(f"{path}: corpus file for language {lang!r} is empty")
    return path


BLOCK = 1 << 20  # bytes decoded at a time: per-line readline and decode cost more than the parsing


def _decode(path: Path, block: bytes, offset: int, compressed: bool) -> str:
    """``block`` (whole lines; ``offset`` = its first byte in the file) as text: UTF-8, no NUL."""
    where = "decompressed byte offset" if compressed else "byte offset"
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorpusError(f"{path}: invalid UTF-8 at {where} {offset + err.start} ({err.reason})") from None
    if "\0" in text:  # rule: NUL is never text (UTF-16, a binary file, a broken dump): refuse it
        raise CorpusError(f"{path}: NUL byte at {where} {offset + block.index(0)} (not a UTF-8 text file? remove NUL bytes first)")
    return text


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    return lines


def iter_blocks(path: Path) -> Iterator[str]:
    """The file as decoded blocks of whole lines (``BLOCK`` bytes and up to the next newline);
    invalid UTF-8 or a NUL byte raises with its byte offset."""
    path = Path(path)
    compressed = path.name.endswith((".gz", ".xz"))
    offset = 0
    try:
        with _open_binary(path) as fh:
            pending = b""
            while block := fh.read(BLOCK):
                block = pending + block if pending else block
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    pending = block
                    continue
                pending = block[cut:]
                yield _decode(path, block[:cut], offset, compressed)
                offset += cut
            if pending:
                yield _decode(path, pending, offset, compressed)
    except (OSError, EOFError, lzma.LZMAError) as err:  # truncated or corrupt archive
        raise CorpusError(f"{path}: cannot read ({err})") from None


def iter_lines(path: Path) -> Iterator[str]:
    """Decoded lines without their line ending ("\n", "\r\n"); errors as ``iter_blocks``."""
    for text in iter_blocks(path):
        yield from _lines(text)


def iter_text_lines(path: Path) -> Iterator[str]:
    """Non-empty lines of a plain-text corpus, surrounding whitespace stripped."""
    for line in iter_lines(path):
        line = line.strip()
        if line:
            yield line


def iter_conllu_sentences(path: Path) -> Iterator[list[str]]:
    """The FORM column of each sentence; multiword ranges (``1-2``) and empty nodes (``1.1``)
    are skipped, so a sentence is its syntactic words (as the CoNLL 2017 dumps are tokenized).
    (Whole-block regular expressions were tried: 3x slower than this loop, as ``^`` in MULTILINE
    mode is tried at every character.)"""
    words: list[str] = []
    lineno = 0
    for text in iter_blocks(path):
        yield from _block_forms(path, _lines(text), lineno, words)
        lineno += text.count("\n") + (not text.endswith("\n"))
    if words:
        yield words


def _block_forms(path: Path, lines: list[str], before: int, words: list[str]) -> list[list[str]]:
    """Sentences completed in ``lines`` (``before`` lines came before; ``words``: the open sentence,
    carried from block to block)."""
    out = []
    for lineno, line in enumerate(lines, start=before + 1):
        if not line or line.isspace():
            if words:
                out.append(words[:])
                words.clear()
            continue
        if line[0] == "#":
            continue
        if line.count("\t") != 9:
            raise CorpusError(f"{path}:{lineno}: malformed CoNLL-U line: {line.count(chr(9)) + 1} tab-separated columns, expected 10")
        ident, form, _ = line.split("\t", 2)
        if not ident.isdigit():
            if "-" in ident or "." in ident:
                parts = ident.replace("-", ".").split(".")
                if len(parts) != 2 or not all(p.isdigit() for p in parts):
                    raise CorpusError(f"{path}:{lineno}: malformed CoNLL-U line: bad ID {ident!r}")
                continue
            raise CorpusError(f"{path}:{lineno}: malformed CoNLL-U line: bad ID {ident!r}")
        if not form:
            raise CorpusError(f"{path}:{lineno}: malformed CoNLL-U line: empty FORM")
        words.append(form.replace(" ", "\u00a0") if " " in form else form)  # tokens never contain spaces in our files
    return out


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
