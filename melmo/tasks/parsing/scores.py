"""UAS, LAS and UPOS accuracy of predicted CoNLL-U against gold, as the CoNLL 2018 scorer on gold tokens.

The CoNLL 2018 shared-task scorer (conll18_ud_eval.py, now ``udtools.udeval``) aligns words by their
characters; with gold tokenization every syntactic word aligns with itself, and its F1 equals the
accuracy computed here:

* over all syntactic words (multiword-token ranges and empty nodes skipped), punctuation included;
* ``uas``: predicted HEAD == gold HEAD; ``las``: also DEPREL equal once subtypes are stripped on both
  sides (``nsubj:pass`` -> ``nsubj``); ``upos``: UPOS equal.

``uas_nopunct`` / ``las_nopunct`` leave out words whose gold UPOS is PUNCT (the convention of
AllenNLP's and SuPar's parsers, which drop punctuation), so either convention can be compared.
Both files must be trees (one root, no cycle, heads in range) and have the same words, else a
one-line ``ConlluError`` names the file and line (melmo.formats.conllu reads both).
"""

from __future__ import annotations

from pathlib import Path

from melmo.formats.conllu import ConlluError, read_conllu


def conllu_scores(gold_path, pred_path) -> dict[str, float]:
    """``{'uas', 'las', 'upos', 'uas_nopunct', 'las_nopunct'}`` as fractions in [0, 1]."""
    gold_path, pred_path = Path(gold_path), Path(pred_path)
    gold = read_conllu(gold_path, check_upos=False, check_trees=True)
    pred = read_conllu(pred_path, check_upos=False, check_trees=True)
    if len(gold) != len(pred):
        raise ConlluError(f"{pred_path}: {len(pred)} sentences, gold {gold_path} has {len(gold)}")
    n = n_np = uas = las = upos = uas_np = las_np = 0
    for g, p in zip(gold, pred):
        if g.forms != p.forms:
            w = next((k for k, (a, b) in enumerate(zip(g.forms, p.forms)) if a != b),
                     min(len(g.forms), len(p.forms)))
            line = p.lines[min(w, len(p.lines) - 1)]
            raise ConlluError(f"{pred_path}:{line}: words differ from gold {gold_path}:{g.lines[0]} "
                                "(scoring needs gold tokenization)")
        for gw, pw in zip(g.words, p.words):
            head_ok = gw.head == pw.head
            label_ok = head_ok and gw.deprel.split(":")[0] == pw.deprel.split(":")[0]
            n += 1
            uas += head_ok
            las += label_ok
            upos += gw.upos == pw.upos
            if gw.upos != "PUNCT":
                n_np += 1
                uas_np += head_ok
                las_np += label_ok
    if n == 0:
        raise ConlluError(f"{gold_path}: no words to score")
    return {
        "uas": uas / n,
        "las": las / n,
        "upos": upos / n,
        "uas_nopunct": uas_np / n_np if n_np else float("nan"),
        "las_nopunct": las_np / n_np if n_np else float("nan"),
    }
