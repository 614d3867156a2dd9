"""Held-out scoring of a biLM: full-softmax NLL of one batch and the per-language perplexity metric.

Shared by training-time validation (melmo.pretrain.module) and ``evaluate.py task=perplexity``
(melmo.tasks.perplexity), so both report the same numbers for the same weights.

Per language and overall (the protocol of bilm-tf's run_test: perplexity = exp of the mean of the
forward and the backward cross-entropy):

    ppl_<lang>      over every scored target, <UNK> included (depends on the vocabulary)
    ppl_iv_<lang>   over the targets that are not <UNK> (in-vocabulary; the <UNK> class is still in
                    the softmax's normaliser)
    unk_<lang>      share of the scored targets that are <UNK>

Overall numbers pool the tokens of every language. Within one run every one of them is computed on
a fixed target set, so they rank checkpoints; across models only with one shared vocabulary (see
docs/perplexity.md, "Which perplexities compare").
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

from melmo.data.prepared import UNK_ID
from melmo.model.softmax import full_softmax_nll


def batch_nll(encoder, weight: torch.Tensor, bias: torch.Tensor, batch: dict, state):
    """Full-softmax NLL of one held-out batch (melmo.data.heldout) read from ``state``.

    returns ({"fwd": (nll (N,), targets (N,), lang (N,)), "bwd": ...}, new state); only scored
    positions (target >= 0) are kept.
    """
    fwd, bwd, state = encoder.lm_forward(batch["fwd_chars"], batch["bwd_chars"], state)
    out = {}
    for d, hidden in (("fwd", fwd), ("bwd", bwd)):
        tgt = batch[f"{d}_targets"]
        lang = batch["lang"].to(tgt.device).unsqueeze(1).expand_as(tgt).reshape(-1)
        tgt = tgt.reshape(-1)
        keep = tgt >= 0
        nll = full_softmax_nll(hidden.reshape(-1, hidden.shape[-1])[keep], weight, bias, tgt[keep])
        out[d] = (nll, tgt[keep], lang[keep])
    return out, state


class HeldoutPerplexity(Metric):
    """Sums of NLL and counts per (language, direction, all | in-vocabulary); synced by sum."""

    full_state_update = False

    def __init__(self, languages: list[str], **kwargs):
        super().__init__(**kwargs)
        self.languages = list(languages)
        shape = (len(self.languages), 2, 2)  # (language, fwd | bwd, all | iv)
        self.add_state("nll", torch.zeros(shape, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros(shape, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scored: dict) -> None:
        for di, d in enumerate(("fwd", "bwd")):
            nll, tgt, lang = scored[d]
            iv = tgt != UNK_ID
            L = len(self.languages)
            for k, mask in ((0, torch.ones_like(iv)), (1, iv)):
                self.nll[:, di, k] += torch.bincount(lang[mask], weights=nll[mask].double(), minlength=L)
                self.count[:, di, k] += torch.bincount(lang[mask], minlength=L).double()

    @staticmethod
    def _ppl(nll: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        """nll, count: (2 directions,) -> exp(mean of the two directions' mean NLL)."""
        return torch.exp(0.5 * (nll / count).sum())

    def compute(self) -> dict[str, torch.Tensor]:
        out = {}
        for i, lang in enumerate(self.languages):
            if self.count[i, 0, 0] == 0:
                continue
            out[f"ppl_{lang}"] = self._ppl(self.nll[i, :, 0], self.count[i, :, 0])
            out[f"ppl_iv_{lang}"] = self._ppl(self.nll[i, :, 1], self.count[i, :, 1])
            out[f"unk_{lang}"] = 1 - self.count[i, :, 1].sum() / self.count[i, :, 0].sum()
        nll, count = self.nll.sum(0), self.count.sum(0)
        if count[0, 0] > 0:
            out["ppl"] = self._ppl(nll[:, 0], count[:, 0])
            out["ppl_iv"] = self._ppl(nll[:, 1], count[:, 1])
            out["unk"] = 1 - count[:, 1].sum() / count[:, 0].sum()
        return {k: v.float() for k, v in out.items()}
