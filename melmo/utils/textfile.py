"""A whole UTF-8 text file as lines, with one-line errors naming the file (melmo.utils.errors)."""

from __future__ import annotations

from pathlib import Path


def read_lines(path: str | Path, what: str, error: type[Exception]) -> list[str]:
    """The lines of ``path`` (split on newlines, a final empty line dropped). A missing file or invalid
    UTF-8 raises ``error`` with one line: ``<path>: <what> not found`` or
    ``<path>: <what> is not UTF-8 (...)``."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise error(f"{path}: {what} is not UTF-8 ({err.reason} at byte {err.start})") from None
    return lines[:-1] if lines and lines[-1] == "" else lines

