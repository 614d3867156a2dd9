"""The results contract: the long results CSV (``encoder,task,metric,language,seed,value``) that every
evaluation appends to and the analysis reads, and the encoders table beside it (one row per encoder
name, language and encoding policy: the paper's MONO is one encoder made of one model per
language). Per-item predictions are in melmo.results.predictions.

One row per evaluation: an encoder (e.g. the paper's MONO, M0.4, M0.2, TRUNC), a task (``pos``,
``pos_transfer``, ``parsing``, ``xnli``, ``tatoeba``, ...), its metric (``acc``, ``uas``, ``las``, ...),
a language (ISO 639-1), the seed of the run and the score. A missing cell is a row left out.

Reading (:func:`load_results`): every problem is a :class:`ResultsError` (a ``ValueError``) whose
message is one line naming the file and the row: ``results.csv: row 3 (line 4): value 'x' is not a
number``. Lines starting with ``#`` are comments (the bundled paper tables cite their source that way).

Appends happen under an exclusive file lock (``<csv>.lock``, py-filelock), each batch of rows in one
``write`` on a file opened for appending, so two evaluations running at once lose no row and
never interleave a line. The encoders table is rewritten atomically (temporary file, rename) under
the same kind of lock.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
from filelock import FileLock

from melmo.errors import MelmoError
from melmo.languages import UnknownLanguageError, check_language
from melmo.utils.atomic import open_atomic

RESULT_COLUMNS = ("encoder", "task", "metric", "language", "seed", "value")
COLUMNS = RESULT_COLUMNS
ENCODER_COLUMNS = ("encoder", "language", "policy", "strategy", "alpha", "model_size", "lm_seed",
                   "corpus_tokens", "weights_sha256", "path")
HEADER = ",".join(RESULT_COLUMNS)
# Tasks that train no head are one deterministic evaluation: their rows carry this seed whatever
# ``seeds`` the run was given, and whoever checks for done rows (EvalContext, the study) asks seeds_of.
NO_HEAD_TASKS = frozenset({"perplexity", "tatoeba"})
NO_HEAD_SEED = 0


def seeds_of(task: str, seeds: Iterable[int]) -> list[int]:
    """The seeds whose rows an evaluation of ``task`` writes: ``seeds``, or [NO_HEAD_SEED] without a head."""
    return [NO_HEAD_SEED] if task in NO_HEAD_TASKS else [int(s) for s in seeds]


class ResultsError(MelmoError, ValueError):
    """A results file or table that cannot be read: one line naming the file and the row."""


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=600)


def _check_header(path: Path, first: str, columns) -> None:
    if first.rstrip("\r\n") != ",".join(columns):
        raise ResultsError(f"{path}: not a mELMo table (header must be {','.join(columns)})")


def append_results(path: str | Path, rows: Iterable[Mapping]) -> None:
    """Append ``rows`` (mappings with RESULT_COLUMNS) to ``path``, creating it with its header."""
    path = Path(path)
    rows = list(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, RESULT_COLUMNS, lineterminator="\n", extrasaction="raise")
    for r in rows:
        missing = [c for c in RESULT_COLUMNS if c not in r]
        if missing:
            raise ValueError(f"result row {dict(r)} lacks {', '.join(missing)}")
        writer.writerow(r)
    with _lock(path):
        new = not path.is_file() or path.stat().st_size == 0
        if not new:
            with open(path, encoding="utf-8") as fh:
                _check_header(path, fh.readline(), RESULT_COLUMNS)
        data = ((HEADER + "\n") if new else "") + buf.getvalue()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_results(path: str | Path, rows: Iterable[Mapping]) -> None:
    """Write ``rows`` in place of every row with the same (encoder, task, language, seed) (a forced
    rerun), keeping the others in their order; the file is rewritten atomically under the lock."""
    path = Path(path)
    rows = list(rows)
    keys = {_run_key(r) for r in rows}
    if not path.is_file():
        return append_results(path, rows)
    with _lock(path):
        with open(path, encoding="utf-8", newline="") as fh:
            _check_header(path, fh.readline(), RESULT_COLUMNS)
            kept = [r for r in csv.DictReader(fh, RESULT_COLUMNS) if _run_key(r) not in keys]
        with open_atomic(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, RESULT_COLUMNS, lineterminator="\n", extrasaction="raise")
            w.writeheader()
            w.writerows(kept + [{c: r[c] for c in RESULT_COLUMNS} for r in rows])


def _run_key(r: Mapping) -> tuple[str, str, str, str]:
    return (str(r["encoder"]), str(r["task"]), str(r["language"]), str(r["seed"]))


def read_results(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    with _lock(path), open(path, encoding="utf-8", newline="") as fh:
        first = fh.readline()
        _check_header(path, first, RESULT_COLUMNS)
        return list(csv.DictReader(fh, RESULT_COLUMNS))


def done_keys(path: str | Path) -> set[tuple[str, str, str, str]]:
    """(encoder, task, language, seed) of every evaluation already in the CSV."""
    return {_run_key(r) for r in read_results(path)}


def _read_encoders(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        _check_header(path, fh.readline(), ENCODER_COLUMNS)
        return list(csv.DictReader(fh, ENCODER_COLUMNS))


def _clash(rows: list[dict], encoder: str, languages: Iterable[str], sha: str, path: Path) -> None:
    langs = set(languages)
    hit = next((r for r in rows
                if r["encoder"] == encoder and r["language"] in langs and r["weights_sha256"] != sha), None)
    if hit is not None:
        raise ResultsError(f"{path}: encoder name {encoder!r} already names another model for language "
                           f"{hit['language']} ({hit['path']}, weights {hit['weights_sha256'][:12]}); "
                           "set encoder.name=")


def check_encoder(path: str | Path, encoder: str, languages: Iterable[str], weights_sha256: str) -> None:
    """Refuse (ValueError, one line) when ``encoder`` already names other weights for one of ``languages``."""
    path = Path(path)
    if not path.is_file():
        return
    with _lock(path):
        _clash(_read_encoders(path), encoder, languages, weights_sha256, path)


def update_encoders(path: str | Path, row: Mapping, languages: Iterable[str]) -> None:
    """Insert or replace the rows of (encoder, language, policy) for each of ``languages``.

    One encoder name may hold one model per language (MONO); the same name with other weights for
    a language it already has is refused: give the other model another ``encoder.name``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    languages = list(languages)
    new = [{**{c: row.get(c, "") for c in ENCODER_COLUMNS}, "language": lang} for lang in languages]
    with _lock(path):
        rows = _read_encoders(path)
        _clash(rows, str(row["encoder"]), languages, str(row.get("weights_sha256", "")), path)
        keys = {(r["encoder"], r["language"], r["policy"]) for r in new}
        rows = [r for r in rows if (r["encoder"], r["language"], r["policy"]) not in keys] + new
        with open_atomic(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, ENCODER_COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)


KEY = ("encoder", "task", "metric", "language", "seed")


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
    numbered = [(i, ln) for i, ln in enumerate(lines, start=1)
                if ln.strip() and not ln.lstrip().startswith("#")]
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
            raise ResultsError(f"{_where(str(path), r, line)}: {len(row)} fields, the header has "
                               f"{len(header)}")
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

