"""Predicted trees as per-item rows of the shared predictions format (melmo.results.predictions): one row
per syntactic word, ``<head>|<deprel>`` gold and predicted. The CoNLL-U files beside them are
melmo.formats.conllu.write_conllu's."""

from __future__ import annotations

from melmo.formats.conllu import Sentence


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
