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
import lzma
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from melmo.encode.tokenize import raw_tokenizer
from melmo.languages import ISO3
from melmo.results.table import seeds_of
from melmo.tasks.context import EvalContext
from melmo.utils.textfile import split_lines

log = logging.getLogger(__name__)


class TatoebaError(ValueError):
    pass


def _find(base: Path, name: str) -> Path | None:
    for p in (base / name, base / f"{name}.xz"):
        if p.is_file():
            return p
    return None


def tatoeba_languages(root) -> list[str]:
    base = Path(root) / "tatoeba"
    if not base.is_dir():
        raise TatoebaError(f"{base}: no Tatoeba data directory (set data.root)")
    return sorted(lang for lang, iso in ISO3.items() if lang != "en" and _find(base, f"tatoeba.{iso}-eng.{iso}"))


def read_pair(root, lang: str) -> tuple[Path, list[str], Path, list[str]]:
    """(other-language file, lines, English file, lines); unequal lengths are an error."""
    iso, base = ISO3[lang], Path(root) / "tatoeba"
    xx, en = _find(base, f"tatoeba.{iso}-eng.{iso}"), _find(base, f"tatoeba.{iso}-eng.eng")
    if xx is None or en is None:
        raise TatoebaError(f"{base}: missing tatoeba.{iso}-eng.{iso} or tatoeba.{iso}-eng.eng")
    xs, es = _lines(xx), _lines(en)
    if len(xs) != len(es):
        raise TatoebaError(f"{xx}: {len(xs)} lines but {en.name} has {len(es)}: the files must be aligned line by line")
    return xx, xs, en, es


def _lines(path: Path) -> list[str]:
    opener = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="\n") as fh:
            text = fh.read()
    except UnicodeDecodeError as e:
        raise TatoebaError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    return split_lines(text)


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
    return {layer_metric(layer): retrieval_accuracy(layer_vectors(pe, layer), layer_vectors(px, layer), gold)[0]
            for layer in layers}


def retrieve(queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """For each (unit) query row, the row of ``index`` with the highest cosine (lowest row on ties)."""
    return np.argmax(queries @ index.T, axis=1)


def retrieval_accuracy(queries: np.ndarray, index: np.ndarray, gold: np.ndarray) -> tuple[float, np.ndarray]:
    pred = retrieve(queries, index)
    return float(np.mean(pred == gold)), pred


def run_tatoeba(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root = cfg.data.root
    langs = ctx.languages(tatoeba_languages(root), "tatoeba", f"{root}/tatoeba")
    (seed,) = seeds_of("tatoeba", ctx.seeds)  # no head: one deterministic evaluation (melmo.results.table)
    fallback = cfg.encode.get("raw_tokenizer")
    en_tok = raw_tokenizer(ctx.model, "en", fallback)
    rows, protocol = [], {"layer": tcfg.layer, "direction": "acc: English queries, nearest other-language line; "
                          "acc_reverse: the other way", "gold": "line index", "tokenizers": {"en": en_tok.describe()}}
    for lang in langs:
        if not ctx.pending("tatoeba", lang, [seed]):
            continue
        xx_path, xs, en_path, es = read_pair(root, lang)
        tok = raw_tokenizer(ctx.model, lang, fallback)
        protocol["tokenizers"][lang] = tok.describe()
        px = pooled_layers(ctx.encode(tok.tokenize(xs), tokenization=tok.describe(), label=xx_path.name, language=lang))
        pe = pooled_layers(ctx.encode(en_tok.tokenize(es), tokenization=en_tok.describe(), label=en_path.name, language="en"))
        vx, ve = layer_vectors(px, tcfg.layer), layer_vectors(pe, tcfg.layer)
        gold = np.arange(len(xs))
        acc, pred = retrieval_accuracy(ve, vx, gold)
        acc_rev, _ = retrieval_accuracy(vx, ve, gold)
        ctx.write_predictions("tatoeba", lang, seed, gold.tolist(), gold.tolist(), pred.tolist())
        new = [ctx.row("tatoeba", "acc", lang, seed, acc), ctx.row("tatoeba", "acc_reverse", lang, seed, acc_rev)]
        # every layer from the same encoding: the evidence for the default layer (helper metrics, not Table 1's)
        new += [ctx.row("tatoeba", m, lang, seed, v) for m, v in every_layer_accuracy(pe, px, gold).items()]
        ctx.append(new)
        rows += new
        log.info("tatoeba %s %s: acc %.4f, reverse %.4f", ctx.name, lang, acc, acc_rev)
    ctx.record("tatoeba", protocol)
    return rows
