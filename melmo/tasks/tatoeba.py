"""Tatoeba sentence retrieval (task=tatoeba; no training), as XTREME evaluates it.

Data: LASER's tatoeba v1 pairs ``tatoeba.<iso3>-eng.<iso3>`` / ``tatoeba.<iso3>-eng.eng``; line i of
one file translates line i of the other, so gold is the line index (never a sorted order:
xtreme#17, #61). A sentence vector is the mean over its real tokens of one configured layer (or
the average of the layers), L2-normalised (XTREME third_party/utils_retrieve.py). For each English
sentence the nearest sentence of the other language by cosine is retrieved (XTREME's direction:
index on the other language, English queries): metric ``acc``; the other direction is
``acc_reverse``. Each input line is tokenized with the model's own tokenizer (melmo.json).
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
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def sentence_vectors(acts, layer) -> np.ndarray:
    """(n_sentences, D): mean over each sentence's tokens of ``layer`` (int, or "average" of all
    layers), L2-normalised; an empty sentence gets a zero vector."""
    out = np.zeros((len(acts), acts.meta["dim"]), dtype=np.float64)
    for i in range(len(acts)):
        a = np.asarray(acts.sentence(i), dtype=np.float64)  # (n, L, D)
        if not len(a):
            continue
        v = (a.mean(1) if layer == "average" else a[:, int(layer)]).mean(0)
        norm = np.linalg.norm(v)
        out[i] = v / norm if norm > 0 else v
    return out


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
        vx = sentence_vectors(ctx.encode(tok.tokenize(xs), tokenization=tok.describe(), label=xx_path.name, language=lang), tcfg.layer)
        ve = sentence_vectors(ctx.encode(en_tok.tokenize(es), tokenization=en_tok.describe(), label=en_path.name, language="en"), tcfg.layer)
        gold = np.arange(len(xs))
        acc, pred = retrieval_accuracy(ve, vx, gold)
        acc_rev, _ = retrieval_accuracy(vx, ve, gold)
        ctx.write_predictions("tatoeba", lang, seed, gold.tolist(), gold.tolist(), pred.tolist())
        new = [ctx.row("tatoeba", "acc", lang, seed, acc), ctx.row("tatoeba", "acc_reverse", lang, seed, acc_rev)]
        ctx.append(new)
        rows += new
        log.info("tatoeba %s %s: acc %.4f, reverse %.4f", ctx.name, lang, acc, acc_rev)
    ctx.record("tatoeba", protocol)
    return rows
