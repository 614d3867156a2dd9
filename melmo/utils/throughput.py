"""What Lightning's ThroughputMonitor counts in an LM batch (conf/callbacks/default.yaml): rows as
samples, tokens per direction as items (fwd_targets is (B, U) in training and held-out batches)."""

from __future__ import annotations


def batch_rows(batch: dict) -> int:
    return int(batch["fwd_targets"].shape[0])


def batch_tokens(batch: dict) -> int:
    return int(batch["fwd_targets"].numel())
