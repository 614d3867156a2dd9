"""task=xnli: ESIM over frozen, cached ELMo activations, trained on English MultiNLI, zero-shot on XNLI.

Per seed, one ScalarMix + ESIM head is trained on the MultiNLI sample (``mnli_train``, minus the pairs
whose premise occurs in any XNLI dev/test set of the configured languages: counted and logged),
early-stopped and selected on ``mnli_val`` accuracy, then applied unchanged to the XNLI dev
(metric ``acc``, what the paper reports) and test (``acc_test``) sets of every requested XNLI
language. Languages XNLI lacks are skipped with one log line. MultiNLI is already tokenized
(whitespace split); XNLI is raw text, tokenized with the encoder's own tokenizer
(melmo.encode.tokenize.raw_tokenizer). Per-item predictions (item = pair index, label names):
dev under task ``xnli``, test under ``xnli_test``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from melmo.encode.tokenize import raw_tokenizer
from melmo.tasks.context import EvalContext
from melmo.tasks.features import PairBatches
from melmo.tasks.head import build_module, fit_head, predict
from melmo.tasks.xnli.esim import ESIM
from melmo.tasks.xnli.readers import (
    LABELS,
    NLIData,
    NLIFormatError,
    drop_premise_overlap,
    read_mnli_sample,
    read_xtreme,
)

log = logging.getLogger(__name__)
TASK = "xnli"
WHITESPACE = {"source": "mnli_sample", "kind": "whitespace"}


class ESIMHead(nn.Module):
    """The HeadModule interface around ESIM: pair batches (``layers``/``mask`` premise,
    ``layers_b``/``mask_b`` hypothesis), ``target`` (B,) label ids; ``predict`` -> (B,) argmax."""

    def __init__(self, esim: ESIM):
        super().__init__()
        self.esim = esim
        self.n_labels = esim.output.out_features

    def forward(self, features, mask, batch):
        (a, b), (ma, mb) = features, mask
        return self.esim(a, ma, b, mb)  # (B, n_classes)

    def loss(self, output, batch):
        return F.cross_entropy(output, batch["target"])

    def predict(self, output, batch):
        return output.argmax(-1)


def _layout(base: Path, layouts) -> tuple[Path, Mapping | None]:
    for lay in layouts:
        d = base / str(lay["xnli_dir"])
        if d.is_dir():
            return d, lay.get("expected_rows")
    raise NLIFormatError(f"{base}: no XNLI folder ({', '.join(str(lay['xnli_dir']) for lay in layouts)}; set data.root)")


def _tokens(data: NLIData, tok, label: str) -> tuple[list[list[str]], list[list[str]]]:
    prem = tok.tokenize([p.premise for p in data.pairs]) if tok else [p.premise.split() for p in data.pairs]
    hyp = tok.tokenize([p.hypothesis for p in data.pairs]) if tok else [p.hypothesis.split() for p in data.pairs]
    for k, (a, b) in enumerate(zip(prem, hyp)):
        if not a or not b:
            raise NLIFormatError(f"{data.path}: pair {k} ({label}) has an empty {'premise' if not a else 'hypothesis'} after tokenization")
    return prem, hyp


class NLISets:
    """The data of one run: training/validation pairs and the XNLI sets, encoded on demand (cached)."""

    def __init__(self, ctx: EvalContext, tcfg: DictConfig):
        d = tcfg.data
        base = Path(str(d.dir))
        self.ctx, self.xnli_dir, expected = ctx, *_layout(base, d.layouts)
        expected = dict(expected or {})
        self.max_eval = d.get("max_eval_pairs")
        self.xnli = {(lang, split): read_xtreme(self.xnli_dir, lang, split, expected.get(split))
                     for lang in tcfg.languages for split in ("dev", "test")}
        train = read_mnli_sample(base / str(d.train), expected.get("train"))
        self.dropped = 0
        if d.drop_premise_overlap:
            train, self.dropped = drop_premise_overlap(train, self.xnli.values())
        self.n_train = len(train)
        if d.get("max_train_pairs"):
            train.pairs = train.pairs[: int(d.max_train_pairs)]
        self.train = train
        self.val = self._cut(read_mnli_sample(base / str(d.val), expected.get("val")))
        self.xnli = {k: self._cut(v) for k, v in self.xnli.items()}
        self.tokenizers: dict[str, dict] = {"mnli": WHITESPACE}

    def _cut(self, data: NLIData) -> NLIData:
        if self.max_eval:
            data.pairs = data.pairs[: int(self.max_eval)]
        return data

    def dataset(self, data: NLIData, lang: str, label: str, tcfg, tok=None, shuffle: bool = False, seed: int = 0) -> PairBatches:
        how = tok.describe() if tok else WHITESPACE
        prem, hyp = _tokens(data, tok, label)
        enc = self.ctx.encode
        return PairBatches(enc(prem, tokenization=how, label=f"{label}/premise", language=lang),
                           enc(hyp, tokenization=how, label=f"{label}/hypothesis", language=lang), [p.label for p in data.pairs],
                           batch_size=int(tcfg.batch_size), shuffle=shuffle, seed=seed)


def _accuracy(ctx: EvalContext, task: str, module, ds: PairBatches, lang: str, seed: int) -> float:
    preds = predict(module, ds)
    n = len(ds.labels)
    pred = [int(preds[k]) for k in range(n)]
    ctx.write_predictions(task, lang, seed, range(n), [LABELS[g] for g in ds.labels], [LABELS[p] for p in pred])
    return float(np.mean(np.array(pred) == np.array(ds.labels)))


def requested_languages(cfg: DictConfig, tcfg: DictConfig) -> list[str]:
    want = cfg.get("language")
    if want is None:
        return [str(x) for x in tcfg.languages]
    want = [want] if isinstance(want, str) else [str(x) for x in want]
    for lang in want:
        if lang not in tcfg.languages:
            log.info("xnli: no XNLI data for %s, skipped", lang)
    return [lang for lang in want if lang in tcfg.languages]


def run_xnli(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    langs = requested_languages(cfg, tcfg)
    todo = {seed: [lang for lang in langs if seed in ctx.pending(TASK, lang, [seed])] for seed in ctx.seeds}
    if not any(todo.values()):
        return []
    sets = NLISets(ctx, tcfg)
    log.info("xnli: %d MultiNLI training pairs dropped: their premise occurs in an XNLI dev/test set", sets.dropped)
    train = sets.dataset(sets.train, "en", "mnli_train", tcfg, shuffle=True)
    val = sets.dataset(sets.val, "en", "mnli_val", tcfg)
    evals: dict[tuple[str, str], PairBatches] = {}
    protocol = {"train": f"{sets.train.path} ({sets.n_train} pairs after dropping {sets.dropped} whose premise is in "
                         f"an XNLI dev/test set; the first {len(sets.train)} used)",
                "select": f"{sets.val.path} ({len(sets.val)} pairs), accuracy", "xnli": str(sets.xnli_dir),
                "metrics": {"acc": "XNLI dev", "acc_test": "XNLI test"}, "tokenizers": sets.tokenizers, "select_scores": {}}
    rows = []
    for seed, tlangs in todo.items():
        if not tlangs:
            continue
        head = ESIMHead(instantiate(tcfg.head, n_in=ctx.model.dim))
        module = build_module(tcfg.module, head, ctx.model.n_layers)
        train.reseed(seed)  # the batch order of this seed
        module, info = fit_head(module, train, val, OmegaConf.to_container(tcfg.trainer, resolve=True), seed)
        protocol["select_scores"][seed] = info["best_score"]
        for lang in tlangs:
            new = []
            for split, metric, task in (("dev", tcfg.metrics.dev, TASK), ("test", tcfg.metrics.test, f"{TASK}_test")):
                if (lang, split) not in evals:
                    tok = raw_tokenizer(ctx.model, lang, cfg.encode.get("raw_tokenizer"))
                    sets.tokenizers[lang] = tok.describe()
                    evals[(lang, split)] = sets.dataset(sets.xnli[(lang, split)], lang, f"xnli/{split}-{lang}", tcfg, tok)
                acc = _accuracy(ctx, task, module, evals[(lang, split)], lang, seed)
                new.append(ctx.row(TASK, str(metric), lang, seed, acc))
            ctx.append(new)
            rows += new
            log.info("xnli %s %s seed %d: dev %s, test %s (mnli_val %.4f)", ctx.name, lang, seed, new[0]["value"],
                     new[1]["value"], info["best_score"])
    ctx.record(TASK, protocol)
    return rows
