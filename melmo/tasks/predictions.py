"""Per-item predictions of one evaluation, for significance tests (the team's shared TSV format).

    write_predictions(path, items, gold, prediction)

``<results_dir>/predictions/<task>/<encoder>/<language>.seed<seed>.tsv``: UTF-8, header
``item<TAB>gold<TAB>prediction``, one row per test item. Replace this module by
melmo.analysis.predictions when that exists (same function name and format).
"""

from __future__ import annotations

import os
from pathlib import Path


def predictions_path(results_dir: str | Path, task: str, encoder: str, language: str, seed: int) -> Path:
    return Path(results_dir) / "predictions" / task / encoder / f"{language}.seed{seed}.tsv"


def write_predictions(path: str | Path, items, gold, prediction) -> Path:
    """Write the TSV atomically; fields must not contain tabs or newlines."""
    path = Path(path)
    items, gold, prediction = list(items), list(gold), list(prediction)
    if not len(items) == len(gold) == len(prediction):
        raise ValueError(f"{path}: {len(items)} items, {len(gold)} gold and {len(prediction)} predictions")
    lines = ["item\tgold\tprediction"]
    for row in zip(items, gold, prediction):
        fields = [str(x) for x in row]
        if any(("\t" in f) or ("\n" in f) for f in fields):
            raise ValueError(f"{path}: a field of item {fields[0]!r} contains a tab or newline")
        lines.append("\t".join(fields))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
