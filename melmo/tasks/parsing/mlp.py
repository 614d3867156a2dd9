"""The MLP of the biaffine parser and its time-shared dropout, as SuPar's supar/modules/mlp.py."""

from __future__ import annotations

import torch
from torch import nn


class SharedDropout(nn.Module):
    """Dropout with one mask per sequence, shared over time (Dozat & Manning 2017; SuPar
    SharedDropout). Input ``(B, T, D)``; identity in eval mode or with ``p == 0``."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class MLP(nn.Module):
    """Linear -> LeakyReLU(0.1) -> shared dropout: ``(B, T, n_in)`` -> ``(B, T, n_out)``.
    Orthogonal weights and zero bias at init, LeakyReLU slope 0.1 (SuPar MLP; Dozat & Manning 2017)."""

    def __init__(self, n_in: int, n_out: int, dropout: float = 0.0, activation: bool = True):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.activation = nn.LeakyReLU(negative_slope=0.1) if activation else nn.Identity()
        self.dropout = SharedDropout(dropout)
        nn.init.orthogonal_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.linear(x)))
