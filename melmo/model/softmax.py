"""The biLM's output layer: a softmax over the frequency-ranked vocabulary, trained with bilm-tf's
sampled softmax and evaluated with the full softmax.

* ``LogUniformSampler``: the log-uniform (Zipfian) candidate sampler of
  ``tf.nn.log_uniform_candidate_sampler`` over ids [0, V) (bilm-tf bilm/training.py LanguageModel, train),
  drawing ``unique`` ids (without replacement) and returning TensorFlow's approximate expected counts Q.
  Vectorised: the stream of i.i.d. draws is generated in batches by inverse CDF and deduplicated in
  order, which is exactly TF's one-draw-at-a-time rejection loop (same ids in the same order, same
  ``num_tries``).
* ``SampledSoftmax``: ``softmax/W`` (V, dim) and ``softmax/b`` (V,) shared by both directions
  (bilm-tf bilm/training.py dump_weights); ``forward`` = ``tf.nn.sampled_softmax_loss`` with
  ``remove_accidental_hits=True`` and ``subtract_log_q=True``; ``full_loss`` / ``full_log_probs`` for
  held-out perplexity.

The sampler assumes ids ranked by descending frequency (the vocabulary file's order; for a
multilingual model the frequency in the sampled mixture; bilm-tf#228).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from melmo.errors import ConfigError

log = logging.getLogger(__name__)

# tf.nn.sampled_softmax_loss(num_sampled=...) in bilm-tf: n_negative_samples_batch (bilm-tf bilm/training.py
# LanguageModel, train).
DEFAULT_NUM_SAMPLES = 8192
# tf.nn.compute_accidental_hits: an accidental hit's logit gets weight -FLOAT_MAX (float32).
_ACCIDENTAL_HIT_LOGIT = torch.finfo(torch.float32).min
# Full softmax evaluated in row chunks of at most this many logits (2^26 float32 = 256 MiB).
_FULL_CHUNK_LOGITS = 1 << 26


class Candidates(NamedTuple):
    """One draw of sampled classes, shared by every row of a batch (and by both directions if the
    caller wishes).

    ids: (S,) int64, unique when drawn with ``unique=True``, in order of first draw.
    expected_count: (S,) float32, TF's Q of each sampled id.
    num_tries: int, number of i.i.d. draws it took (== S without replacement only if no repeats).
    """

    ids: torch.Tensor
    expected_count: torch.Tensor
    num_tries: int


def log_uniform_probs(n: int, ids: torch.Tensor | None = None, *, device=None) -> torch.Tensor:
    """P(k) = log((k+2)/(k+1)) / log(n+1) of the log-uniform sampler over [0, n)
    (tf.nn.log_uniform_candidate_sampler; bilm-tf bilm/training.py LanguageModel, train).  Sums to 1
    (telescoping).

    ids: optional int tensor of any shape; default ``arange(n)``.
    returns: float64 tensor shaped like ``ids`` (or (n,)).
    """
    if ids is None:
        ids = torch.arange(n, device=device)
    k = ids.to(torch.float64)
    return torch.log1p(1.0 / (k + 1.0)) / math.log(n + 1.0)


def _expected_count(p: torch.Tensor, num_samples: int, num_tries: int) -> torch.Tensor:
    """TF's ExpectedCountHelper (core/kernels/range_sampler.cc): ``p * S`` when no draw was rejected
    (always the case with replacement), else ``1 - (1 - p)^num_tries`` computed as
    ``-expm1(num_tries * log1p(-p))``.  p: float64, any shape -> float32, same shape."""
    if num_tries == num_samples:
        return (p * num_samples).float()
    return (-torch.expm1(num_tries * torch.log1p(-p))).float()


class LogUniformSampler:
    """Log-uniform (Zipfian) candidate sampler over ids [0, vocab_size) ranked by frequency."""

    def __init__(self, vocab_size: int):
        if vocab_size < 1:
            raise ConfigError(f"vocab_size must be >= 1, got {vocab_size}")
        self.vocab_size = int(vocab_size)
        self.log_range = math.log(vocab_size + 1.0)

    def prob(self, ids: torch.Tensor) -> torch.Tensor:
        """P(k) for int ids of any shape -> float64, same shape."""
        return log_uniform_probs(self.vocab_size, ids)

    def expected_count(self, ids: torch.Tensor, num_samples: int, num_tries: int) -> torch.Tensor:
        """TF's expected count Q of ``ids`` (sampled or true classes, any shape) for a draw of
        ``num_samples`` candidates that took ``num_tries`` tries -> float32, same shape."""
        return _expected_count(self.prob(ids), num_samples, num_tries)

    def _draw(self, n: int, generator, device) -> torch.Tensor:
        """(n,) i.i.d. ids by inverse CDF, k = floor(exp(u * log(V+1))) - 1, u ~ U[0, 1), as TF's
        LogUniformSampler::Sample; float64 so that ids near 1M are not rounded."""
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        k = torch.exp(u * self.log_range).long() - 1
        return k.clamp_(0, self.vocab_size - 1)

    def sample(self, num_samples: int, generator: torch.Generator | None = None, unique: bool = True,
               device=None) -> Candidates:
        """Draw ``num_samples`` (S) candidates; see ``Candidates``.

        unique=True: the first S distinct values of an i.i.d. stream (TF's rejection sampling),
        ``num_tries`` = position of the S-th distinct value.  unique=False: S i.i.d. draws.
        generator: a torch.Generator on ``device`` (default: the device's global RNG).
        """
        V, S = self.vocab_size, int(num_samples)
        out_device = torch.device(device if device is not None else "cpu")
        device = generator.device if generator is not None else out_device  # where the draws happen
        if S < 1:
            raise ConfigError(f"num_samples must be >= 1, got {S}")
        if not unique:
            ids = self._draw(S, generator, device).to(out_device)
            return Candidates(ids, self.expected_count(ids, S, S), S)
        if S > V:
            raise ConfigError(f"cannot draw {S} unique ids from a vocabulary of {V}")

        seen = torch.zeros(V, dtype=torch.bool, device=device)
        chunks: list[torch.Tensor] = []
        have, tries = 0, 0
        batch = 2 * S + 64  # our first guess (V=1M, S=8192 takes ~16k tries); then the observed rate
        while have < S:
            x = self._draw(batch, generator, device)
            # first occurrence of each value within this batch, and not seen in earlier batches
            vals, inv = torch.unique(x, return_inverse=True)
            pos = torch.arange(batch, device=device)
            first = torch.full((vals.numel(),), batch, dtype=torch.long, device=device)
            first.scatter_reduce_(0, inv, pos, reduce="amin")
            new = (first[inv] == pos) & ~seen[x]
            n_new = int(new.sum())
            need = S - have
            if n_new >= need:
                cut = int(torch.nonzero(torch.cumsum(new, 0) == need)[0])  # draw giving the S-th id
                chunks.append(x[: cut + 1][new[: cut + 1]])
                tries += cut + 1
                have = S
            else:
                fresh = x[new]
                chunks.append(fresh)
                seen[fresh] = True
                tries += batch
                have += n_new
                rate = max(n_new / batch, 1e-4)  # floor: our heuristic, avoids a division by zero
                # next batch: 25 % above the draws expected to finish (our heuristic), at most 16M
                batch = min(int(1.25 * (S - have) / rate) + 64, 1 << 24)
        ids = torch.cat(chunks).to(out_device)
        return Candidates(ids, self.expected_count(ids, S, tries), tries)


class SampledSoftmax(nn.Module):
    """Output softmax over the vocabulary, shared by both LM directions (bilm-tf bilm/training.py
    dump_weights).

    weight: (V, dim) ~ N(0, 1/dim); bias: (V,) = 0 (bilm-tf softmax/W, softmax/b; bilm-tf bilm/training.py
    dump_weights). Training (``forward``): tf.nn.sampled_softmax_loss with one set of ``num_samples``
    log-uniform candidates per call (or the ``sampled`` the caller passes), accidental hits removed, logits
    minus log Q.  With num_samples >= vocab_size the full softmax is used instead (bilm-tf#75).
    All logits and losses are computed in float32, also
    under autocast.
    """

    def __init__(self, vocab_size: int, dim: int, num_samples: int = DEFAULT_NUM_SAMPLES,
                 subtract_log_q: bool = True, remove_accidental_hits: bool = True):
        super().__init__()
        self.vocab_size, self.dim, self.num_samples = int(vocab_size), int(dim), int(num_samples)
        self.subtract_log_q = subtract_log_q  # tf.nn.sampled_softmax_loss default: True
        self.remove_accidental_hits = remove_accidental_hits  # bilm-tf passes True
        self.weight = nn.Parameter(torch.empty(vocab_size, dim))
        self.bias = nn.Parameter(torch.empty(vocab_size))
        self.sampler = LogUniformSampler(vocab_size)
        self.use_full = self.num_samples >= self.vocab_size
        if self.use_full:
            msg = (f"num_samples={self.num_samples} >= vocab_size={self.vocab_size}: using the full "
                   f"softmax for training instead of the sampled softmax (bilm-tf#75)")
            log.warning(msg)
            warnings.warn(msg, stacklevel=2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # bilm-tf: softmax_init = random_normal_initializer(0.0, 1.0 / sqrt(dim)); bias zeros (spec §6)
        nn.init.normal_(self.weight, mean=0.0, std=1.0 / math.sqrt(self.dim))
        nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        mode = "full" if self.use_full else f"num_samples={self.num_samples}"
        return f"vocab_size={self.vocab_size}, dim={self.dim}, {mode}"

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, generator: torch.Generator | None = None) -> Candidates | None:
        """One draw of ``num_samples`` unique candidates on the weight's device; None when the
        full softmax is used."""
        if self.use_full:
            return None
        return self.sampler.sample(self.num_samples, generator=generator, device=self.weight.device)

    # -- training loss ------------------------------------------------------------------------
    def forward(self, hidden: torch.Tensor, targets: torch.Tensor, sampled: Candidates | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """hidden (N, dim), targets (N,) int in [0, V) -> scalar float32 loss, mean over N.

        Sampled softmax when sampled candidates are given or the module is training; full softmax
        when the vocabulary is not larger than num_samples or in eval mode without candidates.
        """
        if self.use_full or (sampled is None and not self.training):
            return self.full_loss(hidden, targets)
        if sampled is None:
            sampled = self.sample(generator)
        return self.sampled_loss(hidden, targets, sampled, reduction="mean")

    def sampled_loss(self, hidden: torch.Tensor, targets: torch.Tensor, sampled: Candidates,
                     reduction: str = "mean") -> torch.Tensor:
        """tf.nn.sampled_softmax_loss: logits of [true, sampled] = h W^T + b (- log Q), accidental
        hits set to -FLOAT_MAX, cross-entropy with label 0.  Only (N, S) logits are formed.

        hidden (N, dim), targets (N,) -> (N,) float32 losses, or their mean / sum.
        """
        ids, q_sampled, num_tries = sampled
        ids = ids.to(self.weight.device)
        targets = targets.reshape(-1)
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            h = hidden.float()
            w, b = self.weight.float(), self.bias.float()
            true_logit = (h * w[targets]).sum(-1) + b[targets]  # (N,)
            sampled_bias = b[ids]  # (S,)
            if self.subtract_log_q:
                q_true = self.sampler.expected_count(targets, ids.numel(), num_tries).to(h.device)
                true_logit = true_logit - torch.log(q_true)
                sampled_bias = sampled_bias - torch.log(q_sampled.to(h.device, torch.float32))
            sampled_logits = torch.addmm(sampled_bias, h, w[ids].t())  # (N, S), the only (N, S) buffer
            if self.remove_accidental_hits:
                hits = targets.unsqueeze(1) == ids.unsqueeze(0)  # (N, S) bool
                sampled_logits.masked_fill_(hits, _ACCIDENTAL_HIT_LOGIT)  # in place: addmm keeps no output
            # cross-entropy with label 0 over [true, sampled] without concatenating the logits
            losses = torch.logaddexp(true_logit, torch.logsumexp(sampled_logits, dim=1)) - true_logit
        return _reduce(losses, reduction)

    # -- evaluation -----------------------------------------------------------------------------
    def full_log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """hidden (N, dim) -> (N, V) float32 log-probabilities over the whole vocabulary."""
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            logits = hidden.float() @ self.weight.float().t() + self.bias.float()
            return F.log_softmax(logits, dim=-1)

    def full_loss(self, hidden: torch.Tensor, targets: torch.Tensor, reduction: str = "mean",
                  chunk_rows: int | None = None) -> torch.Tensor:
        """Full-softmax cross-entropy (bilm-tf run_test): hidden (N, dim), targets (N,) ->
        (N,) float32 losses ('none'), or their 'mean' / 'sum'.  Rows are processed in chunks of
        ``chunk_rows`` (default: about 2^26 logits per chunk) to bound memory for large V."""
        return _reduce(full_softmax_nll(hidden, self.weight, self.bias, targets, chunk_rows), reduction)


def full_softmax_nll(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, targets: torch.Tensor,
                     chunk_rows: int | None = None) -> torch.Tensor:
    """Per-row cross-entropy of the full softmax ``hidden @ weight.T + bias`` (bilm-tf run_test):
    hidden (N, dim), weight (V, dim), bias (V,), targets (N,) -> (N,) float32. Rows go in chunks of
    ``chunk_rows`` (default: about 2^26 logits per chunk) to bound memory for large V."""
    targets = targets.reshape(-1)
    if chunk_rows is None:
        chunk_rows = max(1, _FULL_CHUNK_LOGITS // weight.shape[0])
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        w, b = weight.float(), bias.float()
        out = []
        for h, t in zip(hidden.float().split(chunk_rows), targets.split(chunk_rows)):
            out.append(F.cross_entropy(h @ w.t() + b, t, reduction="none"))  # (n, V) logits per chunk
        return torch.cat(out) if out else hidden.new_zeros(0, dtype=torch.float32)


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
