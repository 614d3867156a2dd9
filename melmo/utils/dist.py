"""Per-rank state in a checkpoint that only rank 0 writes: gather it from every rank on save,
pick this rank's share on load. Both calls are collective under DDP (every rank builds the
checkpoint dict in the same order), and plain pass-throughs in a single process."""

from __future__ import annotations

import torch
import torch.distributed as dist

from melmo.errors import ConfigError


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    return obj


def gather_per_rank(obj) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every rank."""
    rank, world = _world()
    obj = _to_cpu(obj)
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj)
    return out


def pick_rank(saved: list | None, device: torch.device | None = None):
    """This rank's entry of a gathered list (None when absent or the world size changed)."""
    if saved is None:
        return None
    rank, world = _world()
    if len(saved) != world:
        raise ConfigError(f"checkpoint holds per-rank state of {len(saved)} processes, this run has {world}")
    obj = saved[rank]
    return move_to(obj, device) if device is not None else obj


def move_to(obj, device):
    """``obj`` with every tensor inside it moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: move_to(v, device) for k, v in obj.items()}
    return obj
