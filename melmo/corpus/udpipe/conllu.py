"""CoNLL-U for UDPipe: files (.xz/.gz allowed, melmo.formats.files) parsed by UDPipe's own CoNLL-U input
format into ``ufal.udpipe.Sentences`` (the objects its trainer takes), sentence ranges."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import ufal.udpipe as ud

from melmo.corpus.udpipe.errors import OptionError, UDPipeError
from melmo.errors import MissingFileError
from melmo.formats.files import READ_ERRORS, open_text


def _read_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: CoNLL-U file not found")
    try:
        with open_text(path, newline=None) as fh:
            return fh.read()
    except (UnicodeDecodeError, *READ_ERRORS) as err:
        raise UDPipeError(f"{path}: cannot read ({err})") from None


def read_udpipe_sentences(paths: Sequence[Path], sentences: slice | None = None) -> "ud.Sentences":
    """The sentences of ``paths`` (read in order; .xz/.gz allowed) as UDPipe objects, ``sentences`` sliced."""
    out = ud.Sentences()
    index = 0
    sel = sentences or slice(None)
    for path in paths:
        fmt = ud.InputFormat.newConlluInputFormat()
        fmt.setText(_read_text(path))
        err = ud.ProcessingError()
        s = ud.Sentence()
        while fmt.nextSentence(s, err):
            out.append(s)
            s = ud.Sentence()
            index += 1
        if err.occurred():
            raise UDPipeError(f"{path}: invalid CoNLL-U after sentence {index}: {err.message}")
    if sel != slice(None):
        kept = ud.Sentences()
        for i in range(*sel.indices(len(out))):
            kept.append(out[i])
        out = kept
    return out


def parse_slice(spec: str | None) -> slice | None:
    """``":700"`` / ``"700:"`` / ``"100:200"`` -> a slice of sentence indices (0-based, end exclusive)."""
    if spec is None or spec in ("", ":"):
        return None
    m = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", spec)
    if not m:
        raise OptionError(f"sentence range {spec!r}: use START:END, e.g. ':700' or '700:'")
    return slice(int(m[1]) if m[1] else None, int(m[2]) if m[2] else None)


def _is_test_file(path: Path) -> bool:
    return bool(re.search(r"(^|[-_.])test([-_.]|$)", Path(path).name))
