"""The long results CSV (``encoder,task,metric,language,seed,value``) that every evaluation appends to."""

from __future__ import annotations

import csv
import os
from pathlib import Path

RESULT_COLUMNS = ("encoder", "task", "metric", "language", "seed", "value")


def append_results(path: Path, rows: list[dict]) -> None:
    """Append rows atomically (the whole file is rewritten under a temporary name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.is_file() else ",".join(RESULT_COLUMNS) + "\n"
    if not old.startswith(",".join(RESULT_COLUMNS)):
        raise ValueError(f"{path}: not a mELMo results file (header must be {','.join(RESULT_COLUMNS)})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(old)
        csv.DictWriter(fh, RESULT_COLUMNS).writerows(rows)
    tmp.replace(path)
