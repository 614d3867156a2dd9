"""The context-independent token encoder of ELMo (bilm-tf bilm/training.py _build_word_char_embeddings):
characters -> one vector per token.

    char ids (N, C)                       +1 convention, 1..261 (0 only in all-zero padding rows)
      -> char_embed (N, C, d_c)           262 rows; row 0 is a fixed zero row
      -> Conv1d per filter (w_i, n_i)     "valid" over ALL C positions: (N, n_i, C - w_i + 1)
      -> max over positions, activation   (N, n_i) each, concatenated in filter order: (N, F)
      -> Highway (n_highway layers)       (N, F)
      -> projection F -> P                (N, P); identity when F == P (bilm-tf has no CNN_proj then)

The constructor takes bilm-tf's ``char_cnn`` options verbatim plus the output size P
(``lstm.projection_dim``). Initialisation is bilm-tf's training init (bilm-tf bilm/training.py, highway
layers).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from melmo.errors import ConfigError
from melmo.model.chars import N_CHARACTERS, N_CHARACTERS_TRAIN
from melmo.model.highway import Highway

# char_cnn.activation values (bilm-tf bilm/training.py _build_word_char_embeddings)
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}
CHAR_EMBED_INIT = 1.0  # bilm-tf: char_embed ~ U(-1, 1) (bilm-tf bilm/training.py _build_word_char_embeddings)
# bilm-tf: relu CNN kernels ~ U(-0.05, 0.05) (bilm-tf bilm/training.py _build_word_char_embeddings)
RELU_KERNEL_INIT = 0.05
CPU_CHUNK_TOKENS = 64  # tokens per conv chunk on CPU: the conv outputs stay in cache (measured 1.5-3x)


class CharCNN(nn.Module):
    """Token encoder: (..., C) char ids -> (..., P) token representations."""

    def __init__(self, projection_dim: int, *, activation: str = "relu", embedding: dict, filters: list,
                 n_highway: int, max_characters_per_token: int = 50, n_characters: int = N_CHARACTERS):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(f"char_cnn.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        # 261 in training options, 262 for inference (bilm-tf bin/train_elmo.py options); the table always has
        # 262 rows
        if n_characters not in (N_CHARACTERS_TRAIN, N_CHARACTERS):
            raise ConfigError(f"char_cnn.n_characters must be 261 or 262, got {n_characters}")
        self.activation = activation
        self.max_chars = int(max_characters_per_token)
        self.filters = [(int(w), int(n)) for w, n in filters]
        if any(w > self.max_chars for w, _ in self.filters):
            raise ConfigError(f"a filter is wider than max_characters_per_token={self.max_chars}: "
                             f"{self.filters}")
        self.n_filters = sum(n for _, n in self.filters)  # F
        self.output_dim = int(projection_dim)  # P
        d_c = int(embedding["dim"])

        # Always 262 rows: ids are +1-shifted at inference and in melmo's training stream alike;
        # row 0 (a padding position) stays zero and gets no gradient (bilm-tf bilm/training.py
        # _build_word_char_embeddings).
        self.char_embed = nn.Embedding(N_CHARACTERS, d_c, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(d_c, n, w) for w, n in self.filters)
        self.highway = Highway(self.n_filters, int(n_highway))
        # bilm-tf creates CNN_proj only when F != P (bilm-tf bilm/training.py _build_word_char_embeddings)
        self.proj = nn.Linear(self.n_filters, self.output_dim) if self.n_filters != self.output_dim else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            nn.init.uniform_(self.char_embed.weight, -CHAR_EMBED_INIT, CHAR_EMBED_INIT)
            self.char_embed.weight[0].zero_()
            for conv, (w, _) in zip(self.convs, self.filters):
                if self.activation == "relu":
                    nn.init.uniform_(conv.weight, -RELU_KERNEL_INIT, RELU_KERNEL_INIT)
                else:
                    # bilm-tf tanh: N(0, 1/(w * d_c)) (bilm-tf bilm/training.py _build_word_char_embeddings)
                    nn.init.normal_(conv.weight, 0.0, math.sqrt(1.0 / (w * conv.in_channels)))
                nn.init.zeros_(conv.bias)
            self.highway.reset_parameters()
            if self.proj is not None:
                nn.init.normal_(self.proj.weight, 0.0, math.sqrt(1.0 / self.n_filters))  # N(0, 1/F)
                nn.init.zeros_(self.proj.bias)

    def _pooled(self, char_ids: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N, F): embed, convolve over all C positions, max-pool, activation.

        Each Conv1d runs as one GEMM over the unfolded windows, (N * (C - w + 1), w * d_c) @
        (w * d_c, n): the same cross-correlation, ~2x faster than Conv1d's CPU kernel here."""
        N, C = char_ids.shape
        x = self.char_embed(char_ids)  # (N, C, d_c)
        act = ACTIVATIONS[self.activation]
        pooled = []
        for conv, (w, n) in zip(self.convs, self.filters):
            windows = x.unfold(1, w, 1).transpose(2, 3).reshape(N * (C - w + 1), w * x.shape[-1])
            kernel = conv.weight.permute(2, 1, 0).reshape(w * x.shape[-1], n)  # (n, d_c, w) -> (w*d_c, n)
            y = torch.mm(windows, kernel).view(N, C - w + 1, n)
            # max over positions, bias (max(y + b) == max(y) + b), then the activation (bilm-tf
            # bilm/training.py _build_word_char_embeddings)
            pooled.append(act(y.amax(dim=1) + conv.bias))
        return torch.cat(pooled, dim=-1)

    def forward(self, char_ids: torch.Tensor) -> torch.Tensor:
        """char_ids (..., C) int -> (..., P) float. All C positions always enter the convolutions:
        the in-token padding char has a learned embedding (bilm-tf bilm/model.py char CNN over all
        max_characters_per_token positions)."""
        if char_ids.shape[-1] != self.max_chars:
            raise ValueError(f"char ids have {char_ids.shape[-1]} chars per token, the model expects "
                             f"max_characters_per_token={self.max_chars}")
        lead = char_ids.shape[:-1]
        flat = char_ids.reshape(-1, self.max_chars).long()
        if flat.device.type == "cpu" and flat.shape[0] > CPU_CHUNK_TOKENS:
            pooled = torch.cat([self._pooled(c) for c in flat.split(CPU_CHUNK_TOKENS)])
        else:
            pooled = self._pooled(flat)
        y = self.highway(pooled)
        if self.proj is not None:
            y = self.proj(y)
        return y.reshape(*lead, self.output_dim)
