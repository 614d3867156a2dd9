"""Highway layers of the ELMo token encoder, in bilm-tf's convention (bilm-tf bilm/training.py, highway
layers).

Per layer, on F features:

    g = sigmoid(x·W_carry + b_carry)           # despite its name, g gates the *transformed* path
    t = relu(x·W_transform + b_transform)      # always ReLU, whatever char_cnn.activation says
    y = g * t + (1 - g) * x

Run-time layout: one Linear(F, 2F) per layer whose output is [transform | carry], so a layer is one
matmul: ``weight`` = [W_transformᵀ; W_carryᵀ], ``bias`` = [b_transform; b_carry]; melmo.model.io
converts to/from the four HDF5 datasets exactly (transpose + concatenate).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# bilm-tf training init of b_carry: gate ≈ 0.12, near identity (bilm-tf bilm/training.py, highway layers)
CARRY_BIAS_INIT = -2.0


class Highway(nn.Module):
    """``n_layers`` highway layers on ``dim`` features: (..., F) -> (..., F)."""

    def __init__(self, dim: int, n_layers: int):
        super().__init__()
        self.dim = dim
        self.layers = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(n_layers))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.layers:
            # bilm-tf: W_carry, W_transform ~ N(0, 1/F) (bilm-tf bilm/training.py, highway layers)
            nn.init.normal_(layer.weight, 0.0, math.sqrt(1.0 / self.dim))
            # b_transform = 0 (bilm-tf bilm/training.py, highway layers)
            nn.init.zeros_(layer.bias[: self.dim])
            nn.init.constant_(layer.bias[self.dim :], CARRY_BIAS_INIT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            transform, carry = layer(x).chunk(2, dim=-1)  # (N, F) each; bf16 under autocast
            g = torch.sigmoid(carry)
            x = torch.lerp(x.to(g.dtype), torch.relu(transform), g)  # x + g * (t - x) = g*t + (1-g)*x
        return x
