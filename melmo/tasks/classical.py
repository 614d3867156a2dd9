"""A classical PoS tagger with no pretraining, the floor a pretrained encoder's head must clear
(task=baseline, encoder name ``classical``).

    tagger = ClassicalTagger(train_units, C=1.0, max_iter=200, affixes=3, window=1)
    accuracy = tagger.accuracy(report_units)

Per unit (a syntactic word the pos head labels, read as the form the encoder reads): the word, its
lower-cased form, its prefixes and suffixes of length 1..``affixes``, its shape (letters to X/x,
digits to d, runs collapsed: "McDonald's" -> "XxXx'x") and the lower-cased neighbouring words up to
``window`` positions away (sentence boundaries marked), one-hot (scikit-learn ``DictVectorizer``),
and a multinomial ``LogisticRegression`` over them: the feature set of the classic feature-based
taggers (Ratnaparkhi 1996, "A Maximum Entropy Model for Part-of-Speech Tagging", EMNLP; Toutanova
et al. 2003), without tag history. Deterministic (lbfgs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def shape(word: str) -> str:
    """Upper-case letters -> X, other letters -> x, digits -> d, the rest kept; runs collapsed."""
    out = []
    for ch in word:
        c = "d" if ch.isdigit() else ("X" if ch.isupper() else "x") if ch.isalpha() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def unit_features(fed: Sequence[str], position: int, affixes: int, window: int) -> dict[str, float]:
    """The features of the word at ``position`` of the sentence ``fed`` (what the encoder reads)."""
    w = fed[position]
    low = w.lower()
    f = {"w=" + w: 1.0, "low=" + low: 1.0, "shape=" + shape(w): 1.0, "bias": 1.0}
    for k in range(1, affixes + 1):
        if len(low) >= k:
            f[f"pre{k}={low[:k]}"] = 1.0
            f[f"suf{k}={low[-k:]}"] = 1.0
    for d in range(1, window + 1):
        for sign, name in ((-1, "prev"), (1, "next")):
            j = position + sign * d
            f[f"{name}{d}=" + (fed[j].lower() if 0 <= j < len(fed) else "<s>")] = 1.0
    return f


def unit_rows(units: Iterable, affixes: int, window: int) -> tuple[list[dict], list[int]]:
    """(features, gold tag) of every scored unit of ``units`` (melmo.tasks.common.ud.Units)."""
    feats, tags = [], []
    for u in units:
        for p, t in zip(u.positions, u.labels):
            feats.append(unit_features(u.fed, int(p), affixes, window))
            tags.append(int(t))
    return feats, tags


class ClassicalTagger:
    """``DictVectorizer`` + ``LogisticRegression`` on the units' word, affix, shape and neighbour features."""

    def __init__(self, units: Iterable, C: float, max_iter: int, affixes: int, window: int):
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression

        self.affixes, self.window = int(affixes), int(window)
        feats, tags = unit_rows(units, self.affixes, self.window)
        if not tags:
            raise ValueError("a classical tagger needs at least one training word")
        self.vec = DictVectorizer()
        x = self.vec.fit_transform(feats)
        # LogisticRegression needs two classes: a one-tag training set tags everything so
        if len(set(tags)) == 1:
            self.only, self.model = tags[0], None
        else:
            self.only, self.model = None, LogisticRegression(C=float(C), max_iter=int(max_iter)).fit(x, tags)

    def predict(self, units: Iterable) -> tuple[np.ndarray, np.ndarray]:
        feats, tags = unit_rows(units, self.affixes, self.window)
        if self.model is None or not feats:
            return np.full(len(tags), self.only if self.only is not None else -1), np.asarray(tags)
        return self.model.predict(self.vec.transform(feats)), np.asarray(tags)

    def accuracy(self, units: Iterable) -> float:
        pred, gold = self.predict(units)
        return float(np.mean(pred == gold)) if len(gold) else float("nan")
