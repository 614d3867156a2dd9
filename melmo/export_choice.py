"""Which weights ``train.py`` exports: ``export=best`` (the best held-out checkpoint) or ``export=last``.

The best checkpoint is the one the ModelCheckpoint monitoring a ``val/`` metric kept
(conf/callbacks/default.yaml: ``best_checkpoint``, by in-vocabulary held-out perplexity). The
returned record goes into the export's melmo.json, so an export always says which weights it holds.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

CHOICES = ("best", "last")


def export_choice(value) -> str | None:
    """``export`` config value -> "best" | "last" | None (no export); a one-line error otherwise."""
    if value in (None, False, "false", "none"):
        return None
    if value is True:  # the former boolean: the last weights
        return "last"
    if value not in CHOICES:
        raise ValueError(f"export={value!r}: expected best, last or false")
    return value


def _best_callback(trainer):
    for cb in trainer.checkpoint_callbacks:
        if (cb.monitor or "").startswith("val/") and cb.best_model_path:
            return cb
    return None


def load_export_weights(module, trainer, which: str) -> dict:
    """Load the chosen weights into ``module`` (``last``: leave them) and describe them."""
    record = {"which": "last", "step": int(trainer.global_step)}
    if which == "best":
        cb = _best_callback(trainer)
        if cb is None:
            log.warning("export=best but no held-out checkpoint was kept (no validation or no best_checkpoint "
                        "callback): exporting the last weights")
            record["requested"] = "best"
        else:
            ckpt = torch.load(cb.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(ckpt["state_dict"])
            record = {"which": "best", "step": int(ckpt["global_step"]), "checkpoint": cb.best_model_path,
                      "monitor": cb.monitor, "score": float(cb.best_model_score)}
    return record
