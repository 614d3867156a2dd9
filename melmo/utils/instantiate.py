"""Instantiate the named ``_target_`` nodes of a config group (callbacks, loggers)."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig


def instantiate_group(group: DictConfig | None) -> list:
    if not group:
        return []
    return [instantiate(node) for node in group.values()
            if isinstance(node, DictConfig) and "_target_" in node]
