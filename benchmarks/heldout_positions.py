"""Held-out NLL by distance from a zero LSTM state, per checkpoint of a training run.

    python benchmarks/heldout_positions.py <run dir> [--langs ja,eu]

For every ``checkpoints/*.ckpt`` of the run, each language's held-out stream (melmo.data.heldout)
is read as ONE row from a zero state, and the mean NLL (nats, full softmax, both directions) of the
targets is printed for position buckets 0-4, 5-19, 20-49, 50+ after the zero state, with the
worst single-target NLL in each bucket. Per checkpoint it also prints the softmax rows that never
received a gradient (Adagrad accumulator still at its initial value), the mean norm of the LSTM's
top output h, and the share of the full softmax's probability mass (and of its argmax) that falls
on those never-updated rows: the test of the step-250 spike's explanation (docs/notes.md).

This is the evidence behind the warm-up of conf/heldout (docs/perplexity.md): the
LM is trained from a zero state only at the very start of each row, so what it predicts there
is not what training improves.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.data.heldout import HeldoutDataset, HeldoutOptions
from melmo.data.prepared import PreparedCorpus
from melmo.model.softmax import full_softmax_nll

BUCKETS = ((0, 5), (5, 20), (20, 50), (50, 10**9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--corpus", type=Path, default=None,
                    help="prepared corpus (default: found from the run's config)")
    ap.add_argument("--langs", default=None, help="comma-separated languages (default: all)")
    args = ap.parse_args()
    hydra_cfg = args.run_dir / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(hydra_cfg if hydra_cfg.is_file() else args.run_dir / "csv" / "hparams.yaml")
    ckpts = sorted((args.run_dir / "checkpoints").glob("step_*.ckpt"),
                   key=lambda p: int(re.findall(r"\d+", p.name)[0]))
    ckpts += [args.run_dir / "checkpoints" / "last.ckpt"]
    corpus_dir = args.corpus or next(
        Path(cfg.data.prepared_dir).glob(f"{cfg.data.name}-{cfg.sampling.name}-seed{cfg.seed}-*"))
    corpus = PreparedCorpus(corpus_dir, cfg.model.char_cnn.max_characters_per_token)
    opts = HeldoutOptions(row_tokens=0, warmup_tokens=0, batch_rows=len(corpus.languages), unroll_steps=20)
    langs = args.langs.split(",") if args.langs else corpus.languages
    encoder = instantiate(cfg.model).eval()
    head = f"{'step':>6} {'lang':<4}" + "".join(
        f"{f'{a}-{b - 1}' if b < 10**9 else f'{a}+':>16}" for a, b in BUCKETS)
    print(head + "   (mean NLL / max NLL, nats; both directions)")
    for path in ckpts:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        sd = ck["state_dict"]
        encoder.load_state_dict({k[8:]: v for k, v in sd.items() if k.startswith("encoder.")})
        W, b = sd["softmax.weight"], sd["softmax.bias"]
        acc = [s["sum"] for s in ck["optimizer_states"][0]["state"].values() if s["sum"].shape == W.shape]
        nll = {lang: [[] for _ in BUCKETS] for lang in langs}
        init = float(cfg.lm.optimizer.get("initial_accumulator_value", 0.0))
        fresh = (acc[0] == init).all(1) if acc else torch.zeros(W.shape[0], dtype=torch.bool)
        norms, mass, top = [], [], []
        state, pos = None, 0
        with torch.no_grad():
            for batch in HeldoutDataset(corpus, opts):
                if batch["first"]:
                    state, pos = None, 0
                fwd, bwd, state = encoder.lm_forward(batch["fwd_chars"], batch["bwd_chars"], state)
                U = fwd.shape[1]
                for out, tgt in ((fwd, batch["fwd_targets"]), (bwd, batch["bwd_targets"])):
                    for r, li in enumerate(batch["lang"].tolist()):
                        lang = corpus.languages[li]
                        if lang not in nll:
                            continue
                        keep = tgt[r] >= 0
                        x = full_softmax_nll(out[r][keep], W, b, tgt[r][keep])
                        h = out[r][keep]
                        p = torch.softmax(h @ W.T + b, -1)
                        norms.append(h.norm(dim=-1))
                        mass.append(p[:, fresh].sum(-1))
                        top.append(fresh[p.argmax(-1)].float())
                        where = torch.arange(pos, pos + U)[keep]
                        for k, (lo, hi) in enumerate(BUCKETS):
                            nll[lang][k].append(x[(where >= lo) & (where < hi)])
                pos += U
        for lang in langs:
            cells = []
            for parts in nll[lang]:
                x = torch.cat(parts)
                cells.append(f"{x.mean():7.2f}/{x.max():6.1f}  " if x.numel() else f"{'-':>16}")
            print(f"{ck['global_step']:>6} {lang:<4}" + "".join(f"{c:>16}" for c in cells))
        print(f"{'':>6} softmax rows never updated: {int(fresh.sum())} of {W.shape[0]}; uniform NLL = "
              f"{torch.log(torch.tensor(float(W.shape[0]))):.2f}; mean |h| {torch.cat(norms).mean():.1f}; "
              f"probability mass on never-updated rows {torch.cat(mass).mean():.1%}, argmax there "
              f"{torch.cat(top).mean():.1%}")


if __name__ == "__main__":
    main()
