"""task=parsing: the biaffine parser (Dozat & Manning 2017) on frozen, cached ELMo activations.

Per language, with pos's split protocol and activation cache (melmo/tasks/common/ud.py,
melmo/tasks/common/treebank.py): a ScalarMix + BiaffineParser head is trained on the protocol's train
sentences (relations of the training sentences only; an unseen gold relation is left out of the loss and
counts as wrong), early-stopped and selected on the held-out sentences by ``monitor`` (UAS or LAS,
torchmetrics, MST-decoded), and the report split is decoded with Chu-Liu-Edmonds (or Eisner,
``decode.projective``). Written beside the results: ``conllu/parsing/<encoder>/<lang>.gold.conllu`` (the
reported gold sentences, as read) and ``<lang>.seed<seed>.conllu`` (the same with predicted HEAD and DEPREL),
so that the official CoNLL 2018 scorer can run on them; the rows come from ``conllu_scores`` on that
pair: ``uas``, ``las`` (CoNLL 2018, punctuation included), ``uas_nopunct``, ``las_nopunct``, and
``<monitor>_select`` (the best held-out score). Per-item predictions: ``<head>|<deprel>``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torchmetrics.aggregation import MeanMetric

from melmo.errors import ConfigError
from melmo.formats.conllu import write_conllu
from melmo.tasks.common.context import EvalContext
from melmo.tasks.common.features import IGNORE, TokenBatches
from melmo.tasks.common.head import build_module, fit_head, predict
from melmo.tasks.common.treebank import Treebank
from melmo.tasks.common.ud import split_plan, ud_languages
from melmo.tasks.parsing.parser import BiaffineParser
from melmo.tasks.parsing.prediction_items import prediction_items
from melmo.tasks.parsing.scores import conllu_scores
from melmo.tasks.parsing.vocab import RelationVocab

log = logging.getLogger(__name__)
TASK = "parsing"


class ParserHead(nn.Module):
    """The HeadModule interface around a BiaffineParser. Batches carry ``heads`` and ``rels``
    ``(B, T)``; the output is ``BiaffineParser.encode``'s; ``predict`` returns ``(B, T, 2)``: decoded
    head and relation id per word. The held-out metrics are torchmetrics means over words of the decoded
    trees: ``uas`` and ``las`` (relations compared with subtypes stripped, as the CoNLL 2018 scorer does),
    ``monitor`` first."""

    def __init__(self, parser: BiaffineParser, vocab: RelationVocab, projective: bool = False,
                 monitor: str = "las"):
        super().__init__()
        if monitor not in ("uas", "las"):
            raise ConfigError(f"task.monitor={monitor!r}: use uas or las")
        self.parser, self.projective, self.monitor = parser, projective, monitor
        bases = [lab.split(":")[0] for lab in vocab.labels]
        first = {b: bases.index(b) for b in bases}
        self.register_buffer("base_of", torch.tensor([first[b] for b in bases], dtype=torch.long),
                             persistent=False)

    def forward(self, features, mask, batch):
        """(s_arc, rel_d, rel_h) of ``BiaffineParser.encode``: relations are scored at the gold heads
        (loss) or the decoded ones (decode) only."""
        return self.parser.encode(features, mask)

    def loss(self, output, batch):
        s_arc, rel_d, rel_h = output
        s_rel = self.parser.rel_at(rel_d, rel_h, batch["heads"])
        return self.parser.loss(s_arc, s_rel, batch["heads"], batch["rels"], batch["mask"])

    @torch.no_grad()
    def decode(self, output, batch):
        s_arc, rel_d, rel_h = output
        mask = batch["mask"].bool()
        heads = self.parser.decode_heads(s_arc, mask, projective=self.projective)
        rels = self.parser.rel_at(rel_d, rel_h, heads).argmax(-1)
        return heads, rels.masked_fill(~mask, 0)

    def predict(self, output, batch):
        heads, rels = self.decode(output, batch)
        return torch.stack((heads, rels), -1)

    def make_metrics(self) -> dict:
        names = [self.monitor] + [m for m in ("uas", "las") if m != self.monitor]
        return {m: MeanMetric() for m in names}

    def update_metrics(self, metrics, output, batch) -> None:
        heads, rels = self.decode(output, batch)
        m = batch["mask"]
        head_ok = heads[m] == batch["heads"][m]
        gold, pred = batch["rels"][m], rels[m]
        seen = gold != IGNORE  # an unseen gold relation can never be predicted: wrong
        rel_ok = torch.zeros_like(head_ok)
        rel_ok[seen] = self.base_of[pred[seen]] == self.base_of[gold[seen]]
        metrics["uas"].update(head_ok.float())
        metrics["las"].update((head_ok & rel_ok).float())


def _loader(tb: Treebank, split: str, indices, vocab: RelationVocab, tcfg, shuffle: bool = False,
            seed: int = 0) -> TokenBatches:
    """Length-bucketed batches of about ``batch_tokens`` words: ``target`` and ``heads`` the gold
    heads, ``rels`` the relation ids (IGNORE on padding)."""
    sents, units = tb.sentences[split], tb.units[split]
    heads = [np.asarray(sents[i].heads, dtype=np.int64) for i in indices]
    rels = [np.asarray(vocab.encode(sents[i].deprels), dtype=np.int64) for i in indices]
    return TokenBatches(tb.acts(split), indices, heads, [units[i].positions for i in indices],
                        batch_tokens=int(tcfg.batch_tokens), shuffle=shuffle, seed=seed,
                        extras={"heads": heads, "rels": rels})


def _train(ctx: EvalContext, tb: Treebank, plan, vocab: RelationVocab, tcfg: DictConfig, seed: int):
    # initial weights and the ROOT vector from the head's seed
    L.seed_everything(seed, workers=True, verbose=False)
    parser = instantiate(tcfg.head, n_in=ctx.model.dim, n_rels=len(vocab))
    head = ParserHead(parser, vocab, bool(tcfg.decode.projective), str(tcfg.monitor))
    module = build_module(tcfg.module, head, ctx.model.n_layers)
    train = _loader(tb, plan["train"].split, plan["train"].indices, vocab, tcfg, True, seed)
    select = _loader(tb, plan["select"].split, plan["select"].indices, vocab, tcfg)
    return fit_head(module, train, select, OmegaConf.to_container(tcfg.trainer, resolve=True), seed)


def conllu_dir(ctx: EvalContext) -> Path:
    return ctx.results_dir / "conllu" / TASK / ctx.name


def _score(ctx: EvalContext, module, tb: Treebank, split: str, indices, vocab: RelationVocab, tcfg,
           seed: int) -> dict:
    """Decode the report sentences, write gold/predicted CoNLL-U and per-item predictions, score."""
    preds = predict(module, _loader(tb, split, indices, vocab, tcfg))
    gold = [tb.sentences[split][i] for i in indices]
    heads, rels = [], []
    for i, s in zip(indices, gold):
        p = preds[i][: len(s.words)]
        heads.append(p[:, 0].tolist())
        rels.append(vocab.decode(p[:, 1].tolist()))
    out = conllu_dir(ctx)
    gold_path = write_conllu(out / f"{tb.lang}.gold.conllu", gold)
    pred_path = write_conllu(out / f"{tb.lang}.seed{seed}.conllu", gold, heads, rels)
    items = prediction_items(gold, heads, rels, list(indices))
    ctx.write_predictions(TASK, tb.lang, seed, *zip(*items))
    return conllu_scores(gold_path, pred_path)


def run(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    if tcfg.convention != "ud_words":
        raise ConfigError(f"task.convention={tcfg.convention!r}: parsing is over syntactic words (ud_words)")
    root = cfg.data.root
    langs = ctx.languages(ud_languages(root), TASK, f"{root}/ud")
    rows, protocol = [], {}
    for lang in langs:
        seeds = ctx.pending(TASK, lang)
        if not seeds:
            continue
        tb = Treebank(ctx, root, lang, tcfg, check_trees=True)
        plan = split_plan({k: len(v) for k, v in tb.sentences.items()}, tcfg.protocol,
                          int(tcfg.protocol.split_seed))
        train_sents = tb.sentences[plan["train"].split]
        vocab = RelationVocab.build(train_sents[i].deprels for i in plan["train"].indices)
        report = [tb.sentences[plan["report"].split][i] for i in plan["report"].indices]
        unseen = vocab.unseen(r for s in report for r in s.deprels)
        protocol[lang] = {"files": tb.files, **{role: r.note for role, r in plan.items()},
                          "encoder_input": tcfg.encoder_input, "relations": len(vocab),
                          "unseen_report_relations": dict(unseen),
                          "tokens_cut_share": round(tb.tokens_cut_share(), 6)}
        if unseen:
            log.info("parsing %s: %d report words have relations unseen in training (%s): counted wrong",
                     lang, sum(unseen.values()), ", ".join(sorted(unseen)))
        for seed in seeds:
            module, info = _train(ctx, tb, plan, vocab, tcfg, seed)
            ctx.note_head(TASK, lang, seed, info)
            scores = _score(ctx, module, tb, plan["report"].split, plan["report"].indices, vocab, tcfg, seed)
            new = [ctx.row(TASK, m, lang, seed, scores[m]) for m in tcfg.metrics]
            new.append(ctx.row(TASK, f"{tcfg.monitor}_select", lang, seed, info["best_score"]))
            ctx.append(new)
            rows += new
            log.info("parsing %s %s seed %d: uas %.4f las %.4f (select %s %.4f, %d epochs)", ctx.name, lang,
                     seed, scores["uas"], scores["las"], tcfg.monitor, info["best_score"], info["epochs"])
    ctx.record(TASK, protocol)
    return rows
