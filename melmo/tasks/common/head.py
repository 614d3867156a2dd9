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
    predict(output, batch) -> LongTensor        # (B, T) per unit or (B,) per item, compared with
                                                # batch["target"]

and optionally ``make_metrics() -> dict[name, torchmetrics.Metric]`` with
``update_metrics(metrics, output, batch)`` (e.g. UAS/LAS for the parser); the default metric is
``acc``: torchmetrics accuracy of ``predict`` against ``batch["target"]`` where the target is not
IGNORE. The first metric is the one early stopping and model selection watch (``val/<name>``,
maximised). Only the scalar mix and the head have parameters here; the encoder never enters.

Speed: the loaders are ``melmo.tasks.common.features`` batches (tensors built once, length-bucketed); the
best epoch's weights are kept in memory (``KeepBest``), no checkpoint file is written and nothing is
logged per step. ``fit_head`` logs the best epoch and warns when it is the last allowed one (the
head has not converged: raise ``trainer.max_epochs`` or the learning rate).

Input scale (``normalize``): ELMo activations are far from zero mean / unit variance, and differ per
dimension and layer by orders of magnitude, so an MLP or LSTM head trained with Adam for a few epochs
learns little from them (issue 31: English PoS 0.59 as read, 0.75 standardized, same head). With
``normalize="standardize"`` every layer and dimension is standardized, ``(x - mean) / std``, with the
statistics of the head's TRAINING units (the cached activations ``fit_head`` trains on, float64 sums),
kept in the module as buffers and applied to every batch the module reads (train, select, report):
the activation cache and its keys are unchanged. As scikit-learn's StandardScaler (population std, a
constant dimension divided by 1).
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
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden_dim), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Linear(hidden_dim, n_labels))

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


NORMALIZE = ("none", "standardize")


def unit_rows(loader):
    """The training units' activations, ``(N, L, D)`` tensors: the stores of ``features`` batches
    (``unit_layers``), otherwise every real unit of every batch (both sides of a pair)."""
    if hasattr(loader, "unit_layers"):
        yield from loader.unit_layers()
        return
    for batch in loader:
        yield batch["layers"][batch["mask"].bool()]
        if "layers_b" in batch:
            yield batch["layers_b"][batch["mask_b"].bool()]


class Standardize(nn.Module):
    """Per layer and dimension ``(x - mean) / std`` of ``(..., L, D)`` activations; ``fit(rows)`` sets
    ``mean`` and ``std`` (buffers, saved with the head) from ``(N, L, D)`` chunks: float64 sums,
    merged chunk by chunk (Chan, Golub & LeVeque 1979), population std, 0 -> 1 (StandardScaler's)."""

    CHUNK = 65536  # rows per float64 block: bounds the extra memory of the statistics

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(0))
        self.register_buffer("std", torch.ones(0))

    @torch.no_grad()
    def fit(self, rows) -> None:
        n, mean, m2 = 0, None, None
        for block in rows:
            for k in range(0, len(block), self.CHUNK):
                x = block[k : k + self.CHUNK].to(torch.float64)
                nb = len(x)
                if nb == 0:
                    continue
                mb = x.mean(0)
                m2b = ((x - mb) ** 2).sum(0)
                if mean is None:
                    n, mean, m2 = nb, mb, m2b
                    continue
                delta, tot = mb - mean, n + nb
                mean = mean + delta * (nb / tot)
                m2 = m2 + m2b + delta**2 * (n * nb / tot)
                n = tot
        if mean is None:
            raise ValueError("normalize=standardize: the training set has no units to take statistics from")
        std = (m2 / n).sqrt()
        std[std == 0] = 1.0
        self.mean, self.std = mean.float(), std.float()

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        if self.mean.numel() == 0:
            raise RuntimeError("normalize=standardize: no statistics (fit_head takes them from the training "
                               "batches)")
        return (layers - self.mean) / self.std


class HeadModule(L.LightningModule):
    """ScalarMix + ``head``, trained with ``optimizer`` (a partial taking ``params``, as LitBiLM's:
    conf/task/*.yaml ``module.optimizer`` with ``_partial_: true``) and an optional ``lr_scheduler``
    partial taking the optimizer, stepped every ``lr_interval`` (``step`` or ``epoch``; a
    ReduceLROnPlateau watches the monitored held-out metric). ``normalize``: ``none`` or
    ``standardize`` (the module docstring; ``fit_head`` takes the statistics)."""

    def __init__(self, head: nn.Module, n_layers: int, layer_norm: bool = False,
                 optimizer: Callable[..., torch.optim.Optimizer] | None = None,
                 lr_scheduler: Callable[..., object] | None = None, lr_interval: str = "epoch",
                 n_classes: int | None = None, normalize: str = "none"):
        super().__init__()
        if lr_interval not in ("step", "epoch"):
            raise ConfigError(f"lr_interval={lr_interval!r}: use step or epoch")
        if normalize not in NORMALIZE:
            raise ConfigError(f"module.normalize={normalize!r}: use {' or '.join(NORMALIZE)}")
        self.normalize = normalize
        self.norm = Standardize() if normalize == "standardize" else None
        self.head = head
        self.mix = ScalarMix(n_layers, do_layer_norm=layer_norm)
        self.optimizer_factory = optimizer or partial(torch.optim.Adam, lr=1e-3)
        self.scheduler_factory, self.lr_interval = lr_scheduler, lr_interval
        n_classes = n_classes or getattr(head, "n_labels", None)
        if hasattr(head, "make_metrics"):
            self.val_metrics = nn.ModuleDict(head.make_metrics())
        else:
            accuracy = torchmetrics.classification.MulticlassAccuracy(n_classes, average="micro")
            self.val_metrics = nn.ModuleDict({"acc": accuracy})
        self.monitor = f"val/{next(iter(self.val_metrics))}"

    def fit_normalizer(self, train_loader) -> None:
        """The input statistics from the training units (nothing to do with ``normalize=none``)."""
        if self.norm is not None:
            self.norm.fit(unit_rows(train_loader))

    def features(self, layers: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.mix(layers if self.norm is None else self.norm(layers), mask)

    def forward(self, batch: Mapping):
        if "layers_b" in batch:
            feats = (self.features(batch["layers"], batch["mask"]),
                     self.features(batch["layers_b"], batch["mask_b"]))
            return self.head(feats, (batch["mask"], batch["mask_b"]), batch)
        return self.head(self.features(batch["layers"], batch["mask"]), batch["mask"], batch)

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
        sched = {"scheduler": self.scheduler_factory(opt), "interval": self.lr_interval,
                 "monitor": self.monitor}
        return {"optimizer": opt, "lr_scheduler": sched}


def step_decay(optimizer: torch.optim.Optimizer, gamma: float,
               every_steps: float) -> torch.optim.lr_scheduler.LambdaLR:
    """lr x gamma ** (step / every_steps), stepped every optimiser step (Dozat & Manning 2017's decay)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: gamma ** (step / every_steps))


def build_module(module_cfg, head: nn.Module, n_layers: int) -> HeadModule:
    """The task's ``module:`` config (a HeadModule ``_target_`` with its optimizer partials) around
    ``head``."""
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
    """Take the input statistics from ``train_loader`` (``module.normalize``), train with early
    stopping on the validation metric; return the module with the best epoch's weights and
    {"best_score", "best_epoch" (1-based), "epochs" (run), "max_epochs", "converged" (the best epoch
    came before the last allowed one), "normalize"}."""
    from lightning.pytorch.callbacks import EarlyStopping

    L.seed_everything(seed, workers=True, verbose=False)
    cfg = dict(trainer_cfg)
    patience = int(cfg.pop("patience"))
    cfg.setdefault("enable_checkpointing", False)
    module.fit_normalizer(train_loader)
    best = KeepBest(module.monitor)
    stop = EarlyStopping(monitor=module.monitor, mode="max", patience=patience)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        trainer = L.Trainer(callbacks=[best, stop], logger=False, default_root_dir=tmp,
                            enable_model_summary=False, num_sanity_val_steps=0, **cfg)
        trainer.fit(module, train_loader, val_loader)
    if best.state is not None:
        module.load_state_dict(best.state)
    max_epochs = cfg.get("max_epochs")
    best_epoch = best.epoch + 1 if best.epoch is not None else 0
    info = {"best_score": best.score if best.score is not None else float("nan"), "best_epoch": best_epoch,
            "epochs": trainer.current_epoch, "stopped_epoch": stop.stopped_epoch, "max_epochs": max_epochs,
            "converged": max_epochs is None or best_epoch < int(max_epochs), "normalize": module.normalize}
    log.info("head: best %s %.4f at epoch %d of at most %s (%d run)", module.monitor, info["best_score"],
             best_epoch, max_epochs, info["epochs"])
    if not info["converged"]:
        log.warning("head: the best %s came at the last allowed epoch (%d): raise trainer.max_epochs or the "
                    "learning rate, the head has not converged", module.monitor, best_epoch)
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
