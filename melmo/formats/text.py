"""Streaming a text file (plain, .xz or .gz) as decoded lines, in constant memory whatever its size.

Invalid UTF-8 or a NUL byte raises a one-line :class:`~melmo.errors.FormatError` naming the file and the
byte offset (NUL is refused, never silently dropped: it means a UTF-16 or binary file); so does a truncated
or corrupt archive.

    for block in iter_blocks(path): ...     # whole lines, about BLOCK bytes at a time (the fast path)
    for line in iter_lines(path): ...       # lines without their ending ("\\n", "\\r\\n")
    for line in iter_text_lines(path): ...  # non-empty lines, surrounding whitespace stripped
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from melmo.errors import FormatError
from melmo.formats.files import COMPRESSED, READ_ERRORS, open_text

BLOCK = 1 << 20  # bytes decoded at a time: per-line readline and decode cost more than the parsing


def _decode(path: Path, block: bytes, offset: int, compressed: bool) -> str:
    """``block`` (whole lines; ``offset`` = its first byte in the file) as text: UTF-8, no NUL."""
    where = "decompressed byte offset" if compressed else "byte offset"
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FormatError(f"{path}: invalid UTF-8 at {where} {offset + err.start} ({err.reason})") from None
    if "\0" in text:  # rule: NUL is never text (UTF-16, a binary file, a broken dump): refuse it
        raise FormatError(f"{path}: NUL byte at {where} {offset + block.index(0)} "
                          "(not a UTF-8 text file? remove NUL bytes first)")
    return text


def split_lines(text: str) -> list[str]:
    """The lines of a decoded block, without their endings."""
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
    compressed = path.suffix in COMPRESSED
    offset = 0
    try:
        with open_text(path, binary=True) as fh:
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
    except READ_ERRORS as err:  # truncated or corrupt archive
        raise FormatError(f"{path}: cannot read ({err})") from None


def iter_lines(path: Path) -> Iterator[str]:
    """Decoded lines without their line ending ("\\n", "\\r\\n"); errors as ``iter_blocks``."""
    for text in iter_blocks(path):
        yield from split_lines(text)


def iter_text_lines(path: Path) -> Iterator[str]:
    """Non-empty lines of a plain-text corpus, surrounding whitespace stripped."""
    for line in iter_lines(path):
        line = line.strip()
        if line:
            yield line
