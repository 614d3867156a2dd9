"""Analytic FLOPs of the biLM per token (2 FLOPs per multiply-add), the arithmetic of the table
in docs/full-scale.md ("Expected GPU hours"): read by the throughput metric and benchmarks/lm_throughput.py.

    forward_flops_per_token(encoder.options, n_classes)   # one direction, forward
    train_flops_per_token(encoder.options, n_classes)     # both directions, forward + backward (3 x forward)

``n_classes``: softmax rows scored per position (the sampled softmax: negatives + the target; the full
softmax: the vocabulary). Element-wise work (activations, gates, max-pooling) is left out, as in the table.
"""

from __future__ import annotations

from collections.abc import Mapping


def forward_flops_per_token(options: Mapping, n_classes: int) -> float:
    cnn, lstm = options["char_cnn"], options["lstm"]
    C, d = cnn["max_characters_per_token"], cnn["embedding"]["dim"]
    F = sum(n for _, n in cnn["filters"])
    P, H, L = lstm["projection_dim"], lstm["dim"], lstm["n_layers"]
    flops = sum(2 * (C - w + 1) * w * d * n for w, n in cnn["filters"])  # character convolutions
    flops += cnn["n_highway"] * 2 * (2 * F * F)  # highway: transform and gate
    flops += 2 * F * P if F != P else 0  # projection to the LSTM width
    # LSTM gates from input and recurrent state, cell projection
    flops += L * (2 * (P + P) * 4 * H + 2 * H * P)
    flops += 2 * P * n_classes  # softmax logits
    return float(flops)


def train_flops_per_token(options: Mapping, n_classes: int) -> float:
    """Both directions (each reads its own characters), backward = 2 x forward."""
    return 3 * 2 * forward_flops_per_token(options, n_classes)


def gpu_hours(tokens: float, options: Mapping, n_classes: int, peak_flops: float,
              utilization: float) -> float:
    """An ESTIMATE of the device-hours to train on ``tokens`` (per direction) at ``utilization`` of
    ``peak_flops``."""
    return tokens * train_flops_per_token(options, n_classes) / (peak_flops * utilization) / 3600
