"""LitBiLM: the LightningModule that trains an ELMo biLM the way bilm-tf does.

* Both directions read their own stateful stream (melmo.data.datamodule); the LSTM states of every row
  are carried from batch to batch and detached (truncated BPTT, bilm-tf bilm/training.py LanguageModel,
  train), and saved in the checkpoint so that a resumed run continues exactly.
* Loss: sampled softmax (log-uniform candidates over the frequency-ranked vocabulary, one draw per
  direction and batch as bilm-tf's one sampled_softmax_loss call per direction, accidental hits
  removed, log-Q correction); total =
  0.5 * (forward + backward); gradients of total x unroll_steps as bilm-tf (summed over time,
  averaged over the batch) -- with Adagrad the scale matters.
* Held-out perplexity per language (all targets, in-vocabulary targets, <UNK> rate) with the full
  softmax, each language's text read as continuous rows after an unscored warm-up
  (melmo.data.heldout, melmo.pretrain.heldout_metric).
* A non-finite loss stops training with a one-line error; the last good checkpoint stays.
* Random streams are per rank (melmo.utils.rng.RankSeed); the checkpoint keeps every rank's RNG
  state and carried LSTM state in types that ``torch.load(weights_only=True)`` accepts.
"""

from __future__ import annotations

from typing import Callable

import lightning as L
import torch

from melmo.errors import MelmoError
from melmo.model.flops import train_flops_per_token
from melmo.model.softmax import SampledSoftmax
from melmo.pretrain.heldout_metric import HeldoutPerplexity, batch_nll
from melmo.utils.dist import gather_per_rank, move_to, pick_rank
from melmo.utils.rng import rng_state, set_rng_state


def _detach(state):
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(_detach(s) for s in state) if isinstance(state, (list, tuple)) else state


class NonFiniteLossError(MelmoError, FloatingPointError):
    """The training loss became NaN or inf."""


class LitBiLM(L.LightningModule):
    def __init__(self, encoder: torch.nn.Module, vocab_size: int, languages: list[str],
                 optimizer: Callable[..., torch.optim.Optimizer], n_negative_samples: int = 8192):
        super().__init__()
        languages = [str(lang) for lang in languages]  # plain list in the checkpoint, not a ListConfig
        self.save_hyperparameters(ignore=["encoder", "optimizer"], logger=False)
        self.encoder = encoder
        self.softmax = SampledSoftmax(vocab_size, encoder.options["lstm"]["projection_dim"],
                                      n_negative_samples)
        self.languages = list(languages)
        self.optimizer_factory = optimizer
        self.val_heldout = HeldoutPerplexity(self.languages)
        self._state = None  # carried LSTM states of the training rows
        self._val_state = None
        self._rng_to_restore = None  # RNG states from a checkpoint, applied at on_train_start
        self.flops_per_batch: int | None = None  # read by Lightning's ThroughputMonitor (None: not known)

    # -- training -------------------------------------------------------------------------
    def _losses(self, batch: dict, state):
        fwd, bwd, state = self.encoder.lm_forward(batch["fwd_chars"], batch["bwd_chars"], state)
        P = fwd.shape[-1]
        # bilm-tf calls sampled_softmax_loss once per direction: two independent candidate draws
        lf = self.softmax(fwd.reshape(-1, P), batch["fwd_targets"].reshape(-1),
                          sampled=self.softmax.sample() if self.training else None)
        lb = self.softmax(bwd.reshape(-1, P), batch["bwd_targets"].reshape(-1),
                          sampled=self.softmax.sample() if self.training else None)
        return lf, lb, state

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        lf, lb, state = self._losses(batch, self._state)
        self._state = _detach(state)
        loss = 0.5 * (lf + lb)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"non-finite training loss ({loss.item()}) at step {self.global_step}: training stopped; "
                f"the last good checkpoint is kept (lower the learning rate or check the data)"
            )
        tokens = batch["fwd_targets"].numel() * self.trainer.world_size
        self.log_dict({"train/loss": loss, "train/loss_fwd": lf, "train/loss_bwd": lb}, on_step=True)
        self.log("train/ppl", torch.exp(loss.detach()), prog_bar=True, on_step=True)
        self.log("train/tokens", float((self.global_step + 1) * tokens), on_step=True, reduce_fx="max")
        return loss * batch["fwd_targets"].shape[1]  # bilm-tf: gradient of total_loss * unroll_steps

    # -- held-out perplexity per language -----------------------------------------------------
    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if batch["first"]:
            self._val_state = None
        scored, self._val_state = batch_nll(self.encoder, self.softmax.weight, self.softmax.bias, batch,
                                            self._val_state)
        self.val_heldout.update(scored)

    def on_validation_epoch_end(self) -> None:
        for name, value in self.val_heldout.compute().items():
            self.log(f"val/{name}", value, prog_bar=name in ("ppl", "ppl_iv"))
        self.val_heldout.reset()
        self._val_state = None

    # -- optimisation and checkpoints ---------------------------------------------------------
    def configure_optimizers(self):
        return self.optimizer_factory(params=self.parameters())

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # every rank's rows and random streams, not only rank 0's (melmo.utils.dist)
        checkpoint["lm_state"] = gather_per_rank(self._state)
        checkpoint["rng"] = gather_per_rank(rng_state())

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._state = pick_rank(checkpoint.get("lm_state"))
        self._rng_to_restore = pick_rank(checkpoint.get("rng"))

    # -- throughput: FLOP/s and the share of the device's dense peak (Lightning's ThroughputMonitor) ----
    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        # analytic training FLOPs of this device's batch (melmo.model.flops); the monitor divides by the time
        # and, on a device whose bf16/fp32 peak Lightning knows (get_available_flops), logs the share as mfu
        classes = min(self.softmax.num_samples + 1, self.softmax.vocab_size)
        per_token = train_flops_per_token(self.encoder.options, classes)
        self.flops_per_batch = int(batch["fwd_targets"].numel() * per_token)

    def on_validation_batch_start(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.flops_per_batch = None  # held-out scoring is forward-only over the full softmax: not counted

    def on_train_start(self) -> None:
        self._state = move_to(self._state, self.device)
        if self._rng_to_restore is not None:  # as late as possible: nothing draws after this
            set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
