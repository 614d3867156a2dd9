"""The long results CSV (``encoder,task,metric,language,seed,value``) that every evaluation appends to,
and the encoders table beside it (one row per encoder name and encoding policy).

Appends happen under an exclusive file lock (``<csv>.lock``, py-filelock), each batch of rows in one
``write`` on a file opened for appending, so two evaluations running at once lose no row and
never interleave a line. The encoders table is rewritten atomically (temporary file, rename) under
the same kind of lock.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from filelock import FileLock

from melmo.utils.atomic import open_atomic

RESULT_COLUMNS = ("encoder", "task", "metric", "language", "seed", "value")
ENCODER_COLUMNS = ("encoder", "policy", "strategy", "alpha", "model_size", "lm_seed", "corpus_tokens",
                   "weights_sha256", "path")
HEADER = ",".join(RESULT_COLUMNS)


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=600)


def _check_header(path: Path, first: str, columns) -> None:
    if first.rstrip("\r\n") != ",".join(columns):
        raise ValueError(f"{path}: not a mELMo table (header must be {','.join(columns)})")


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
    return {(r["encoder"], r["task"], r["language"], str(r["seed"])) for r in read_results(path)}


def update_encoders(path: str | Path, row: Mapping) -> None:
    """Insert or replace the row of (encoder, policy) in the encoders table.

    The same encoder name with a different weights hash is refused: results under one name must
    come from one model (give the other one another ``encoder.name``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {c: row.get(c, "") for c in ENCODER_COLUMNS}
    with _lock(path):
        rows = []
        if path.is_file():
            with open(path, encoding="utf-8", newline="") as fh:
                _check_header(path, fh.readline(), ENCODER_COLUMNS)
                rows = list(csv.DictReader(fh, ENCODER_COLUMNS))
        clash = next((r for r in rows if r["encoder"] == row["encoder"] and r["weights_sha256"] != row["weights_sha256"]), None)
        if clash is not None:
            raise ValueError(f"{path}: encoder name {row['encoder']!r} already names another model ({clash['path']}, "
                             f"weights {clash['weights_sha256'][:12]}); set encoder.name=")
        rows = [r for r in rows if (r["encoder"], r["policy"]) != (row["encoder"], row["policy"])] + [row]
        with open_atomic(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, ENCODER_COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
