"""Predicted trees as files: CoNLL-U beside the gold (for the official scorer) and per-item rows.

Reading is melmo.tasks.conllu.read_conllu (``check_trees=True`` for parsing: heads in range, one
root, no cycle, each a one-line ``file:line`` ConlluError); writing is its ``write_conllu``.
"""

from __future__ import annotations

from pathlib import Path

from melmo.tasks.conllu import Sentence, read_conllu, write_conllu


def write_predictions(gold_path: Path, out_path: Path, heads: list[list[int]], deprels: list[list[str]]) -> Path:
    """Copy ``gold_path`` to ``out_path`` (plain CoNLL-U, written atomically) with HEAD and DEPREL of
    every syntactic word replaced by ``heads[s][w]`` / ``deprels[s][w]``; comments, multiword-token
    ranges, empty nodes and every other column are the gold file's. A length mismatch is a one-line
    ConlluError naming ``out_path`` and nothing is written."""
    return write_conllu(out_path, read_conllu(gold_path, check_upos=False), heads, deprels)


def prediction_items(gold: list[Sentence], heads: list[list[int]], deprels: list[list[str]],
                     indices: list[int] | None = None) -> list[tuple]:
    """Per-item rows ``(item, gold, prediction)`` of the shared predictions format: item
    ``<sentence index>:<word id>`` (sentence ``indices[k]``, default ``k``; 1-based word), values
    ``<head>|<deprel>``."""
    rows = []
    for k, s in enumerate(gold):
        i = k if indices is None else indices[k]
        for w, word in enumerate(s.words):
            rows.append((f"{i}:{word.id}", f"{word.head}|{word.deprel}", f"{heads[k][w]}|{deprels[k][w]}"))
    return rows
