"""The long results table (``encoder,task,metric,language,seed,value``): load it and check it.

One row per evaluation: an encoder (e.g. the paper's MONO, M0.4, M0.2, TRUNC), a task (``pos``,
``pos_transfer``, ``parsing``, ``xnli``, ``tatoeba``, ...), its metric (``acc``, ``uas``, ``las``, ...),
a language (ISO 639-1), the seed of the run and the score. A missing cell is a row left out.

Every problem is a :class:`ResultsError` (a ``ValueError``) whose message is one line naming the
file and the row: ``results.csv: row 3 (line 4): value 'x' is not a number``. Lines starting with
``#`` are comments (the bundled paper tables cite their source that way).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from melmo.languages import UnknownLanguageError, check_language

COLUMNS = ("encoder", "task", "metric", "language", "seed", "value")
KEY = ("encoder", "task", "metric", "language", "seed")


class ResultsError(ValueError):
    """A results file or table that cannot be read: one line naming the file and the row."""


def _where(name: str, row: int, line: int | None) -> str:
    """``file: row R (line L)``: R counts data rows from 1, L is the line in the file."""
    return f"{name}: row {row} (line {line})" if line is not None else f"{name}: row {row}"


def _read_csv(path: Path) -> tuple[list[str], list[list[str]], list[tuple[int, int]]]:
    """(header, rows, (row, line) numbers) of a CSV file whose ``#`` lines are comments."""
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ResultsError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    numbered = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise ResultsError(f"{path}: empty file, expected the header {','.join(COLUMNS)}")
    try:
        parsed = list(csv.reader([ln for _, ln in numbered]))
    except csv.Error as e:
        raise ResultsError(f"{path}: unreadable CSV ({e})") from None
    header = [h.strip() for h in parsed[0]]
    rows, numbers = [], []
    for r, ((line, _), row) in enumerate(zip(numbered[1:], parsed[1:]), start=1):
        if len(row) != len(header):
            raise ResultsError(f"{_where(str(path), r, line)}: {len(row)} fields, the header has {len(header)}")
        rows.append(row)
        numbers.append((r, line))
    return header, rows, numbers


def _check(header: list[str], rows: list[list], numbers: list[tuple], name: str) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ResultsError(
            f"{name}: missing column(s) {', '.join(missing)}; the header is {','.join(map(str, header))} "
            f"and must hold {','.join(COLUMNS)}"
        )
    idx = {c: header.index(c) for c in COLUMNS}
    out: dict[str, list] = {c: [] for c in COLUMNS}
    seen: dict[tuple, int] = {}
    for row, (n, line) in zip(rows, numbers):
        where = _where(name, n, line)
        rec = {}
        for c in ("encoder", "task", "metric", "language"):
            v = row[idx[c]]
            v = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
            if not v:
                raise ResultsError(f"{where}: empty {c}")
            rec[c] = v
        try:
            rec["language"] = check_language(rec["language"])
        except UnknownLanguageError as e:
            raise ResultsError(f"{where}: {e}") from None
        seed = row[idx["seed"]]
        try:
            seed_f = float(str(seed).strip())
            if not math.isfinite(seed_f) or seed_f != int(seed_f):
                raise ValueError
            rec["seed"] = int(seed_f)
        except ValueError:
            raise ResultsError(f"{where}: seed {seed!r} is not an integer") from None
        value = row[idx["value"]]
        try:
            rec["value"] = float(str(value).strip())
        except ValueError:
            rec["value"] = math.nan
        if not math.isfinite(rec["value"]):
            raise ResultsError(
                f"{where}: value {value!r} is not a number (leave a missing cell out instead of writing it)"
            )
        key = tuple(rec[c] for c in KEY)
        if key in seen:
            raise ResultsError(
                f"{where}: duplicated (encoder, task, metric, language, seed), first in row {seen[key]}: "
                f"({', '.join(map(str, key))})"
            )
        seen[key] = n
        for c in COLUMNS:
            out[c].append(rec[c])
    df = pd.DataFrame(out)
    df["seed"] = df["seed"].astype("int64")
    df["value"] = df["value"].astype("float64")
    return df


def load_results(source: str | Path | pd.DataFrame, name: str | None = None) -> pd.DataFrame:
    """The checked long table from a CSV path or a DataFrame (a copy; extra columns dropped).

    Returns a DataFrame with the columns ``COLUMNS``: strings, ``seed`` int64, ``value`` float64,
    languages lower-cased. Raises :class:`ResultsError` for a missing column, an empty field, an
    unknown language, a non-integer seed, a non-numeric or non-finite value or a repeated
    (encoder, task, metric, language, seed) key; rows of a DataFrame are counted from 1.
    """
    if isinstance(source, pd.DataFrame):
        header = [str(c) for c in source.columns]
        rows = source.astype(object).values.tolist()
        return _check(header, rows, [(i, None) for i in range(1, len(rows) + 1)], name or "results table")
    path = Path(source)
    header, rows, numbers = _read_csv(path)
    return _check(header, rows, numbers, name or str(path))


def write_results(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a long table as CSV atomically (temporary file, then rename); returns the path."""
    from melmo.utils.atomic import write_atomic

    df = load_results(df)
    return write_atomic(path, df.to_csv(index=False))
