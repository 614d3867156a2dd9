"""Parser training epoch: relations scored at the gold head only (``encode`` + ``rel_at``, what the parser
head trains with) against scoring them at every head and gathering the gold one (``forward``'s ``s_rel``, as
SuPar's biaffine parser does), same module, optimizer and batches, alternating in one process.

    python benchmarks/parser_relations.py [--arch elmo_tiny] [--heads sample|paper] [--repeat 3] [--threads 1]

The batches are benchmarks/heads.py's (the sample's English dev treebank, 90 % for training, random-weight
encoder). Prints seconds per epoch each way (best of ``--repeat``) and their ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from heads import random_model, task_config, ud_sets

from melmo.encode.cache import ActivationCache
from melmo.tasks.common.head import build_module
from melmo.tasks.parsing.parser import BiaffineParser


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="elmo_tiny")
    p.add_argument("--heads", default="sample", choices=["sample", "paper"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, cache = random_model(args.arch, tmp), ActivationCache(tmp / "cache")
        tcfg = task_config("parsing", args.heads)
        train, _val, head = ud_sets(model, cache, tcfg, "parsing")
        module = build_module(tcfg.module, head, model.n_layers)
        got = module.configure_optimizers()
        opt = got["optimizer"] if isinstance(got, dict) else got
        parser = module.head.parser
        module.train()

        def every_head():
            for batch in train:
                s_arc, s_rel = parser(module.mix(batch["layers"], batch["mask"]), batch["mask"])
                loss = BiaffineParser.loss(s_arc, s_rel, batch["heads"], batch["rels"], batch["mask"])
                opt.zero_grad()
                loss.backward()
                opt.step()

        def gold_head():
            for batch in train:
                loss = module.head.loss(module(batch), batch)
                opt.zero_grad()
                loss.backward()
                opt.step()

        every_head(), gold_head()  # warm-up
        times = {every_head: [], gold_head: []}
        for _ in range(args.repeat):
            for f in times:
                t = time.perf_counter()
                f()
                times[f].append(time.perf_counter() - t)
        full, ours = min(times[every_head]), min(times[gold_head])
        print(f"{args.arch}, heads={args.heads}, {train.n_units()} training words in {len(train)} batches, "
              f"torch threads {torch.get_num_threads()}, best of {args.repeat}")
        print(f"every head: {full:.3f} s an epoch   gold head only: {ours:.3f} s   speed-up "
              f"{full / ours:.2f}x")


if __name__ == "__main__":
    main()
