"""Head training speed: a head epoch through the real ``fit_head`` path against a plain PyTorch loop
over the same tensors (the floor), per task (pos, parsing, xnli).

    python benchmarks/heads.py [--arch elmo_tiny] [--heads sample|paper] [--epochs 3] [--repeat 2]
                               [--threads 1] [--tasks pos,parsing,xnli]

A model of the --arch architecture with random weights (the timing does not depend on the weights)
encodes, into an activation cache, the sample's English dev treebank (pos: the UPOS tags; parsing:
the heads and relations) and the shipped MultiNLI slice (xnli). Each task's head and module come
from evaluate's composed config (conf/task/<task>.yaml with heads=<--heads>), its batches from the
task's own batching (features.TokenBatches / PairBatches), as the runners build them. Both sides
run ``--epochs`` epochs, each a training pass and a validation pass (the held-out metric, MST
decoding for the parser):

* fit_head: a Lightning Trainer with early stopping and the best weights kept (fit_head itself);
* floor: the same module, optimizer and scheduler from ``configure_optimizers``, gradient clipping
  as the trainer config sets it, the same input statistics (``module.normalize``), in a hand-written loop.

fit_head's time includes building its Trainer (a per-head cost). The two sides alternate
``--repeat`` times and the best time of each is kept. Prints units (words; both sides of a pair
for xnli) per second of training data each way and the ratio fit_head/floor in time (goal <= 1.3).
"""

from __future__ import annotations

import argparse
import copy
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.encode.cache import ActivationCache
from melmo.encode.model_dir import ModelDir
from melmo.formats.conllu import UPOS_TAGS, read_conllu
from melmo.formats.nli import read_mnli_sample
from melmo.model.encoder import BiLM
from melmo.model.io import save_bilm
from melmo.tasks.common.features import PairBatches, TokenBatches
from melmo.tasks.common.head import build_module, fit_head
from melmo.tasks.common.ud import make_units
from melmo.tasks.parsing.task import ParserHead
from melmo.tasks.parsing.vocab import RelationVocab
from melmo.tasks.xnli.task import ESIMHead

ROOT = Path(__file__).resolve().parents[1]
TREEBANK = ROOT / "data/sample/ud/en/en_ewt-ud-dev.conllu.xz"
NLI = ROOT / "data/sample/nli/mnli"


def task_config(task: str, heads: str):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            return compose("evaluate", overrides=[f"task={task}", f"heads={heads}"]).task
    finally:
        GlobalHydra.instance().clear()


def random_model(arch: str, tmp: Path) -> ModelDir:
    cfg = yaml.safe_load((ROOT / "conf" / "model" / f"{arch}.yaml").read_text())
    torch.manual_seed(0)
    save_bilm(BiLM(cfg["char_cnn"], cfg["lstm"]), tmp / "model")
    return ModelDir(tmp / "model")


def ud_sets(model, cache, tcfg, task: str):
    """(train, val) batches of the dev treebank: 90 % / 10 %, as the runners build them."""
    sents = read_conllu(TREEBANK, check_trees=task == "parsing")
    units = [make_units(s, "words", "ud_words") for s in sents]
    acts = cache.get(model, [u.fed for u in units],
                     tokenization={"source": "conllu", "encoder_input": "words"})
    n_val = len(units) // 10
    parts = {"train": list(range(n_val, len(units))), "val": list(range(n_val))}
    if task == "pos":
        make = lambda idx, shuffle: TokenBatches(acts, idx, [units[i].labels for i in idx],  # noqa: E731
                                                 batch_size=int(tcfg.batch_size), shuffle=shuffle, seed=1)
        head = instantiate(tcfg.head, in_dim=model.dim, n_labels=len(UPOS_TAGS))
    else:
        vocab = RelationVocab.build(sents[i].deprels for i in parts["train"])
        heads = [np.asarray(s.heads, dtype=np.int64) for s in sents]
        rels = [np.asarray(vocab.encode(s.deprels), dtype=np.int64) for s in sents]
        make = lambda idx, shuffle: TokenBatches(acts, idx, [heads[i] for i in idx],  # noqa: E731
                                                 batch_tokens=int(tcfg.batch_tokens), shuffle=shuffle, seed=1,
                                                 extras={"heads": [heads[i] for i in idx],
                                                         "rels": [rels[i] for i in idx]})
        head = ParserHead(instantiate(tcfg.head, n_in=model.dim, n_rels=len(vocab)), vocab, False,
                          str(tcfg.monitor))
    return make(parts["train"], True), make(parts["val"], False), head


def nli_sets(model, cache, tcfg):
    out = []
    for name, shuffle in (("mnli_train.tsv", True), ("mnli_val.tsv", False)):
        data = read_mnli_sample(NLI / name, None)
        how = {"source": "mnli_sample", "kind": "whitespace"}
        a = cache.get(model, [p.premise.split() for p in data.pairs], tokenization=how)
        b = cache.get(model, [p.hypothesis.split() for p in data.pairs], tokenization=how)
        out.append(PairBatches(a, b, [p.label for p in data.pairs], batch_size=int(tcfg.batch_size),
                               shuffle=shuffle, seed=1))
    return out[0], out[1], ESIMHead(instantiate(tcfg.head, n_in=model.dim))


def floor(module, train, val, trainer_cfg: dict, epochs: int) -> float:
    """The same epochs in a plain loop: train pass (clipping, scheduler as configured), validation pass."""
    got = module.configure_optimizers()
    opt = got["optimizer"] if isinstance(got, dict) else got
    sched = got["lr_scheduler"] if isinstance(got, dict) else None
    clip = trainer_cfg.get("gradient_clip_val")
    params = [p for p in module.parameters() if p.requires_grad]
    t = time.perf_counter()
    module.fit_normalizer(train)  # the input statistics (module.normalize), as fit_head takes them
    for _ in range(epochs):
        module.train()
        for batch in train:
            loss = module.head.loss(module(batch), batch)
            opt.zero_grad()
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(params, float(clip))
            opt.step()
            if sched and sched["interval"] == "step":
                sched["scheduler"].step()
        module.eval()
        with torch.no_grad():
            for batch in val:
                module.validation_step(batch, 0)
        score = float(next(iter(module.val_metrics.values())).compute())
        for m in module.val_metrics.values():
            m.reset()
        if sched and sched["interval"] == "epoch":
            s = sched["scheduler"]
            s.step(score) if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau) else s.step()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="elmo_tiny")
    p.add_argument("--heads", default="sample", choices=["sample", "paper"])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", default="pos,parsing,xnli")
    p.add_argument("--repeat", type=int, default=2,
                   help="interleaved repetitions; the best time of each side is kept")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    # a fixed epoch count: no advice wanted
    for name in ("lightning", "lightning.pytorch", "melmo.tasks.common.head"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, cache = random_model(args.arch, tmp), ActivationCache(tmp / "cache")
        print(f"model {args.arch} (random weights, L={model.n_layers}, D={model.dim}), heads={args.heads}, "
              f"{args.epochs} epochs each way, torch threads {torch.get_num_threads()}")
        print(f"{'task':<8} {'train units':>11} {'batches':>8} {'fit_head u/s':>13} {'floor u/s':>10} "
              f"{'fit_head/floor':>15}")
        for task in args.tasks.split(","):
            tcfg = task_config(task, args.heads)
            train, val, head = (nli_sets(model, cache, tcfg) if task == "xnli"
                                else ud_sets(model, cache, tcfg, task))
            trainer_cfg = OmegaConf.to_container(tcfg.trainer, resolve=True)
            trainer_cfg.update(max_epochs=args.epochs, patience=args.epochs + 1)
            torch.manual_seed(0)
            module = build_module(tcfg.module, head, model.n_layers)
            floor(copy.deepcopy(module), train, val, trainer_cfg, 1)  # warm-up (allocator, first-call costs)
            ours, base = [], []
            for _ in range(args.repeat):  # interleaved, best of each: the machine may be shared
                t = time.perf_counter()
                fit_head(copy.deepcopy(module), train, val, trainer_cfg, seed=1, workdir=tmp)
                ours.append(time.perf_counter() - t)
                base.append(floor(copy.deepcopy(module), train, val, trainer_cfg, args.epochs))
            ours, base = min(ours), min(base)
            units = train.n_units() * args.epochs
            print(f"{task:<8} {train.n_units():>11} {len(train):>8} {units / ours:>13.0f} "
                  f"{units / base:>10.0f} {ours / base:>15.2f}")


if __name__ == "__main__":
    main()
