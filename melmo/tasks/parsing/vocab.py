"""Relation label vocabulary of a training treebank; a relation unseen in training maps to ignore.

Labels are kept whole (``nsubj:pass`` is its own class, as treebanks annotate); the CoNLL 2018
scorer strips subtypes when it compares. A gold relation that training never saw encodes to
``IGNORE_INDEX``: it is left out of the label loss, and since no prediction can equal it, it counts
as wrong in LAS (never a crash).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from melmo.tasks.parsing.parser import IGNORE_INDEX


class RelationVocab:
    """``RelationVocab.build(deprel lists)``; ``encode(list[str]) -> list[int]``; ``decode(ids)``."""

    def __init__(self, labels: list[str]):
        self.labels = list(labels)
        self.index = {lab: k for k, lab in enumerate(self.labels)}
        if len(self.index) != len(self.labels):
            raise ValueError("relation labels must be unique")

    @classmethod
    def build(cls, sentences: Iterable[list[str]]) -> RelationVocab:
        counts = Counter(rel for sent in sentences for rel in sent)
        return cls(sorted(counts, key=lambda r: (-counts[r], r)))  # frequent first, ties by name

    def __len__(self) -> int:
        return len(self.labels)

    def encode(self, rels: Iterable[str]) -> list[int]:
        return [self.index.get(r, IGNORE_INDEX) for r in rels]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.labels[int(k)] for k in ids]

    def unseen(self, rels: Iterable[str]) -> Counter:
        """How often each relation not in the vocabulary occurs in ``rels``."""
        return Counter(r for r in rels if r not in self.index)
