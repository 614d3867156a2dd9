"""The random streams a training step draws from (dropout, sampled softmax): one per DDP rank, seeded
from (seed, rank), and their state in checkpoint-safe types for an exact resume.

``seed_rank`` runs once the process group is up (``RankSeed.setup``): rank r's Python, NumPy and
torch (CPU and CUDA) generators are seeded from ``numpy.random.SeedSequence(seed).spawn(world)[r]``,
so N ranks draw N independent sets of negatives and dropout masks (with one shared seed they would
all draw the same, and N GPUs would give the gradient of one draw). The data order does not use
these generators (melmo.data.stream seeds its own from the data seed, the direction and the rank).

``rng_state`` holds only ints, floats, strings, tuples, lists and tensors, which
``torch.load(weights_only=True)`` accepts (NumPy's MT19937 key goes in as an int64 tensor).
"""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import torch


def rank_seed(seed: int, rank: int, world_size: int) -> int:
    """A 63-bit seed for ``rank`` of ``world_size``: independent streams per rank (SeedSequence.spawn)."""
    child = np.random.SeedSequence(int(seed)).spawn(max(int(world_size), rank + 1))[rank]
    return int(child.generate_state(2, np.uint64)[0] >> np.uint64(1))


def seed_rank(seed: int, rank: int, world_size: int) -> int:
    """Seed this process's Python, NumPy and torch generators for ``rank``; returns the seed used."""
    s = rank_seed(seed, rank, world_size)
    random.seed(s)
    np.random.seed(s % (1 << 32))
    torch.manual_seed(s)  # CPU and every CUDA device
    return s


class RankSeed(L.Callback):
    """Per-rank random streams, set in ``setup`` (the process group is up, nothing has drawn yet).
    A resumed run then replaces them with the checkpoint's per-rank states (LitBiLM.on_train_start)."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        seed_rank(self.seed, trainer.global_rank, trainer.world_size)


def rng_state() -> dict:
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [int(version), torch.tensor(mt, dtype=torch.int64), gauss],
        "numpy": [str(name), torch.from_numpy(np.asarray(keys, np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    version, mt, gauss = state["python"]
    random.setstate((int(version), tuple(int(x) for x in torch.as_tensor(mt).tolist()), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, torch.as_tensor(keys).numpy().astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
