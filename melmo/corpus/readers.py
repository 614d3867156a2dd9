"""A language's corpus files: plain text (.txt, .gz, .xz) or CoNLL-U (also .conllu.gz/.xz), told apart by
name; a missing, empty or misnamed file is a one-line ``CorpusError``. The streaming readers are
melmo.formats.text (lines) and melmo.formats.conllu (forms), whose errors name the byte offset or line.
"""

from __future__ import annotations

from pathlib import Path

from melmo.errors import MelmoError


class CorpusError(MelmoError, ValueError):
    """A corpus file that cannot be used (one-line message naming the file)."""


def corpus_format(path: Path) -> str:
    """``conllu`` or ``text``, from the file name (compression suffix ignored)."""
    name = Path(path).name
    for suffix in (".gz", ".xz"):
        name = name.removesuffix(suffix)
    return "conllu" if name.endswith(".conllu") else "text"


def check_exists(path: Path, lang: str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise CorpusError(f"{path}: is a directory, expected a corpus file for language {lang!r} (name the "
                          f"files, or a glob such as {path}/*.conllu.xz)")
    if not path.is_file():
        raise CorpusError(f"{path}: corpus file for language {lang!r} not found")
    if path.stat().st_size == 0:
        raise CorpusError(f"{path}: corpus file for language {lang!r} is empty")
    return path
