"""Checks of a laid-out data root: every file present and parseable, aligned files of equal length,
labels present. Each part is checked when its folder exists; a problem is one DatasetError line
naming the file.

    counts = check_root(root, languages, xnli_languages)   # {"ud/fi": sentences, "tatoeba/fi": pairs, ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from pathlib import Path

from melmo.datasets.official import MNLI_DIR, MNLI_FILES, UD_FILE, XNLI_DIR, XNLI_FILES, DatasetError
from melmo.errors import FormatError
from melmo.formats.conllu import iter_conllu_forms, read_conllu
from melmo.formats.nli import read_mnli_jsonl, read_xnli_tsv
from melmo.formats.tatoeba import read_pair

CONLL17_SAMPLE_SENTENCES = 20  # sentences of the first CoNLL 2017 file read per language (the files are GBs;
# the first block that melmo.formats.text reads, a MiB, is checked whole)


def check_ud(root: Path, languages: Sequence[str], words: dict[str, int] | None = None) -> dict[str, int]:
    """Sentences per language; ``words``, when given, gets the syntactic words of each
    ``ud/<lang>/<split>``."""
    out = {}
    for lang in languages:
        d = root / "ud" / lang
        files = sorted(p for p in d.iterdir() if UD_FILE.match(p.name)) if d.is_dir() else []
        if not files:
            raise DatasetError(f"{d}: no treebank for language {lang} (<code>-ud-<split>.conllu)")
        codes = sorted({UD_FILE.match(p.name).group("code") for p in files})
        if len(codes) > 1:
            raise DatasetError(f"{d}: {len(codes)} treebanks ({', '.join(codes)}) where one is expected: "
                               "the tasks would pool them")
        if not any(UD_FILE.match(p.name).group("split") == "test" for p in files):
            raise DatasetError(f"{d}: treebank {codes[0]} has no test file")
        n = 0
        for p in files:
            try:
                sents = read_conllu(p)
                n += len(sents)
            except FormatError as err:
                raise DatasetError(str(err).splitlines()[0]) from None
            except OSError as err:
                raise DatasetError(f"{p}: cannot read: {err}") from None
            if words is not None:
                key = f"ud/{lang}/{UD_FILE.match(p.name).group('split')}"
                words[key] = words.get(key, 0) + sum(len(s.words) for s in sents)
        out[f"ud/{lang}"] = n
    return out


def check_tatoeba(root: Path, languages: Sequence[str]) -> dict[str, int]:
    out = {}
    for lang in languages:
        if lang == "en":
            continue
        try:
            xx, xs, _en, _es = read_pair(root, lang)
        except FormatError as err:
            raise DatasetError(str(err)) from None
        if not xs:
            raise DatasetError(f"{xx}: empty")
        out[f"tatoeba/{lang}"] = len(xs)
    return out


def check_nli(root: Path, xnli_languages: Sequence[str]) -> dict[str, int]:
    out = {}
    try:
        if (root / XNLI_DIR).is_dir():
            for name in XNLI_FILES:
                for lang in xnli_languages:  # every row of the language: its columns and gold label
                    out[f"{name}/{lang}"] = len(read_xnli_tsv(root / XNLI_DIR / name, lang))
        if (root / MNLI_DIR).is_dir():
            for name in MNLI_FILES:
                out[name] = len(read_mnli_jsonl(root / MNLI_DIR / name))
    except FormatError as err:
        raise DatasetError(str(err).splitlines()[0]) from None
    return out


def check_conll17(folder: Path, languages: Sequence[str]) -> dict[str, int]:
    """``folder``/<lang>/*wikipedia*.conllu.xz for every language (``data.conll17_root``)."""
    out = {}
    for lang in languages:
        d = Path(folder) / lang
        files = sorted(d.glob("*wikipedia*.conllu.xz")) if d.is_dir() else []
        if not files:
            raise DatasetError(f"{d}: no *wikipedia*.conllu.xz file (CoNLL 2017 raw text of {lang})")
        try:
            list(islice(iter_conllu_forms(files[0]), CONLL17_SAMPLE_SENTENCES))
        except FormatError as err:
            raise DatasetError(str(err)) from None
        out[f"conll17/{lang}"] = len(files)
    return out


def check_root(root: Path, languages: Sequence[str], xnli_languages: Sequence[str]) -> dict[str, int]:
    """Check every part of ``root`` that exists; at least one must."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such data root")
    parts = {"ud": lambda: check_ud(root, languages), "tatoeba": lambda: check_tatoeba(root, languages),
             "nli": lambda: check_nli(root, [x for x in xnli_languages if x in languages]),
             "conll17": lambda: check_conll17(root / "conll17", languages)}
    present = [name for name in parts if (root / name).is_dir()]
    if not present:
        raise DatasetError(f"{root}: none of {', '.join(f'{p}/' for p in parts)} here (not a data root)")
    counts: dict[str, int] = {}
    for name in present:
        counts.update(parts[name]())
    return counts
