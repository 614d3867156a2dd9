"""Readers of NLI pairs: XTREME's XNLI layout, the official XNLI 1.0 tsv, MultiNLI jsonl, the MultiNLI sample
tsv.

Every reader returns an ``NLIData`` (pairs with labels in ``LABELS``, the number of rows dropped) and
checks counts on load: the number of rows against ``expected_rows`` when given, and, for XTREME test
files, the number of labels in ``test-labels.txt`` against the number of rows. A row with the wrong
number of columns, an unknown label or bad JSON raises ``NLIFormatError`` naming the file and line.
"contradictory" (XNLI-MT's spelling) means "contradiction". Files may be .gz or .xz, and a path
that does not exist is also looked for with those suffixes.

Formats:
* XTREME (google-research/xtreme utils_preprocess.py): ``{dev,test}-<lang>.tsv`` no header,
  ``premise<TAB>hypothesis<TAB>label``, written by ``csv.writer`` (a field holding ``"`` is quoted and its
  quotes doubled: undone on read). A ``test-<lang>.tsv`` of two columns (``premise<TAB>hypothesis``, the
  shipped slice) takes its labels from ``test-labels.txt`` (line i for row i of every language).
* XNLI 1.0 ``xnli.{dev,test}.tsv``: header naming the columns; ``language``, ``gold_label``,
  ``sentence1``, ``sentence2`` are used, rows of other languages skipped.
* MultiNLI 1.0 ``multinli_1.0_*.jsonl``: ``gold_label``, ``sentence1``, ``sentence2``; pairs whose gold
  label is ``-`` (no annotator majority) are dropped and counted.
* MultiNLI sample (``mnli_train.tsv``, ``mnli_val.tsv``): header ``sentence1 sentence2 label genre``.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from melmo.errors import FormatError
from melmo.formats.files import READ_ERRORS, compressed_variant, open_text

LABELS = ("entailment", "neutral", "contradiction")
ALIASES = {"contradictory": "contradiction"}
XNLI_LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


class NLIFormatError(FormatError):
    """An NLI file that cannot be used (one-line message naming the file and line)."""


@dataclass(frozen=True)
class NLIPair:
    premise: str
    hypothesis: str
    label: int  # index into LABELS


@dataclass
class NLIData:
    path: Path
    pairs: list[NLIPair] = field(default_factory=list)
    dropped: int = 0  # rows left out on load (MultiNLI's '-' gold label)

    def __len__(self) -> int:
        return len(self.pairs)

    def label_counts(self) -> dict[str, int]:
        c = Counter(p.label for p in self.pairs)
        return {lab: c[k] for k, lab in enumerate(LABELS)}


def resolve(path: Path) -> Path:
    """``path``, or ``path.xz`` / ``path.gz`` when only a compressed copy exists."""
    found = compressed_variant(path)
    if found is None:
        raise NLIFormatError(f"{path}: file not found (also looked for .xz and .gz)")
    return found


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with open_text(path, newline="") as fh:
            for lineno, raw in enumerate(fh, 1):
                yield lineno, raw.rstrip("\r\n")
    except (UnicodeDecodeError, *READ_ERRORS) as err:
        raise NLIFormatError(f"{path}: cannot read: {err}") from None


def _label(path: Path, lineno: int, raw: str) -> int:
    lab = ALIASES.get(raw.strip(), raw.strip())
    if lab not in LABELS:
        raise NLIFormatError(f"{path}:{lineno}: unknown label {raw!r} (expected one of {', '.join(LABELS)})")
    return LABELS.index(lab)


def _columns(path: Path, lineno: int, line: str, n: int) -> list[str]:
    cols = line.split("\t")
    if len(cols) != n:
        raise NLIFormatError(f"{path}:{lineno}: expected {n} tab-separated columns, got {len(cols)}")
    return cols


def _csv_columns(path: Path, lineno: int, line: str, n: int | tuple[int, ...]) -> list[str]:
    """The fields of a line that ``csv.writer(delimiter='\t')`` wrote (XTREME): quotes undone."""
    try:
        cols = next(csv.reader([line], delimiter="\t", strict=True))
    except csv.Error as err:
        raise NLIFormatError(f"{path}:{lineno}: bad quoting ({err})") from None
    allowed = (n,) if isinstance(n, int) else n
    if len(cols) not in allowed:
        raise NLIFormatError(f"{path}:{lineno}: expected {' or '.join(map(str, allowed))} tab-separated "
                             f"columns, got {len(cols)}")
    return cols


def _check_rows(data: NLIData, expected_rows: int | None) -> NLIData:
    if expected_rows is not None and len(data) != expected_rows:
        raise NLIFormatError(f"{data.path}: {len(data)} pairs, expected {expected_rows}")
    if not data.pairs:
        raise NLIFormatError(f"{data.path}: no pairs")
    return data


def read_xtreme(directory: Path, language: str, split: str, expected_rows: int | None = None) -> NLIData:
    """XNLI ``split`` (``dev`` or ``test``) of ``language`` from an XTREME-layout ``directory``."""
    if split not in ("dev", "test"):
        raise ValueError(f"split must be 'dev' or 'test', got {split!r}")
    path = resolve(Path(directory) / f"{split}-{language}.tsv")
    if split == "dev":
        rows = [(ln, _csv_columns(path, ln, line, 3)) for ln, line in _lines(path)]
        pairs = [NLIPair(c[0], c[1], _label(path, ln, c[2])) for ln, c in rows]
        return _check_rows(NLIData(path, pairs), expected_rows)
    rows = [(ln, _csv_columns(path, ln, line, (3, 2))) for ln, line in _lines(path)]
    n = len(rows[0][1]) if rows else 2  # 3: XTREME's own test files carry the label (utils_preprocess.py)
    for ln, c in rows:
        if len(c) != n:
            raise NLIFormatError(f"{path}:{ln}: expected {n} tab-separated columns (as line {rows[0][0]}), "
                                 f"got {len(c)}")
    if n == 3:
        return _check_rows(NLIData(path, [NLIPair(c[0], c[1], _label(path, ln, c[2])) for ln, c in rows]),
                           expected_rows)
    lab_path = resolve(Path(directory) / "test-labels.txt")
    labels = [_label(lab_path, ln, line) for ln, line in _lines(lab_path)]
    if len(labels) != len(rows):
        raise NLIFormatError(f"{path}: {len(rows)} rows but {lab_path} has {len(labels)} labels")
    pairs = [NLIPair(c[0], c[1], lab) for (_, c), lab in zip(rows, labels)]
    return _check_rows(NLIData(path, pairs), expected_rows)


def read_xnli_tsv(path: Path, language: str, expected_rows: int | None = None) -> NLIData:
    """Rows of ``language`` from an official XNLI 1.0 ``xnli.dev.tsv`` / ``xnli.test.tsv``."""
    path = resolve(path)
    lines = _lines(path)
    _, header_line = next(lines, (1, ""))
    header = header_line.split("\t")
    missing = [c for c in ("language", "gold_label", "sentence1", "sentence2") if c not in header]
    if missing:
        raise NLIFormatError(f"{path}:1: header lacks column(s) {', '.join(missing)}")
    col = {name: k for k, name in enumerate(header)}
    pairs = []
    for ln, line in lines:
        cols = _columns(path, ln, line, len(header))
        if cols[col["language"]] == language:
            label = _label(path, ln, cols[col["gold_label"]])
            pairs.append(NLIPair(cols[col["sentence1"]], cols[col["sentence2"]], label))
    return _check_rows(NLIData(path, pairs), expected_rows)


def read_mnli_jsonl(path: Path, expected_rows: int | None = None) -> NLIData:
    """MultiNLI 1.0 jsonl; ``expected_rows`` counts the pairs kept (after dropping '-')."""
    path = resolve(path)
    data = NLIData(path)
    for ln, line in _lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            gold, s1, s2 = obj["gold_label"], obj["sentence1"], obj["sentence2"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise NLIFormatError(f"{path}:{ln}: not a MultiNLI record ({type(err).__name__}: "
                                 f"{err})") from None
        if gold == "-":
            data.dropped += 1
            continue
        data.pairs.append(NLIPair(s1, s2, _label(path, ln, gold)))
    return _check_rows(data, expected_rows)


def read_mnli_sample(path: Path, expected_rows: int | None = None) -> NLIData:
    """The tokenized MultiNLI sample: header ``sentence1 sentence2 label genre``."""
    path = resolve(path)
    lines = _lines(path)
    _, header = next(lines, (1, ""))
    if header.split("\t") != ["sentence1", "sentence2", "label", "genre"]:
        raise NLIFormatError(f"{path}:1: header {header!r}, expected "
                             "'sentence1<TAB>sentence2<TAB>label<TAB>genre'")
    pairs = []
    for ln, line in lines:
        c = _columns(path, ln, line, 4)
        pairs.append(NLIPair(c[0], c[1], _label(path, ln, c[2])))
    return _check_rows(NLIData(path, pairs), expected_rows)


def premise_key(text: str) -> str:
    """Premise identity across tokenizations: case-folded, all whitespace removed (the MultiNLI
    sample is tokenized, "it 's", while XNLI is raw text, "it's")."""
    return re.sub(r"\s+", "", text).casefold()


def drop_premise_overlap(train: NLIData, eval_sets: Iterable[NLIData]) -> tuple[NLIData, int]:
    """``train`` without the pairs whose premise occurs in any of ``eval_sets``, and how many went."""
    seen = {premise_key(p.premise) for data in eval_sets for p in data.pairs}
    kept = [p for p in train.pairs if premise_key(p.premise) not in seen]
    return NLIData(train.path, kept, train.dropped), len(train.pairs) - len(kept)
