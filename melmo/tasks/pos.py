"""PoS tagging (task=pos) and zero-shot PoS transfer (task=pos_transfer) on frozen ELMo.

pos: per language, a ScalarMix + MLP head is trained on the protocol's train sentences, selected by
early stopping on the held-out select sentences, and scored on the report split: UPOS accuracy
over UD syntactic words (CoNLL 2018: multiword ranges and empty nodes skipped, punctuation
included), or over surface tokens with XTREME's span-head labels (``convention: xtreme_surface``).
pos_transfer: one head per seed trained on English only (same protocol), applied unchanged to
every language's report split (the whole test file for the other languages).
Metrics: ``acc`` (report split) and ``acc_select`` (the best held-out score) per seed.
"""

from __future__ import annotations

import logging

import lightning as L
import torch
import torchmetrics
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from melmo.tasks.conllu import UPOS_TAGS
from melmo.tasks.context import EvalContext
from melmo.tasks.features import TokenBatches
from melmo.tasks.head import build_module, fit_head, predict
from melmo.tasks.treebank import Treebank
from melmo.tasks.ud import split_plan, ud_languages

log = logging.getLogger(__name__)


def _loader(tb: Treebank, split: str, indices, tcfg, shuffle: bool = False, seed: int = 0) -> TokenBatches:
    return tb.batches(split, indices, int(tcfg.batch_size), shuffle, seed)


def _train(ctx: EvalContext, tb: Treebank, plan, tcfg: DictConfig, seed: int):
    L.seed_everything(seed, workers=True, verbose=False)  # the head's initial weights come from its own seed
    head = instantiate(tcfg.head, in_dim=ctx.model.dim, n_labels=len(UPOS_TAGS))
    module = build_module(tcfg.module, head, ctx.model.n_layers)
    train = _loader(tb, plan["train"].split, plan["train"].indices, tcfg, True, seed)
    select = _loader(tb, plan["select"].split, plan["select"].indices, tcfg)
    trainer_cfg = OmegaConf.to_container(tcfg.trainer, resolve=True)
    return fit_head(module, train, select, trainer_cfg, seed)


def _score(ctx: EvalContext, task: str, module, tb: Treebank, split: str, indices, tcfg, seed: int) -> float:
    """Accuracy (torchmetrics) of ``module`` on ``indices`` of ``split``; writes the predictions file."""
    preds = predict(module, _loader(tb, split, indices, tcfg))
    acc = torchmetrics.classification.MulticlassAccuracy(len(UPOS_TAGS), average="micro")
    items, gold, pred = [], [], []
    for i in indices:
        u, p = tb.units[split][i], preds[i]
        acc.update(p, torch.from_numpy(u.labels))
        items += [f"{i}:{w}" for w in u.items]
        gold += [UPOS_TAGS[t] for t in u.labels]
        pred += [UPOS_TAGS[t] for t in p.tolist()]
    ctx.write_predictions(task, tb.lang, seed, items, gold, pred)
    return float(acc.compute())


def _protocol_doc(tb: Treebank, plan, tcfg) -> dict:
    return {"files": tb.files, **{role: r.note for role, r in plan.items()},
            "encoder_input": tcfg.encoder_input, "convention": tcfg.convention,
            "tokens_cut_share": round(tb.tokens_cut_share(), 6)}


def run_pos(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root = cfg.data.root
    langs = ctx.languages(ud_languages(root), "pos", f"{root}/ud")
    rows, protocol = [], {}
    for lang in langs:
        seeds = ctx.pending("pos", lang)
        if not seeds:
            continue
        tb = Treebank(ctx, root, lang, tcfg)
        plan = split_plan({k: len(v) for k, v in tb.sentences.items()}, tcfg.protocol, int(tcfg.protocol.split_seed))
        protocol[lang] = _protocol_doc(tb, plan, tcfg)
        for seed in seeds:
            module, info = _train(ctx, tb, plan, tcfg, seed)
            ctx.note_head("pos", lang, seed, info)
            acc = _score(ctx, "pos", module, tb, plan["report"].split, plan["report"].indices, tcfg, seed)
            new = [ctx.row("pos", "acc", lang, seed, acc), ctx.row("pos", "acc_select", lang, seed, info["best_score"])]
            ctx.append(new)
            rows += new
            log.info("pos %s %s seed %d: acc %.4f (select %.4f, %d epochs)", ctx.name, lang, seed, acc, info["best_score"], info["epochs"])
    ctx.record("pos", protocol)
    return rows


def run_pos_transfer(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root, source = cfg.data.root, str(tcfg.source_language)
    available = ud_languages(root)
    if source not in available:
        raise ValueError(f"{root}/ud: no treebank for the transfer source language {source!r}")
    langs = ctx.languages(available, "pos_transfer", f"{root}/ud")
    todo = {seed: [lang for lang in langs if seed in ctx.pending("pos_transfer", lang)] for seed in ctx.seeds}
    if not any(todo.values()):
        return []
    src = Treebank(ctx, root, source, tcfg)
    plan = split_plan({k: len(v) for k, v in src.sentences.items()}, tcfg.protocol, int(tcfg.protocol.split_seed))
    targets: dict[str, Treebank] = {}
    protocol = {"source": {source: _protocol_doc(src, plan, tcfg)}, "targets": "report split of each language: "
                f"{tcfg.protocol.report} (all sentences), the source language: its own report split"}
    rows = []
    for seed, tlangs in todo.items():
        if not tlangs:
            continue
        module, info = _train(ctx, src, plan, tcfg, seed)  # one model per seed, English only
        ctx.note_head("pos_transfer", source, seed, info)
        for lang in tlangs:
            if lang == source:
                tb, split, idx = src, plan["report"].split, plan["report"].indices
            else:
                tb = targets.get(lang) or targets.setdefault(lang, Treebank(ctx, root, lang, tcfg))
                split = str(tcfg.protocol.report)
                if split not in tb.sentences:
                    raise ValueError(f"{root}/ud/{lang}: no {split} file to report pos_transfer on")
                idx = list(range(len(tb.sentences[split])))
            acc = _score(ctx, "pos_transfer", module, tb, split, idx, tcfg, seed)
            new = [ctx.row("pos_transfer", "acc", lang, seed, acc)]
            ctx.append(new)
            rows += new
            log.info("pos_transfer %s %s->%s seed %d: acc %.4f", ctx.name, source, lang, seed, acc)
    ctx.record("pos_transfer", protocol)
    return rows

