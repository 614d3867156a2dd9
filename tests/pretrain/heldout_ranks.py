"""One rank of a held-out validation (launched by test_heldout_ddp.py with torchrun's environment, or alone):
trainer.validate of an elmo_tiny LitBiLM (seeded weights, the same on every rank) over a prepared corpus.

    python heldout_ranks.py <corpus dir> <out dir> <row_tokens> <devices>

Writes <out dir>/rank<r>.json: this rank's held-out rows (language, first ids, length) and, on rank 0,
the logged metrics plus the scored-target counts summed over ranks."""

import json
import sys
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.data.datamodule import LMDataModule
from melmo.data.heldout import HeldoutOptions

ROOT = Path(__file__).resolve().parents[2]


def main(corpus_dir: str, out: str, row_tokens: int, devices: int) -> None:
    torch.set_num_threads(1)
    opts = HeldoutOptions(row_tokens=row_tokens, warmup_tokens=10, batch_rows=2, unroll_steps=8)
    dm = LMDataModule(batch_size=2, unroll_steps=8, heldout=opts, corpus_dir=corpus_dir)
    corpus = dm.load_corpus()
    torch.manual_seed(0)
    model = OmegaConf.load(ROOT / "conf" / "model" / "elmo_tiny.yaml")
    lm = OmegaConf.load(ROOT / "conf" / "lm" / "default.yaml")
    module = instantiate(lm, encoder=instantiate(model), vocab_size=corpus.vocab_size,
                         languages=corpus.languages, n_negative_samples=16)
    counts = []
    real_update = module.val_heldout.update
    module.val_heldout.update = (lambda scored: counts.append(int(scored["fwd"][1].numel()))
                                 or real_update(scored))
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    (metrics,) = trainer.validate(module, datamodule=dm, verbose=False)
    ds = trainer.val_dataloaders.dataset
    rows = [[r.lang, len(r.fwd_ids), r.fwd_ids[:12].tolist(), int((r.fwd_targets >= 0).sum())]
            for r in ds.rows]
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / f"rank{trainer.global_rank}.json").write_text(json.dumps(
        {"rows": rows, "scored": sum(counts), "metrics": {k: float(v) for k, v in metrics.items()}}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
