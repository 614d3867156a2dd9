"""ScalarMix: a trainable, softmax-weighted sum of the encoder's layers (Peters et al. 2018, eq. 1).

    mix = ScalarMix(n_layers=3, do_layer_norm=False)
    out = mix(layers, mask)   # layers: sequence of L tensors (B, T, D) or one tensor (B, T, L, D);
                              # mask (B, T) bool (required with do_layer_norm) -> (B, T, D)

Semantics follow AllenNLP's allennlp/modules/scalar_mix.py: one scalar per layer initialised at
0.0 (so the softmax weights start uniform), γ initialised at 1.0, output γ · Σ_k softmax(w)_k ·
layer_k. With ``do_layer_norm`` each layer is normalised with ONE mean and ONE variance computed
over all unmasked elements of the whole batch tensor (ε = 1e-12), not a per-token LayerNorm.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ScalarMix(nn.Module):
    def __init__(self, n_layers: int, do_layer_norm: bool = False, initial_scalar_parameters=None,
                 trainable: bool = True):
        super().__init__()
        init = list(initial_scalar_parameters) if initial_scalar_parameters is not None else [0.0] * n_layers
        if len(init) != n_layers:
            raise ValueError(f"initial_scalar_parameters has {len(init)} values for {n_layers} layers")
        self.n_layers = n_layers
        self.do_layer_norm = do_layer_norm
        self.scalar_parameters = nn.Parameter(torch.tensor(init, dtype=torch.float32),
                                              requires_grad=trainable)
        self.gamma = nn.Parameter(torch.tensor([1.0]), requires_grad=trainable)

    @staticmethod
    def _masked_norm(x: torch.Tensor, mask: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        # AllenNLP _do_layer_norm: mean and variance over every unmasked element (ε 1e-12)
        mean = (x * mask).sum() / n
        var = (((x - mean) * mask) ** 2).sum() / n
        return (x - mean) / torch.sqrt(var + 1e-12)

    def weights(self) -> torch.Tensor:
        """The normalised layer weights s = softmax(w), shape (L,)."""
        return torch.softmax(self.scalar_parameters, dim=0)

    def forward(self, layers: torch.Tensor | Sequence[torch.Tensor],
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(layers, torch.Tensor):
            if layers.dim() != 4:
                raise ValueError(f"layers tensor must be (B, T, L, D), got {tuple(layers.shape)}")
            layers = layers.unbind(2)
        if len(layers) != self.n_layers:
            raise ValueError(f"ScalarMix built for {self.n_layers} layers got {len(layers)}")
        s = self.weights()
        if not self.do_layer_norm:
            return self.gamma * sum(w * t for w, t in zip(s, layers))
        if mask is None:
            raise ValueError("ScalarMix with do_layer_norm needs a mask")
        m = mask.unsqueeze(-1).to(layers[0].dtype)
        n = m.sum() * layers[0].shape[-1]
        return self.gamma * sum(w * self._masked_norm(t, m, n) for w, t in zip(s, layers))
