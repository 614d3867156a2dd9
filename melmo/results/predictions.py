"""Per-item predictions of one evaluation: the shared TSV format, its path, writer, reader and scoring.

Format (one file per evaluation, next to the results CSV)::

    <results_dir>/predictions/<task>/<encoder>/<language>.seed<seed>.tsv

UTF-8, header ``item<TAB>gold<TAB>prediction``, one row per test item:

* ``item``: a stable id, unique in the file. Token tasks: ``<sentence index>:<word index>``;
  sentence tasks (XNLI, Tatoeba): the line or pair index. The part before ``:`` is the cluster
  (sentence) the paired bootstrap can resample as a unit.
* ``gold``, ``prediction``: strings; for parsing ``<head>|<deprel>`` (e.g. ``3|nsubj:pass``).

An item is correct for ``acc`` when gold == prediction; for ``uas`` when the heads (before ``|``)
match; for ``las`` when the heads and the deprels without subtype (before ``:``) match, as the
CoNLL 2018 scorer's LAS does.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from melmo.results.table import ResultsError
from melmo.utils.atomic import write_atomic
from melmo.utils.textfile import read_lines

HEADER = ("item", "gold", "prediction")
METRICS = ("acc", "uas", "las")


def predictions_path(results_dir: str | Path, task: str, encoder: str, language: str, seed: int) -> Path:
    """``<results_dir>/predictions/<task>/<encoder>/<language>.seed<seed>.tsv``."""
    for what, v in (("task", task), ("encoder", encoder), ("language", language)):
        if not v or "/" in v or "\\" in v or v.startswith("."):
            raise ResultsError(f"{what} {v!r} cannot be part of a predictions path")
    return Path(results_dir) / "predictions" / task / encoder / f"{language}.seed{int(seed)}.tsv"


def _clean(v: object, what: str) -> str:
    s = str(v)
    if "\t" in s or "\n" in s or "\r" in s:
        raise ResultsError(f"{what} {s!r} holds a tab or a line break")
    return s


def write_predictions(path: str | Path, items: Sequence, gold: Sequence, prediction: Sequence) -> Path:
    """Write one evaluation's predictions atomically (temporary file, then rename); returns the path."""
    if not len(items) == len(gold) == len(prediction):
        raise ValueError(f"{path}: {len(items)} items, {len(gold)} gold, {len(prediction)} predictions")
    items = [_clean(i, "item") for i in items]
    if len(set(items)) != len(items):
        dup = next(i for i in items if items.count(i) > 1)
        raise ValueError(f"{path}: item {dup!r} appears twice")
    buf = io.StringIO()
    buf.write("\t".join(HEADER) + "\n")
    for i, g, p in zip(items, gold, prediction):
        buf.write(f"{i}\t{_clean(g, 'gold')}\t{_clean(p, 'prediction')}\n")
    return write_atomic(path, buf.getvalue())


def read_predictions(path: str | Path) -> pd.DataFrame:
    """The checked predictions of one file: a DataFrame with string columns item, gold, prediction.

    Raises :class:`ResultsError` (one line naming the file and the line) for a missing file, a wrong
    header, a row without three fields or a repeated item.
    """
    path = Path(path)
    lines = read_lines(path, "predictions file", ResultsError)
    if not lines or tuple(lines[0].rstrip("\r").split("\t")) != HEADER:
        raise ResultsError(f"{path}: line 1: the header must be item<TAB>gold<TAB>prediction")
    items, gold, pred, seen = [], [], [], {}
    for n, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 3:
            raise ResultsError(f"{path}: line {n}: {len(fields)} tab-separated fields, expected 3")
        if fields[0] in seen:
            raise ResultsError(f"{path}: line {n}: item {fields[0]!r} already on line {seen[fields[0]]}")
        seen[fields[0]] = n
        items.append(fields[0])
        gold.append(fields[1])
        pred.append(fields[2])
    return pd.DataFrame({"item": items, "gold": gold, "prediction": pred}, dtype=str)


def _split_arc(values: pd.Series, path: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    parts = values.str.split("|", n=1, regex=False)
    bad = parts.str.len() != 2
    if bad.any():
        raise ResultsError(f"{path}: item {values.index[bad.argmax()]!r}: {values[bad].iloc[0]!r} is not "
                           f"<head>|<deprel> ({metric})")
    head = parts.str[0].to_numpy()
    rel = parts.str[1].str.split(":", n=1, regex=False).str[0].to_numpy()
    return head, rel


def item_correct(df: pd.DataFrame, metric: str, name: str = "predictions") -> np.ndarray:
    """Boolean array (n_items,): whether each item is correct under ``metric`` (acc, uas or las)."""
    if metric not in METRICS:
        raise ResultsError(f"unknown item metric {metric!r} (use {', '.join(METRICS)})")
    if metric == "acc":
        return (df["gold"] == df["prediction"]).to_numpy(dtype=bool)
    gold = df.set_index("item")["gold"]
    pred = df.set_index("item")["prediction"]
    gh, gr = _split_arc(gold, name, metric)
    ph, pr = _split_arc(pred, name, metric)
    ok = gh == ph
    return ok if metric == "uas" else ok & (gr == pr)


def clusters(items: Sequence[str]) -> np.ndarray:
    """The cluster (sentence id) of each item: the part before the first ``:`` (the item if none)."""
    return np.array([str(i).split(":", 1)[0] for i in items])


__all__ = ["HEADER", "METRICS", "clusters", "item_correct", "predictions_path", "read_predictions",
           "write_predictions"]
