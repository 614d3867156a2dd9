"""Tatoeba pairs as LASER's tatoeba v1 ships them (and XTREME reads them): ``tatoeba.<iso3>-eng.<iso3>`` and
``tatoeba.<iso3>-eng.eng`` under ``<root>/tatoeba`` (each also as ``.xz`` / ``.gz``). Line i of one file
translates line i of the other, so gold is the line index (never a sorted order: xtreme#17, #61).

    tatoeba_languages(root)             # our language codes with a pair file
    xx, xs, en, es = read_pair(root, lang)   # (file, lines) of the other language and of English

A missing directory or file, text that is not UTF-8, or files of unequal length raise a one-line
``TatoebaError`` naming the file.
"""

from __future__ import annotations

from pathlib import Path

from melmo.errors import FormatError
from melmo.formats.files import READ_ERRORS, compressed_variant, open_text
from melmo.languages import ISO3


class TatoebaError(FormatError):
    """Tatoeba data that cannot be used (one-line message naming the file)."""


def tatoeba_languages(root) -> list[str]:
    base = Path(root) / "tatoeba"
    if not base.is_dir():
        raise TatoebaError(f"{base}: no Tatoeba data directory (set data.root)")
    return sorted(lang for lang, iso in ISO3.items()
                  if lang != "en" and compressed_variant(base / f"tatoeba.{iso}-eng.{iso}"))


def read_pair(root, lang: str) -> tuple[Path, list[str], Path, list[str]]:
    """(other-language file, lines, English file, lines); unequal lengths are an error."""
    iso, base = ISO3[lang], Path(root) / "tatoeba"
    xx = compressed_variant(base / f"tatoeba.{iso}-eng.{iso}")
    en = compressed_variant(base / f"tatoeba.{iso}-eng.eng")
    for name, found in ((f"tatoeba.{iso}-eng.{iso}", xx), (f"tatoeba.{iso}-eng.eng", en)):
        if found is None:
            raise TatoebaError(f"{base / name}: file not found")
    xs, es = read_lines(xx), read_lines(en)
    if len(xs) != len(es):
        raise TatoebaError(f"{xx}: {len(xs)} lines but {en.name} has {len(es)}: "
                           "the files must be aligned line by line")
    return xx, xs, en, es


def read_lines(path: Path) -> list[str]:
    """Every line of ``path`` (an empty line kept: it is still one side of a pair)."""
    try:
        with open_text(path) as fh:
            text = fh.read()
    except UnicodeDecodeError as e:
        raise TatoebaError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except READ_ERRORS as e:
        raise TatoebaError(f"{path}: cannot read ({e})") from None
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
