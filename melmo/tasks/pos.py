"""PoS tagging (task=pos) on frozen ELMo; its head training and scoring also serve task=pos_transfer
(melmo/tasks/pos_transfer.py).

Per language, a ScalarMix + MLP head is trained on the protocol's train sentences, selected by
early stopping on the held-out select sentences, and scored on the report split: UPOS accuracy
over UD syntactic words (CoNLL 2018: multiword ranges and empty nodes skipped, punctuation
included), or over surface tokens with XTREME's span-head labels (``convention: xtreme_surface``).
Metrics: ``acc`` (report split) and ``acc_select`` (the best held-out score) per seed.
"""

from __future__ import annotations

import logging

import lightning as L
import torch
import torchmetrics
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from melmo.formats.conllu import UPOS_TAGS
from melmo.tasks.common.context import EvalContext
from melmo.tasks.common.features import TokenBatches
from melmo.tasks.common.head import build_module, fit_head, predict
from melmo.tasks.common.treebank import Treebank
from melmo.tasks.common.ud import split_plan, ud_languages

log = logging.getLogger(__name__)


def _loader(tb: Treebank, split: str, indices, tcfg, shuffle: bool = False, seed: int = 0) -> TokenBatches:
    return tb.batches(split, indices, int(tcfg.batch_size), shuffle, seed)


def train_tagger(ctx: EvalContext, tb: Treebank, plan, tcfg: DictConfig, seed: int):
    L.seed_everything(seed, workers=True, verbose=False)  # the head's initial weights come from its own seed
    head = instantiate(tcfg.head, in_dim=ctx.model.dim, n_labels=len(UPOS_TAGS))
    module = build_module(tcfg.module, head, ctx.model.n_layers)
    train = _loader(tb, plan["train"].split, plan["train"].indices, tcfg, True, seed)
    select = _loader(tb, plan["select"].split, plan["select"].indices, tcfg)
    trainer_cfg = OmegaConf.to_container(tcfg.trainer, resolve=True)
    return fit_head(module, train, select, trainer_cfg, seed)


def score_tagger(ctx: EvalContext, task: str, module, tb: Treebank, split: str, indices, tcfg,
                 seed: int) -> float:
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


def protocol_doc(tb: Treebank, plan, tcfg) -> dict:
    return {"files": tb.files, **{role: r.note for role, r in plan.items()},
            "encoder_input": tcfg.encoder_input, "convention": tcfg.convention,
            "tokens_cut_share": round(tb.tokens_cut_share(), 6)}


def run(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root = cfg.data.root
    langs = ctx.languages(ud_languages(root), "pos", f"{root}/ud")
    rows, protocol = [], {}
    for lang in langs:
        seeds = ctx.pending("pos", lang)
        if not seeds:
            continue
        tb = Treebank(ctx, root, lang, tcfg)
        plan = split_plan({k: len(v) for k, v in tb.sentences.items()}, tcfg.protocol,
                          int(tcfg.protocol.split_seed))
        protocol[lang] = protocol_doc(tb, plan, tcfg)
        for seed in seeds:
            module, info = train_tagger(ctx, tb, plan, tcfg, seed)
            ctx.note_head("pos", lang, seed, info)
            acc = score_tagger(ctx, "pos", module, tb, plan["report"].split, plan["report"].indices, tcfg,
                               seed)
            new = [ctx.row("pos", "acc", lang, seed, acc),
                   ctx.row("pos", "acc_select", lang, seed, info["best_score"])]
            ctx.append(new)
            rows += new
            log.info("pos %s %s seed %d: acc %.4f (select %.4f, %d epochs)", ctx.name, lang, seed, acc,
                     info["best_score"], info["epochs"])
    ctx.record("pos", protocol)
    return rows
