"""A test callback for train.py runs: writes every training step's random draws of this rank
(sampled-softmax negatives, dropout masks) to ``<out_dir>/draws.rank<r>.jsonl``, one line per step."""

import json
from pathlib import Path

import lightning as L
import torch


class DrawRecorder(L.Callback):
    def __init__(self, out_dir: str):
        self.out_dir = Path(out_dir)
        self.draws: list = []

    def setup(self, trainer, pl_module, stage):
        self.rank = trainer.global_rank
        self.out_dir.mkdir(parents=True, exist_ok=True)
        real_sample = pl_module.softmax.sample

        def sample(*a, **k):
            c = real_sample(*a, **k)
            self.draws.append(["negatives", c.ids[:32].tolist()])
            return c

        pl_module.softmax.sample = sample
        real_dropout = torch.nn.functional.dropout

        def dropout(x, p=0.5, training=True, inplace=False):
            y = real_dropout(x, p, training, inplace)
            if training and p > 0:
                self.draws.append(
                    ["dropout", torch.nonzero(y.detach().flatten()[:256] == 0).flatten().tolist()])
            return y

        torch.nn.functional.dropout = dropout

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        line = json.dumps({"step": trainer.global_step - 1, "draws": self.draws})
        with open(self.out_dir / f"draws.rank{self.rank}.jsonl", "a") as fh:
            fh.write(line + "\n")
        self.draws = []
