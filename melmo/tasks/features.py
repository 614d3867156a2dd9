"""Datasets that read cached layer activations for a head (no encoder runs while heads train).

    ds = CachedTokens(acts, indices, targets, positions=None)
    batch = collate_tokens([ds[0], ds[1]])
    batch["layers"]   # (B, T, L, D) float32: every layer of every unit
    batch["mask"]     # (B, T) bool
    batch["target"]   # (B, T) int64, IGNORE (-100) at padding and at units without a label
    batch["index"]    # (B,) the sentence index in the cached file

``positions[k]`` (optional, per sentence) maps unit j of the head to row positions[k][j] of the
cached sentence: this is how every syntactic word of a multiword token gets its surface token's
vector when the encoder read surface tokens. Sentence-pair tasks (XNLI) build their own dataset and
collate that also fill ``layers_b`` / ``mask_b``; the head module mixes those too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

IGNORE = -100  # label of padding / unlabelled units (torch cross_entropy's default ignore_index)


class CachedTokens(Dataset):
    def __init__(self, acts, indices: Sequence[int], targets: Sequence[np.ndarray], positions: Sequence[np.ndarray] | None = None):
        if len(indices) != len(targets) or (positions is not None and len(positions) != len(indices)):
            raise ValueError("CachedTokens: indices, targets and positions must have one entry per sentence")
        self.acts, self.indices, self.targets, self.positions = acts, list(indices), list(targets), positions

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict:
        i = self.indices[k]
        layers = self.acts.sentence(i)  # (n_cached, L, D) float16 memmap view
        if self.positions is not None:
            layers = layers[self.positions[k]]
        target = np.asarray(self.targets[k], dtype=np.int64)
        if len(target) != len(layers):
            raise ValueError(f"sentence {i}: {len(target)} labels for {len(layers)} units")
        return {"layers": torch.from_numpy(np.array(layers, dtype=np.float32)), "target": torch.from_numpy(target), "index": i}


def collate_tokens(items: list[dict]) -> dict:
    B = len(items)
    T = max((it["layers"].shape[0] for it in items), default=0)
    L, D = items[0]["layers"].shape[1:]
    layers = torch.zeros(B, T, L, D)
    mask = torch.zeros(B, T, dtype=torch.bool)
    target = torch.full((B, T), IGNORE, dtype=torch.long)
    for b, it in enumerate(items):
        n = it["layers"].shape[0]
        layers[b, :n] = it["layers"]
        mask[b, :n] = True
        target[b, :n] = it["target"]
    return {"layers": layers, "mask": mask, "target": target, "index": torch.tensor([it["index"] for it in items])}
