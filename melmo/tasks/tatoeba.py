"""Tatoeba sentence retrieval (task=tatoeba; no training), as XTREME evaluates it.

Data: LASER's tatoeba v1 pairs ``tatoeba.<iso3>-eng.<iso3>`` / ``tatoeba.<iso3>-eng.eng``; line i of
one file translates line i of the other, so gold is the line index (never a sorted order:
xtreme#17, #61). A sentence vector is the mean over its real tokens of one configured layer (or
the average of the layers), L2-normalised (XTREME third_party/utils_retrieve.py). For each English
sentence the nearest sentence of the other language by cosine is retrieved (XTREME's direction:
index on the other language, English queries): metric ``acc``; the other direction is
``acc_reverse``. Every layer's accuracy is recorded too, from the same encoding: ``acc_layer0``
(the character layer), ``acc_layer1``, ``acc_layer2``, ``acc_average`` (conf/task/tatoeba.yaml
says which is the default and why). Each input line is tokenized with the model's own tokenizer (melmo.json).
"""

from __future__ import annotations

import logging

import numpy as np
from omegaconf import DictConfig

from melmo.encode.tokenize import raw_tokenizer
from melmo.formats.tatoeba import read_pair, tatoeba_languages
from melmo.results.table import seeds_of
from melmo.tasks.common.context import EvalContext

log = logging.getLogger(__name__)


def pooled_layers(acts) -> np.ndarray:
    """(n_sentences, L, D): mean over each sentence's tokens, every layer (zeros for an empty sentence)."""
    out = None
    for i in range(len(acts)):
        a = np.asarray(acts.sentence(i), dtype=np.float64)  # (n, L, D)
        if out is None:
            out = np.zeros((len(acts), a.shape[1], acts.meta["dim"]), dtype=np.float64)
        if len(a):
            out[i] = a.mean(0)
    return np.zeros((0, 1, acts.meta["dim"])) if out is None else out


def layer_vectors(pooled: np.ndarray, layer) -> np.ndarray:
    """(n_sentences, D) L2-normalised vectors of ``layer`` (int, or "average" of all layers) from
    :func:`pooled_layers` (the mean over tokens commutes with the mean over layers)."""
    v = pooled.mean(1) if layer == "average" else pooled[:, int(layer)]
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def sentence_vectors(acts, layer) -> np.ndarray:
    """(n_sentences, D): mean over each sentence's tokens of ``layer`` (int, or "average" of all
    layers), L2-normalised; an empty sentence gets a zero vector."""
    return layer_vectors(pooled_layers(acts), layer)


def layer_metric(layer) -> str:
    """The results metric of one layer's accuracy: ``acc_layer0``, ``acc_layer1``, ..., ``acc_average``."""
    return "acc_average" if layer == "average" else f"acc_layer{int(layer)}"


def every_layer_accuracy(pe: np.ndarray, px: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """English-query accuracy of every layer and of their average, from one encoding of each side."""
    layers = [*range(pe.shape[1]), "average"]
    return {layer_metric(layer):
            retrieval_accuracy(layer_vectors(pe, layer), layer_vectors(px, layer), gold)[0]
            for layer in layers}


def retrieve(queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """For each (unit) query row, the row of ``index`` with the highest cosine (lowest row on ties)."""
    return np.argmax(queries @ index.T, axis=1)


def retrieval_accuracy(queries: np.ndarray, index: np.ndarray, gold: np.ndarray) -> tuple[float, np.ndarray]:
    pred = retrieve(queries, index)
    return float(np.mean(pred == gold)), pred


def run(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root = cfg.data.root
    langs = ctx.languages(tatoeba_languages(root), "tatoeba", f"{root}/tatoeba")
    (seed,) = seeds_of("tatoeba", ctx.seeds)  # no head: one deterministic evaluation (melmo.results.table)
    fallback = cfg.encode.get("raw_tokenizer")
    en_tok = raw_tokenizer(ctx.model, "en", fallback)
    rows, protocol = [], {"layer": tcfg.layer,
                          "direction": "acc: English queries, nearest other-language line; "
                                       "acc_reverse: the other way",
                          "gold": "line index", "tokenizers": {"en": en_tok.describe()}}
    for lang in langs:
        if not ctx.pending("tatoeba", lang, [seed]):
            continue
        xx_path, xs, en_path, es = read_pair(root, lang)
        tok = raw_tokenizer(ctx.model, lang, fallback)
        protocol["tokenizers"][lang] = tok.describe()
        px = pooled_layers(ctx.encode(tok.tokenize(xs), tokenization=tok.describe(), label=xx_path.name,
                                      language=lang))
        pe = pooled_layers(ctx.encode(en_tok.tokenize(es), tokenization=en_tok.describe(), label=en_path.name,
                                      language="en"))
        vx, ve = layer_vectors(px, tcfg.layer), layer_vectors(pe, tcfg.layer)
        gold = np.arange(len(xs))
        acc, pred = retrieval_accuracy(ve, vx, gold)
        acc_rev, _ = retrieval_accuracy(vx, ve, gold)
        ctx.write_predictions("tatoeba", lang, seed, gold.tolist(), gold.tolist(), pred.tolist())
        new = [ctx.row("tatoeba", "acc", lang, seed, acc),
               ctx.row("tatoeba", "acc_reverse", lang, seed, acc_rev)]
        # every layer from the same encoding: the evidence for the default layer
        # (helper metrics, not Table 1's)
        new += [ctx.row("tatoeba", m, lang, seed, v) for m, v in every_layer_accuracy(pe, px, gold).items()]
        ctx.append(new)
        rows += new
        log.info("tatoeba %s %s: acc %.4f, reverse %.4f", ctx.name, lang, acc, acc_rev)
    ctx.record("tatoeba", protocol)
    return rows
