"""A whole UTF-8 text file as lines, with one-line errors naming the file (melmo.utils.errors)."""

from __future__ import annotations

from pathlib import Path


def read_lines(path: str | Path, what: str, error: type[Exception]) -> list[str]:
    """The lines of ``path`` (split on newlines, a final empty line dropped). A missing file or invalid
    UTF-8 raises ``error`` with one line: ``<path>: <what> not found`` or ``<path>: <what> is not UTF-8 (...)``."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise error(f"{path}: {what} is not UTF-8 ({err.reason} at byte {err.start})") from None
    return lines[:-1] if lines and lines[-1] == "" else lines


def split_lines(text: str) -> list[str]:
    """The one line rule of the project's line-aligned files (Tatoeba pairs; checked by melmo.datasets):
    lines end at ``\\n`` only, a final empty line is dropped, and a lone ``\\r`` is part of its line
    (Python's universal newlines would split there, and one stray ``\\r`` would misalign a pair)."""
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def count_lines(path: str | Path, error: type[Exception]) -> int:
    """``len(split_lines(<the UTF-8 text of path>))``; a missing or undecodable file raises ``error``,
    one line naming it."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8", newline="") as fh:  # newline="": no translation, \r kept
            return len(split_lines(fh.read()))
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"{path}: cannot read: {err}") from None
