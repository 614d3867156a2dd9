"""The reusable LightningModule that trains a task head on frozen, cached ELMo activations.

    head = MLPTagger(in_dim=D, hidden_dim=256, n_labels=17, dropout=0.3)   # any nn.Module, see below
    module = HeadModule(head, n_layers=L, lr=1e-3)
    module, info = fit_head(module, train_loader, val_loader, trainer_cfg, seed=1, workdir=tmp)
    preds = predict(module, test_loader)     # {sentence index: predictions of its units}

A head is a plain ``nn.Module`` (no Lightning inside) with

    forward(features, mask, batch) -> output   # features (B, T, D) = ScalarMix of batch["layers"]
                                                # (tuples (f_a, f_b), (m_a, m_b) when the batch has
                                                # layers_b / mask_b: sentence-pair tasks)
    loss(output, batch) -> scalar tensor
    predict(output, batch) -> LongTensor        # (B, T) per unit or (B,) per item, compared with batch["target"]

and optionally ``make_metrics() -> dict[name, torchmetrics.Metric]`` with
``update_metrics(metrics, output, batch)`` (e.g. UAS/LAS for the parser); the default metric is
``acc``: torchmetrics accuracy of ``predict`` against ``batch["target"]`` where the target is not
IGNORE. The first metric is the one early stopping and model selection watch (``val/<name>``,
maximised). Only the scalar mix and the head have parameters here; the encoder never enters.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics
from torch import nn

from melmo.encode.scalar_mix import ScalarMix
from melmo.tasks.features import IGNORE


class MLPTagger(nn.Module):
    """Per-unit classifier: dropout -> Linear(D, hidden) -> ReLU -> dropout -> Linear(hidden, n_labels)."""

    def __init__(self, in_dim: int, hidden_dim: int, n_labels: int, dropout: float = 0.0):
        super().__init__()
        self.n_labels = n_labels
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_dim, n_labels))

    def forward(self, features: torch.Tensor, mask: torch.Tensor, batch: Mapping) -> torch.Tensor:
        return self.net(features)  # (B, T, n_labels)

    def loss(self, output: torch.Tensor, batch: Mapping) -> torch.Tensor:
        return F.cross_entropy(output.flatten(0, 1), batch["target"].flatten(), ignore_index=IGNORE)

    def predict(self, output: torch.Tensor, batch: Mapping) -> torch.Tensor:
        return output.argmax(-1)


class HeadModule(L.LightningModule):
    def __init__(self, head: nn.Module, n_layers: int, layer_norm: bool = False, lr: float = 1e-3,
                 weight_decay: float = 0.0, n_classes: int | None = None):
        super().__init__()
        self.head = head
        self.mix = ScalarMix(n_layers, do_layer_norm=layer_norm)
        self.lr, self.weight_decay = lr, weight_decay
        n_classes = n_classes or getattr(head, "n_labels", None)
        if hasattr(head, "make_metrics"):
            self.val_metrics = nn.ModuleDict(head.make_metrics())
        else:
            self.val_metrics = nn.ModuleDict({"acc": torchmetrics.classification.MulticlassAccuracy(n_classes, average="micro")})
        self.monitor = f"val/{next(iter(self.val_metrics))}"

    def forward(self, batch: Mapping):
        if "layers_b" in batch:
            feats = (self.mix(batch["layers"], batch["mask"]), self.mix(batch["layers_b"], batch["mask_b"]))
            return self.head(feats, (batch["mask"], batch["mask_b"]), batch)
        return self.head(self.mix(batch["layers"], batch["mask"]), batch["mask"], batch)

    def training_step(self, batch, batch_idx):
        loss = self.head.loss(self(batch), batch)
        self.log("train/loss", loss, batch_size=len(batch["index"]))
        return loss

    def validation_step(self, batch, batch_idx):
        out = self(batch)
        if hasattr(self.head, "update_metrics"):
            self.head.update_metrics(self.val_metrics, out, batch)
        else:
            pred, target = self.head.predict(out, batch), batch["target"]
            keep = target != IGNORE
            self.val_metrics["acc"].update(pred[keep], target[keep])

    def on_validation_epoch_end(self):
        for name, metric in self.val_metrics.items():
            self.log(f"val/{name}", metric.compute(), prog_bar=True)
            metric.reset()

    def predict_step(self, batch, batch_idx):
        out = self(batch)
        return batch["index"], self.head.predict(out, batch), batch["mask"]

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)


def fit_head(module: HeadModule, train_loader, val_loader, trainer_cfg: Mapping, seed: int,
             workdir: str | Path | None = None) -> tuple[HeadModule, dict]:
    """Train with early stopping on the validation metric; return the module with the best
    epoch's weights and {"best_score", "best_epoch", "epochs"}."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    L.seed_everything(seed, workers=True, verbose=False)
    cfg = dict(trainer_cfg)
    patience = int(cfg.pop("patience"))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        ckpt = ModelCheckpoint(dirpath=tmp, monitor=module.monitor, mode="max", save_top_k=1, save_weights_only=True)
        stop = EarlyStopping(monitor=module.monitor, mode="max", patience=patience)
        trainer = L.Trainer(callbacks=[ckpt, stop], logger=False, default_root_dir=tmp, enable_model_summary=False,
                            num_sanity_val_steps=0, **cfg)
        trainer.fit(module, train_loader, val_loader)
        best = ckpt.best_model_path
        if best:
            state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
            module.load_state_dict(state)
        info = {"best_score": float(ckpt.best_model_score) if ckpt.best_model_score is not None else float("nan"),
                "epochs": trainer.current_epoch, "stopped_epoch": stop.stopped_epoch}
    module.eval()
    return module, info


def predict(module: HeadModule, loader) -> dict[int, torch.Tensor]:
    """{sentence index: predictions of its units (unpadded)} with the module in eval mode, no grad."""
    module.eval()
    out: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for batch in loader:
            index, pred, mask = module.predict_step(batch, 0)
            for b, i in enumerate(index.tolist()):
                out[i] = pred[b][mask[b]] if pred.dim() == 2 else pred[b]
    return out
