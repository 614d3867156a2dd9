"""task=xnli: ESIM over frozen, cached ELMo activations, trained on English MultiNLI, zero-shot on XNLI.

Per seed, one ScalarMix + ESIM head is trained on MultiNLI (1.0 train, or the sample's ``mnli_train``;
the data layouts of ``task.data.layouts``), minus the pairs whose premise occurs in any XNLI dev/test
set of the configured languages (counted and logged), early-stopped and selected on MultiNLI 1.0
``dev_matched`` (or the sample's ``mnli_val``) accuracy, then applied unchanged to the XNLI dev
(metric ``acc``, what the paper reports) and test (``acc_test``) sets of every requested XNLI
language. Languages XNLI lacks are skipped with one log line. Raw text (XNLI, MultiNLI 1.0) is
tokenized with the encoder's own tokenizer (melmo.encode.tokenize.raw_tokenizer); the MultiNLI sample
is already tokenized (whitespace split). Per-item predictions (item = pair index, label names):
dev under task ``xnli``, test under ``xnli_test``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import lightning as L
import numpy as np
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from melmo.encode.tokenize import raw_tokenizer
from melmo.formats.nli import (
    LABELS,
    NLIData,
    NLIFormatError,
    drop_premise_overlap,
    read_mnli_jsonl,
    read_mnli_sample,
    read_xnli_tsv,
    read_xtreme,
    resolve,
)
from melmo.tasks.common.context import EvalContext
from melmo.tasks.common.features import PairBatches
from melmo.tasks.common.head import build_module, fit_head, predict
from melmo.tasks.xnli.esim import ESIM

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


def _layout(base: Path, layouts) -> Mapping:
    """The first layout whose XNLI folder exists under ``base``; its MultiNLI files must exist too."""
    for lay in layouts:
        if (base / str(lay["xnli"])).is_dir():
            for key in ("train", "val"):
                resolve(base / str(lay[key]))  # a one-line "file not found" naming it
            return lay
    names = ", ".join(f"{lay['xnli']}/ ({lay['name']})" for lay in layouts)
    raise NLIFormatError(f"{base}: no XNLI folder ({names}; set data.root)")


def _read_mnli(path: Path, fmt: str, expected: int | None) -> NLIData:
    if fmt == "mnli_jsonl":
        return read_mnli_jsonl(path, expected)
    if fmt == "mnli_sample":
        return read_mnli_sample(path, expected)
    raise NLIFormatError(f"{path}: format {fmt!r} (task.data.layouts): use mnli_jsonl or mnli_sample")


def _read_xnli(directory: Path, fmt: str, lang: str, split: str, expected: int | None) -> NLIData:
    if fmt == "xnli_tsv":
        return read_xnli_tsv(directory / f"xnli.{split}.tsv", lang, expected)
    if fmt == "xtreme":
        return read_xtreme(directory, lang, split, expected)
    raise NLIFormatError(f"{directory}: xnli_format {fmt!r} (task.data.layouts): use xnli_tsv or xtreme")


def _tokens(data: NLIData, tok, label: str) -> tuple[list[list[str]], list[list[str]]]:
    prem = tok.tokenize([p.premise for p in data.pairs]) if tok else [p.premise.split() for p in data.pairs]
    hyp = (tok.tokenize([p.hypothesis for p in data.pairs]) if tok
           else [p.hypothesis.split() for p in data.pairs])
    for k, (a, b) in enumerate(zip(prem, hyp)):
        if not a or not b:
            raise NLIFormatError(f"{data.path}: pair {k} ({label}) has an empty "
                                 f"{'premise' if not a else 'hypothesis'} after tokenization")
    return prem, hyp


class NLISets:
    """The data of one run: training/validation pairs and the XNLI sets, encoded on demand (cached)."""

    def __init__(self, ctx: EvalContext, tcfg: DictConfig):
        d = tcfg.data
        base = Path(str(d.dir))
        lay = _layout(base, d.layouts)
        self.ctx, self.layout, self.xnli_dir = ctx, str(lay["name"]), base / str(lay["xnli"])
        expected = dict((d.get("expected_rows") or {}).get(self.layout) or {})
        # MultiNLI 1.0 is raw text: the encoder's tokenizer
        self.raw_mnli = str(lay["format"]) == "mnli_jsonl"
        self.max_eval = d.get("max_eval_pairs")
        self.xnli = {(lang, split): _read_xnli(self.xnli_dir, str(lay["xnli_format"]), lang, split,
                                               expected.get(split))
                     for lang in tcfg.languages for split in ("dev", "test")}
        train = _read_mnli(base / str(lay["train"]), str(lay["format"]), expected.get("train"))
        self.dropped = 0
        if d.drop_premise_overlap:
            train, self.dropped = drop_premise_overlap(train, self.xnli.values())
        self.n_train = len(train)
        if d.get("max_train_pairs"):
            train.pairs = train.pairs[: int(d.max_train_pairs)]
        self.train = train
        self.val = self._cut(_read_mnli(base / str(lay["val"]), str(lay["format"]), expected.get("val")))
        self.xnli = {k: self._cut(v) for k, v in self.xnli.items()}
        self.tokenizers: dict[str, dict] = {"mnli": WHITESPACE}

    def _cut(self, data: NLIData) -> NLIData:
        if self.max_eval:
            data.pairs = data.pairs[: int(self.max_eval)]
        return data

    def dataset(self, data: NLIData, lang: str, label: str, tcfg, tok=None, shuffle: bool = False,
                seed: int = 0) -> PairBatches:
        how = tok.describe() if tok else WHITESPACE
        prem, hyp = _tokens(data, tok, label)
        enc = self.ctx.encode
        return PairBatches(enc(prem, tokenization=how, label=f"{label}/premise", language=lang),
                           enc(hyp, tokenization=how, label=f"{label}/hypothesis", language=lang),
                           [p.label for p in data.pairs], batch_size=int(tcfg.batch_size), shuffle=shuffle,
                           seed=seed)


def _accuracy(ctx: EvalContext, task: str, module, ds: PairBatches, lang: str, seed: int) -> float:
    preds = predict(module, ds)
    n = len(ds.labels)
    pred = [int(preds[k]) for k in range(n)]
    ctx.write_predictions(task, lang, seed, range(n), [LABELS[g] for g in ds.labels],
                          [LABELS[p] for p in pred])
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


def run(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    langs = requested_languages(cfg, tcfg)
    ctx.check_name(langs)
    todo = {seed: [lang for lang in langs if seed in ctx.pending(TASK, lang, [seed])] for seed in ctx.seeds}
    if not any(todo.values()):
        return []
    sets = NLISets(ctx, tcfg)
    log.info("xnli: %d MultiNLI training pairs dropped: their premise occurs in an XNLI dev/test set",
             sets.dropped)
    mnli_tok = raw_tokenizer(ctx.model, "en", cfg.encode.get("raw_tokenizer")) if sets.raw_mnli else None
    if mnli_tok is not None:
        sets.tokenizers["mnli"] = mnli_tok.describe()
    train = sets.dataset(sets.train, "en", "mnli_train", tcfg, mnli_tok, shuffle=True)
    val = sets.dataset(sets.val, "en", "mnli_val", tcfg, mnli_tok)
    evals: dict[tuple[str, str], PairBatches] = {}
    protocol = {"train": f"{sets.train.path} ({sets.n_train} pairs after dropping {sets.dropped} whose "
                         f"premise is in an XNLI dev/test set; the first {len(sets.train)} used)",
                "select": f"{sets.val.path} ({len(sets.val)} pairs), accuracy",
                "xnli": f"{sets.xnli_dir} (layout {sets.layout})",
                "metrics": {"acc": "XNLI dev", "acc_test": "XNLI test"}, "tokenizers": sets.tokenizers,
                "select_scores": {}}
    rows = []
    for seed, tlangs in todo.items():
        if not tlangs:
            continue
        # the head's initial weights come from its own seed
        L.seed_everything(seed, workers=True, verbose=False)
        head = ESIMHead(instantiate(tcfg.head, n_in=ctx.model.dim))
        module = build_module(tcfg.module, head, ctx.model.n_layers)
        train.reseed(seed)  # the batch order of this seed
        module, info = fit_head(module, train, val, OmegaConf.to_container(tcfg.trainer, resolve=True), seed)
        protocol["select_scores"][seed] = info["best_score"]
        ctx.note_head(TASK, "en", seed, info)  # one head per seed, trained on English MultiNLI
        for lang in tlangs:
            new = []
            for split, metric, task in (("dev", tcfg.metrics.dev, TASK),
                                        ("test", tcfg.metrics.test, f"{TASK}_test")):
                if (lang, split) not in evals:
                    tok = raw_tokenizer(ctx.model, lang, cfg.encode.get("raw_tokenizer"))
                    sets.tokenizers[lang] = tok.describe()
                    evals[(lang, split)] = sets.dataset(sets.xnli[(lang, split)], lang,
                                                        f"xnli/{split}-{lang}", tcfg, tok)
                acc = _accuracy(ctx, task, module, evals[(lang, split)], lang, seed)
                new.append(ctx.row(TASK, str(metric), lang, seed, acc))
            ctx.append(new)
            rows += new
            log.info("xnli %s %s seed %d: dev %s, test %s (mnli_val %.4f)", ctx.name, lang, seed,
                     new[0]["value"], new[1]["value"], info["best_score"])
    ctx.record(TASK, protocol)
    return rows
