"""The activation cache against re-encoding: one PoS head epoch on a real treebank, both ways;
and encoding throughput (tokens/s) of the stateless and stateful policies at a few batch sizes.

    python benchmarks/cache.py [--model DIR | --arch elmo_tiny]
                               [--treebank data/sample/ud/en/en_ewt-ud-dev.conllu.xz]
                               [--sentences 1000] [--batch-sizes 8,32,128] [--threads N]

Without --model, a model of the --arch architecture (conf/model/<arch>.yaml) with random weights is
used: the timing does not depend on the weights. The head is the task=pos head (ScalarMix + MLP,
conf/task/pos.yaml sizes), trained one epoch with Adam in a plain loop over the task's length-bucketed
batches (melmo.tasks.common.features.TokenBatches); "re-encode" runs the frozen encoder
(stateless, no grad) on the words of every batch of that epoch as a cache-less pipeline would.
Prints seconds per epoch each way and their ratio (goal >= 10x), then the throughput table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import yaml

from melmo.encode.cache import ActivationCache
from melmo.encode.model_dir import ModelDir
from melmo.encode.policy import Policy, encode
from melmo.formats.conllu import UPOS_TAGS, read_conllu
from melmo.model.chars import batch_to_ids
from melmo.model.encoder import BiLM
from melmo.model.io import save_bilm
from melmo.tasks.common.features import TokenBatches
from melmo.tasks.common.head import HeadModule, MLPTagger
from melmo.tasks.common.ud import make_units

ROOT = Path(__file__).resolve().parents[1]


def model_dir(args, tmp: Path) -> ModelDir:
    if args.model:
        return ModelDir(args.model)
    cfg = yaml.safe_load((ROOT / "conf" / "model" / f"{args.arch}.yaml").read_text())
    torch.manual_seed(0)
    enc = BiLM(cfg["char_cnn"], cfg["lstm"])
    save_bilm(enc, tmp / "model")
    return ModelDir(tmp / "model")


def head_epoch(module, loader, encoder=None, words=None) -> float:
    """One training epoch; with ``encoder`` the layers are recomputed from the words of each batch."""
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=1e-3)
    t = time.perf_counter()
    for batch in loader:
        if encoder is not None:
            with torch.no_grad():  # not inference_mode: the head saves the mask and features for its backward
                out = encoder(batch_to_ids([words[i] for i in batch["index"].tolist()]))
                batch = {**batch, "layers": torch.stack(out.layers, 2), "mask": out.mask}  # (B, T, L, D)
        loss = module.head.loss(module(batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path)
    p.add_argument("--arch", default="elmo_tiny")
    p.add_argument("--treebank", type=Path, default=ROOT / "data/sample/ud/en/en_ewt-ud-dev.conllu.xz")
    p.add_argument("--sentences", type=int, default=1000)
    p.add_argument("--batch-sizes", default="8,32,128")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sents = read_conllu(args.treebank)[: args.sentences]
    units = [make_units(s, "words", "ud_words") for s in sents]  # words: a batch's tokens = the head's units
    words = [u.fed for u in units]
    n_tok = sum(map(len, words))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = model_dir(args, tmp)
        print(f"treebank {args.treebank.name}: {len(sents)} sentences, {n_tok} tokens; model "
              f"{model.path.name if args.model else args.arch} (L={model.n_layers}, D={model.dim}); torch "
              f"threads {torch.get_num_threads()}")
        t = time.perf_counter()
        acts = ActivationCache(tmp / "cache").get(model, words,
                                                  tokenization={"source": "conllu", "encoder_input": "words"})
        build = time.perf_counter() - t
        loader = TokenBatches(acts, list(range(len(units))), [u.labels for u in units], batch_size=32,
                              shuffle=True, seed=0)
        torch.manual_seed(0)
        module = HeadModule(MLPTagger(model.dim, 256, len(UPOS_TAGS), 0.3), model.n_layers)
        head_epoch(module, loader)  # warm-up
        cached = min(head_epoch(module, loader) for _ in range(2))
        reenc = head_epoch(module, loader, model.encoder, words)
        print(f"cache build (once): {build:.2f} s; head epoch with the cache: {cached:.3f} s; re-encoding "
              f"every epoch: {reenc:.3f} s; ratio {reenc / cached:.1f}x")

        print("\nencoding throughput (tokens/s), the whole treebank slice:")
        print(f"{'batch':>6} {'stateless':>10} {'stateful':>10}")
        for bs in [int(b) for b in args.batch_sizes.split(",")]:
            rates = []
            for pol in (Policy("stateless", bs), Policy("stateful", bs, 0)):
                t = time.perf_counter()
                for _ in encode(model.encoder, words, pol):
                    pass
                rates.append(n_tok / (time.perf_counter() - t))
            print(f"{bs:>6} {rates[0]:>10.0f} {rates[1]:>10.0f}")


if __name__ == "__main__":
    main()
