"""Tokenization scoring on gold CoNLL-U: word-level P/R/F1 as the CoNLL 2018 shared task's ``Tokens``
metric."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import ufal.udpipe as ud

from melmo.corpus.udpipe.conllu import read_udpipe_sentences
from melmo.corpus.udpipe.errors import UDPipeError
from melmo.corpus.udpipe.tokenizer import Tokenizer

_UESC = re.compile(r"\\u([0-9A-Fa-f]{4})")


def _gold_document(sentences: "ud.Sentences") -> tuple[str, list[str]]:
    """Raw text of the gold sentences (paragraph breaks at newdoc/newpar) and their surface tokens."""
    parts: list[str] = []
    tokens: list[str] = []
    for k in range(len(sentences)):
        s = sentences[k]
        if k:
            parts.append("\n\n" if (s.getNewDoc() or s.getNewPar()) else " ")
        words, mwts = s.words, s.multiwordTokens
        j, i, n = 0, 1, len(words)
        while i < n:
            if j < len(mwts) and mwts[j].idFirst == i:
                tok, nxt = mwts[j], mwts[j].idLast + 1
                j += 1
            else:
                tok, nxt = words[i], i + 1
            parts.append(tok.form)
            tokens.append(tok.form)
            if nxt < n:  # spaces after the sentence's last token: replaced by the sentence separator
                spaces = tok.getSpacesAfter()  # UDPipe unescapes \s, \t, \n... but not \uXXXX
                spaces = (_UESC.sub(lambda m: chr(int(m[1], 16)), spaces) if spaces
                          else " " * tok.getSpaceAfter())
                parts.append(spaces)
            i = nxt
    return "".join(parts), tokens


def _spans(tokens: Iterable[str]) -> set[tuple[int, int]]:
    """Character spans of tokens in the document with all whitespace removed (CoNLL 2018 scorer's
    alignment)."""
    spans, pos = set(), 0
    for t in tokens:
        n = len("".join(t.split()))
        if n:
            spans.add((pos, pos + n))
            pos += n
    return spans


def score_tokenization(tokenizer: "Tokenizer | Path | str", conllu: Path, *,
                       sentences: slice | None = None) -> dict:
    """Word-level tokenization P/R/F1 on gold CoNLL-U: exact character-span match of surface tokens
    (a multiword token counts as one token), as the CoNLL 2018 shared task's `Tokens` metric."""
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else Tokenizer(tokenizer, multiword="surface")
    gold_sents = read_udpipe_sentences([Path(conllu)], sentences)
    text, gold_tokens = _gold_document(gold_sents)
    pred_tokens = [t for forms in tok._run(text) for t in forms] if tok.mode.multiword == "surface" else None
    if pred_tokens is None:
        raise ValueError("score_tokenization needs a tokenizer with multiword='surface'")
    gold_chars = "".join(text.split())
    pred_chars = "".join("".join(t.split()) for t in pred_tokens)
    if "".join("".join(t.split()) for t in gold_tokens) != gold_chars:
        raise UDPipeError(f"{conllu}: gold tokens do not match the text rebuilt from SpaceAfter/SpacesAfter")
    if pred_chars != gold_chars:
        raise UDPipeError(f"{conllu}: predicted tokens do not reproduce the text's characters; cannot align")
    g, p = _spans(gold_tokens), _spans(pred_tokens)
    correct = len(g & p)
    prec = correct / len(p) if p else 0.0
    rec = correct / len(g) if g else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "gold_tokens": len(g), "pred_tokens": len(p),
            "correct": correct, "sentences": len(gold_sents)}
