"""Zero-shot PoS transfer (task=pos_transfer) on frozen ELMo: one head per seed trained on the source language
only (English; the protocol and head of task=pos, melmo/tasks/pos.py), applied unchanged to every language's
report split (the whole test file for the other languages). Metric: ``acc`` per language and seed.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from melmo.tasks.common.context import EvalContext
from melmo.tasks.common.treebank import Treebank
from melmo.tasks.common.ud import DataError, split_plan, ud_languages
from melmo.tasks.pos import protocol_doc, score_tagger, train_tagger

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> list[dict]:
    ctx, tcfg = EvalContext(cfg), cfg.task
    root, source = cfg.data.root, str(tcfg.source_language)
    available = ud_languages(root)
    if source not in available:
        raise DataError(f"{root}/ud: no treebank for the transfer source language {source!r}")
    langs = ctx.languages(available, "pos_transfer", f"{root}/ud")
    todo = {seed: [lang for lang in langs if seed in ctx.pending("pos_transfer", lang)] for seed in ctx.seeds}
    if not any(todo.values()):
        return []
    src = Treebank(ctx, root, source, tcfg)
    plan = split_plan({k: len(v) for k, v in src.sentences.items()}, tcfg.protocol,
                      int(tcfg.protocol.split_seed))
    targets: dict[str, Treebank] = {}
    protocol = {"source": {source: protocol_doc(src, plan, tcfg)},
                "targets": f"report split of each language: {tcfg.protocol.report} (all sentences), "
                           "the source language: its own report split"}
    rows = []
    for seed, tlangs in todo.items():
        if not tlangs:
            continue
        module, info = train_tagger(ctx, src, plan, tcfg, seed)  # one model per seed, English only
        ctx.note_head("pos_transfer", source, seed, info)
        for lang in tlangs:
            if lang == source:
                tb, split, idx = src, plan["report"].split, plan["report"].indices
            else:
                tb = targets.get(lang) or targets.setdefault(lang, Treebank(ctx, root, lang, tcfg))
                split = str(tcfg.protocol.report)
                if split not in tb.sentences:
                    raise DataError(f"{root}/ud/{lang}: no {split} file to report pos_transfer on")
                idx = list(range(len(tb.sentences[split])))
            acc = score_tagger(ctx, "pos_transfer", module, tb, split, idx, tcfg, seed)
            new = [ctx.row("pos_transfer", "acc", lang, seed, acc)]
            ctx.append(new)
            rows += new
            log.info("pos_transfer %s %s->%s seed %d: acc %.4f", ctx.name, source, lang, seed, acc)
    ctx.record("pos_transfer", protocol)
    return rows

