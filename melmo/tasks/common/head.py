"""The reusable LightningModule that trains a task head on frozen, cached ELMo activations.

    head = MLPTagger(in_dim=D, hidden_dim=256, n_labels=17, dropout=0.3)   # any nn.Module, see below
    module = HeadModule(head, n_layers=L, optimizer=partial(torch.optim.Adam, lr=1e-3))
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

Speed: the loaders are ``melmo.tasks.common.features`` batches (tensors built once, length-bucketed); the
best epoch's weights are kept in memory (``KeepBest``), no checkpoint file is written and nothing is
logged per step. ``fit_head`` logs the best epoch and warns when it is the last allowed one (the
head has not converged: raise ``trainer.max_epochs`` or the learning rate).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
import torchmetrics
from lightning.pytorch.callbacks import Callback
from torch import nn

from melmo.encode.scalar_mix import ScalarMix
from melmo.errors import ConfigError
from melmo.tasks.common.features import IGNORE

log = logging.getLogger(__name__)


class MLPTagger(nn.Module):
    """Per-unit classifier: dropout -> Linear(D, hidden) -> ReLU -> dropout -> Linear(hidden, n_labels)."""

    def __init__(self, in_dim: int, hidden_dim: int, n_labels: int, dropout: float = 0.0):
        super().__init__()
        self.n_labels = n_labels
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_dim, n_labels))

    def forward(self, features: torch.Tensor, mask: torch.Tensor, batch: Mapping) -> torch.Tensor:
        """(B, T, D) -> (B, T, n_labels); only the real units go through the MLP (padding: 0 logits,
        never scored), so padding costs no dropout draws, matmuls or gradients."""
        mask = mask.bool()
        real = self.net(features[mask])  # (N, n_labels), N real units
        return real.new_zeros(*mask.shape, self.n_labels).masked_scatter(mask.unsqueeze(-1), real)

    def loss(self, output: torch.Tensor, batch: Mapping) -> torch.Tensor:
        return F.cross_entropy(output.flatten(0, 1), batch["target"].flatten(), ignore_index=IGNORE)

    def predict(self, output: torch.Tensor, batch: Mapping) -> torch.Tensor:
        return output.argmax(-1)


class HeadModule(L.LightningModule):
    """ScalarMix + ``head``, trained with ``optimizer`` (a partial taking ``params``, as LitBiLM's:
    conf/task/*.yaml ``module.optimizer`` with ``_partial_: true``) and an optional ``lr_scheduler``
    partial taking the optimizer, stepped every ``lr_interval`` (``step`` or ``epoch``; a
    ReduceLROnPlateau watches the monitored held-out metric)."""

    def __init__(self, head: nn.Module, n_layers: int, layer_norm: bool = False,
                 optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 lr_scheduler: Callable[..., object] | None = None, lr_interval: str = "epoch",
                 n_classes: int | None = None):
        super().__init__()
        if lr_interval not in ("step", "epoch"):
            raise ConfigError(f"lr_interval={lr_interval!r}: use step or epoch")
        self.head = head
        self.mix = ScalarMix(n_layers, do_layer_norm=layer_norm)
        self.optimizer_factory = optimizer or partial(torch.optim.Adam, lr=1e-3)
        self.scheduler_factory, self.lr_interval = lr_scheduler, lr_interval
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
        return self.head.loss(self(batch), batch)  # nothing logged per step: fit_head keeps no logger

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
            self.log(f"val/{name}", metric.compute())
            metric.reset()

    def predict_step(self, batch, batch_idx):
        out = self(batch)
        return batch["index"], self.head.predict(out, batch), batch["mask"]

    def configure_optimizers(self):
        opt = self.optimizer_factory(params=[p for p in self.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return opt
        sched = {"scheduler": self.scheduler_factory(opt), "interval": self.lr_interval, "monitor": self.monitor}
        return {"optimizer": opt, "lr_scheduler": sched}


def step_decay(optimizer: torch.optim.Optimizer, gamma: float, every_steps: float) -> torch.optim.lr_scheduler.LambdaLR:
    """lr x gamma ** (step / every_steps), stepped every optimiser step (Dozat & Manning 2017's decay)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: gamma ** (step / every_steps))


def build_module(module_cfg, head: nn.Module, n_layers: int) -> HeadModule:
    """The task's ``module:`` config (a HeadModule ``_target_`` with its optimizer partials) around ``head``."""
    from hydra.utils import instantiate

    return instantiate(module_cfg, head=head, n_layers=n_layers)


class KeepBest(Callback):
    """The best validation epoch's weights, kept in memory (no checkpoint file): ``state``,
    ``score`` and ``epoch`` (0-based) of the best ``monitor`` value so far (maximised)."""

    def __init__(self, monitor: str):
        self.monitor, self.state, self.score, self.epoch = monitor, None, None, None

    def on_validation_end(self, trainer, module):
        if trainer.sanity_checking:
            return
        score = trainer.callback_metrics.get(self.monitor)
        if score is None:
            return
        score = float(score)
        if self.score is None or score > self.score:
            self.score, self.epoch = score, trainer.current_epoch
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}


def fit_head(module: HeadModule, train_loader, val_loader, trainer_cfg: Mapping, seed: int,
             workdir: str | Path | None = None) -> tuple[HeadModule, dict]:
    """Train with early stopping on the validation metric; return the module with the best
    epoch's weights and {"best_score", "best_epoch" (1-based), "epochs" (run), "max_epochs",
    "converged" (the best epoch came before the last allowed one)}."""
    from lightning.pytorch.callbacks import EarlyStopping

    L.seed_everything(seed, workers=True, verbose=False)
    cfg = dict(trainer_cfg)
    patience = int(cfg.pop("patience"))
    cfg.setdefault("enable_checkpointing", False)
    best = KeepBest(module.monitor)
    stop = EarlyStopping(monitor=module.monitor, mode="max", patience=patience)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        trainer = L.Trainer(callbacks=[best, stop], logger=False, default_root_dir=tmp, enable_model_summary=False,
                            num_sanity_val_steps=0, **cfg)
        trainer.fit(module, train_loader, val_loader)
    if best.state is not None:
        module.load_state_dict(best.state)
    max_epochs = cfg.get("max_epochs")
    best_epoch = best.epoch + 1 if best.epoch is not None else 0
    info = {"best_score": best.score if best.score is not None else float("nan"), "best_epoch": best_epoch,
            "epochs": trainer.current_epoch, "stopped_epoch": stop.stopped_epoch, "max_epochs": max_epochs,
            "converged": max_epochs is None or best_epoch < int(max_epochs)}
    log.info("head: best %s %.4f at epoch %d of at most %s (%d run)", module.monitor, info["best_score"], best_epoch,
             max_epochs, info["epochs"])
    if not info["converged"]:
        log.warning("head: the best %s came at the last allowed epoch (%d): raise trainer.max_epochs or the learning "
                    "rate, the head has not converged", module.monitor, best_epoch)
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
