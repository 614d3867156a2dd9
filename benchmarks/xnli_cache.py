"""XNLI heads at scale: one ESIM head epoch from the activation cache against encoding every batch on the fly,
and what the cache would weigh at MultiNLI 1.0's size.

    python benchmarks/xnli_cache.py [--arch elmo_tiny] [--pairs 200] [--threads 1]

The pairs are the first --pairs of the shipped MultiNLI slice (data/sample/nli/mnli/mnli_train.tsv.xz,
whitespace tokens); the model has random weights of conf/model/<arch>.yaml (timing does not depend on
them); the head is task=xnli's (ScalarMix + ESIM, conf/task/xnli.yaml sizes), one epoch of Adam in a plain
loop. "On the fly" runs the frozen encoder (no grad) on the premises and hypotheses of every batch, as a
cache-less pipeline would. Prints seconds per epoch both ways and their ratio, then the float16 cache size
(tokens x layers x dim x 2 bytes) of MultiNLI 1.0 train for this architecture and for elmo_original.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import yaml
from omegaconf import OmegaConf

from melmo.encode.cache import ActivationCache
from melmo.encode.model_dir import ModelDir
from melmo.model.chars import batch_to_ids
from melmo.model.encoder import BiLM
from melmo.model.io import save_bilm
from melmo.tasks.common.features import PairBatches
from melmo.tasks.common.head import build_module
from melmo.tasks.xnli.esim import ESIM
from melmo.formats.nli import read_mnli_sample
from melmo.tasks.xnli.task import ESIMHead

ROOT = Path(__file__).resolve().parents[1]
MNLI_TRAIN_PAIRS = 392_702  # MultiNLI 1.0 train (Williams et al. 2018)


def model_dir(arch: str, tmp: Path) -> ModelDir:
    cfg = yaml.safe_load((ROOT / "conf" / "model" / f"{arch}.yaml").read_text())
    torch.manual_seed(0)
    save_bilm(BiLM(cfg["char_cnn"], cfg["lstm"]), tmp / "model")
    return ModelDir(tmp / "model")


def layer_shape(arch: str) -> tuple[int, int]:
    """(layers, dim) of the encoder's output: the token layer and every LSTM layer, 2 x projection wide."""
    lstm = yaml.safe_load((ROOT / "conf" / "model" / f"{arch}.yaml").read_text())["lstm"]
    return lstm["n_layers"] + 1, 2 * lstm["projection_dim"]


def head_epoch(module, loader, encoder=None, words=None) -> float:
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=4e-4)
    t = time.perf_counter()
    for batch in loader:
        if encoder is not None:
            idx = batch["index"].tolist()
            with torch.no_grad():
                a = encoder(batch_to_ids([words[0][i] for i in idx]))
                b = encoder(batch_to_ids([words[1][i] for i in idx]))
                batch = {**batch, "layers": torch.stack(a.layers, 2), "mask": a.mask,
                         "layers_b": torch.stack(b.layers, 2), "mask_b": b.mask}
        loss = module.head.loss(module(batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="elmo_tiny")
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    task = OmegaConf.load(ROOT / "conf" / "task" / "xnli.yaml")
    data = read_mnli_sample(ROOT / "data/sample/nli/mnli/mnli_train.tsv.xz")
    pairs = data.pairs[: args.pairs]
    words = ([x.premise.split() for x in pairs], [x.hypothesis.split() for x in pairs])
    n_tok = sum(map(len, words[0])) + sum(map(len, words[1]))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = model_dir(args.arch, tmp)
        cache = ActivationCache(tmp / "cache")
        t = time.perf_counter()
        how = {"source": "mnli_sample", "kind": "whitespace"}
        loader = PairBatches(cache.get(model, words[0], tokenization=how),
                             cache.get(model, words[1], tokenization=how), [x.label for x in pairs],
                             batch_size=int(task.batch_size), shuffle=True, seed=0)
        build = time.perf_counter() - t
        torch.manual_seed(0)
        head = ESIMHead(ESIM(n_in=model.dim, hidden=int(task.head.hidden), dropout=float(task.head.dropout),
                             n_classes=int(task.head.n_classes)))
        module = build_module(task.module, head, model.n_layers)  # ScalarMix + ESIM, conf/task/xnli.yaml
        head_epoch(module, loader)  # warm-up
        cached = min(head_epoch(module, loader) for _ in range(2))
        fly = head_epoch(module, loader, model.encoder, words)
        print(f"{len(pairs)} MultiNLI pairs, {n_tok} tokens; {args.arch} (L={model.n_layers}, "
              f"D={model.dim}); torch threads {torch.get_num_threads()}")
        print(f"cache build (once): {build:.2f} s ({n_tok / build:.0f} tokens/s); ESIM epoch from the cache: "
              f"{cached:.2f} s; encoding on the fly: {fly:.2f} s; ratio {fly / cached:.1f}x")
    per_pair = n_tok / len(pairs)
    total = per_pair * MNLI_TRAIN_PAIRS
    for arch in dict.fromkeys([args.arch, "elmo_original"]):
        L, D = layer_shape(arch)
        print(f"float16 cache of MultiNLI 1.0 train ({MNLI_TRAIN_PAIRS:,} pairs x {per_pair:.1f} tokens = "
              f"{total / 1e6:.1f}M tokens), {arch} (L={L}, D={D}): {total * L * D * 2 / 1e9:.1f} GB")


if __name__ == "__main__":
    main()
