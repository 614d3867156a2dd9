"""Biaffine scorer (Dozat & Manning 2017), arranged as SuPar's supar/modules/affine.py Biaffine.

``s[b, i, j, o] = [x_i; 1]^T W_o [y_j; 1]`` where each ``; 1`` is present only if its bias flag is
set. For arcs (``x`` = dependents, ``y`` = heads, ``bias_x=True, bias_y=False``, ``n_out=1``) this
is ``h_dep_i^T W h_head_j + h_head_j^T u``: the "bias on the dependent side" of the paper, a prior
of each word to be a head; for labels both biases are on and ``n_out`` is the number of relations.
"""

from __future__ import annotations

import torch
from torch import nn


class Biaffine(nn.Module):
    """``forward(x (B, Tx, n_in), y (B, Ty, n_in)) -> (B, Tx, Ty)`` if ``n_out == 1`` else
    ``(B, Tx, Ty, n_out)``. Weights start at zero, as SuPar's."""

    def __init__(self, n_in: int, n_out: int = 1, bias_x: bool = True, bias_y: bool = True):
        super().__init__()
        self.n_in, self.n_out, self.bias_x, self.bias_y = n_in, n_out, bias_x, bias_y
        self.weight = nn.Parameter(torch.zeros(n_out, n_in + int(bias_x), n_in + int(bias_y)))

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, bias_x={self.bias_x}, bias_y={self.bias_y}"

    def _biased(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.bias_x:
            x = torch.cat((x, torch.ones_like(x[..., :1])), -1)
        if self.bias_y:
            y = torch.cat((y, torch.ones_like(y[..., :1])), -1)
        return x, y

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        x, y = self._biased(x, y)
        s = torch.einsum("bxi,oij,byj->bxyo", x, self.weight, y)
        return s.squeeze(-1) if self.n_out == 1 else s

    def pairs(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The scores of aligned pairs only: ``x``, ``y`` ``(B, T, n_in)`` -> ``(B, T, n_out)``,
        ``s[b, t] = forward(x, y)[b, t, t]`` (e.g. each dependent with one chosen head: T pairs
        instead of T x T)."""
        x, y = self._biased(x, y)
        return torch.einsum("bti,oij,btj->bto", x, self.weight, y)
