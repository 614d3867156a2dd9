"""BiLM: the ELMo encoder -- token encoder (char CNN) + forward and backward LSTM stacks.

    BiLM(char_cnn: dict, lstm: dict, dropout=0.0)   # the bilm-tf options.json sub-dicts, verbatim

Inference (AllenNLP convention, bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
ELMoCharacterMapper; bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj); AllenNLP
allennlp/modules/elmo.py _ElmoBiLm):

    out = encoder(char_ids, state=None)   # char_ids (B, T, C) from chars.batch_to_ids
    out.layers   # L + 1 tensors (B, T, 2P): [z, z], then [forward_l, backward_l] per LSTM layer;
                 # BOS/EOS removed, zeros at padding positions
    out.mask     # (B, T) bool
    out.state    # (c (2, L, B', H), h (2, L, B', P)): pass it to the next call to read a stream
                 # statefully, row k continuing from row k of the previous batch

The encoder inserts BOS at position 0 and EOS right after each sentence's last token. The forward
stack reads positions 0..len+1; the backward stack reads the *valid part* of each row reversed
(EOS first, BOS last), never padding (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj)). Per-row
state (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj)): the forward final state is taken after the
row's EOS, the backward one after its BOS; rows of a stored state beyond the batch are returned unchanged;
rows of the batch beyond the stored state start from zeros.

Training (bilm-tf convention, bilm-tf bilm/training.py LanguageModel, train):

    fwd_out, bwd_out, state = encoder.lm_forward(fwd_chars, bwd_chars, state)
    # fwd_chars, bwd_chars (B, U, C): every position a real token, no BOS/EOS added, the backward
    # stream already reversed; both run left to right through their own stack; outputs (B, U, P)
    # are the top layer (with residual) after output dropout. The caller detaches the state.

Both directions run in lockstep through melmo.model.lstm (batched matmuls, direction axis first).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from melmo.errors import ConfigError
from melmo.model.char_cnn import CharCNN
from melmo.model.chars import N_CHARACTERS, bos_char_ids, eos_char_ids
from melmo.model.lstm import LstmStack

State = tuple  # (c (2, L, B, H), h (2, L, B, P)); a plain tuple so generic tree-mapping helpers keep it


class BiLMOutput(NamedTuple):
    layers: list  # L + 1 tensors (B, T, 2P)
    mask: torch.Tensor  # (B, T) bool
    state: State


def _plain(obj):
    """A (possibly OmegaConf) nested mapping/sequence as plain dicts/lists."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return [_plain(v) for v in obj]
    return obj


def _require(options: dict, section: str, *keys: str) -> None:
    missing = [k for k in keys if k not in options]
    if missing:
        raise ConfigError(f"options {section!r} is missing {', '.join(missing)}")


class BiLM(nn.Module):
    """ELMo biLM encoder; see the module docstring for the two APIs."""

    def __init__(self, char_cnn: dict, lstm: dict, dropout: float = 0.0):
        super().__init__()
        char_cnn, lstm = _plain(char_cnn), _plain(lstm)
        _require(char_cnn, "char_cnn", "embedding", "filters", "n_highway")
        _require(lstm, "lstm", "dim", "projection_dim", "n_layers")
        self._options = {"char_cnn": char_cnn, "lstm": lstm}
        # bilm-tf keep_prob = 1 - dropout (bilm-tf bilm/training.py LanguageModel, train)
        self.dropout = float(dropout)
        P = int(lstm["projection_dim"])
        self.projection_dim = P
        self.n_layers = int(lstm["n_layers"])
        # C: always read from the options (bilm-tf bilm/model.py reads max_characters_per_token from options);
        # 50 is bilm-tf's default (§5)
        self.max_chars = int(char_cnn.get("max_characters_per_token", 50))
        cnn_keys = ("activation", "embedding", "filters", "n_highway", "max_characters_per_token",
                    "n_characters")
        self.token_encoder = CharCNN(P, **{k: char_cnn[k] for k in cnn_keys if k in char_cnn})
        self.lstm = LstmStack(
            input_dim=P, hidden_dim=int(lstm["dim"]), proj_dim=P, n_layers=self.n_layers,
            cell_clip=lstm.get("cell_clip"), proj_clip=lstm.get("proj_clip"),
            use_skip_connections=bool(lstm.get("use_skip_connections", False)),
            # RNN_0 forward, RNN_1 backward (bilm-tf bilm/training.py dump_weights)
            dropout=self.dropout, n_dirs=2,
        )
        self.register_buffer("bos_ids", torch.tensor(bos_char_ids(self.max_chars)), persistent=False)
        self.register_buffer("eos_ids", torch.tensor(eos_char_ids(self.max_chars)), persistent=False)

    @property
    def options(self) -> dict:
        """The bilm-tf options dict (char_cnn, lstm, dropout): export dumps it as options.json."""
        return {**copy.deepcopy(self._options), "dropout": self.dropout}

    # -- token layer -------------------------------------------------------------------------
    def _encode_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """(N, C) char-id rows -> (N, P); each distinct spelling goes through the CNN once."""
        if rows.shape[0] == 0:
            return self.token_encoder(rows)
        unique, inverse = torch.unique(rows, dim=0, return_inverse=True)
        return self.token_encoder(unique)[inverse]

    @staticmethod
    def _scatter(rows: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N, P) rows -> (*mask.shape, P), zeros where mask is False (dtype of rows: autocast-safe)."""
        out = rows.new_zeros(*mask.shape, rows.shape[-1])
        out[mask] = rows
        return out

    # -- state bookkeeping (per batch row, bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj)) ---
    def zero_state(self, batch_size: int) -> State:
        w = self.token_encoder.char_embed.weight
        return self.lstm.zero_state(batch_size, w.device, w.dtype)

    def _initial_state(self, state: State | None, batch_size: int) -> State:
        """The first ``batch_size`` rows of ``state``; rows it lacks start from zeros."""
        if state is None:
            return self.zero_state(batch_size)
        c, h = state
        want_c = (2, self.n_layers, self.lstm.hidden_dim)
        want_h = (2, self.n_layers, self.projection_dim)
        if c.dim() != 4 or h.dim() != 4 or (c.shape[0], c.shape[1], c.shape[3]) != want_c \
                or (h.shape[0], h.shape[1], h.shape[3]) != want_h or c.shape[2] != h.shape[2]:
            raise ValueError(f"state shapes {tuple(c.shape)}, {tuple(h.shape)} do not fit this encoder "
                             f"(expected (2, L, B, H) = (2, {want_c[1]}, B, {want_c[2]}) and (2, L, B, P))")
        have = c.shape[2]
        if have >= batch_size:
            return c[:, :, :batch_size], h[:, :, :batch_size]
        zc, zh = self.zero_state(batch_size - have)
        return torch.cat([c, zc.to(c)], dim=2), torch.cat([h, zh.to(h)], dim=2)

    @staticmethod
    def _merge_state(old: State | None, new: State) -> State:
        """``new`` for the batch's rows, ``old`` unchanged for the rows beyond the batch."""
        if old is None or old[0].shape[2] <= new[0].shape[2]:
            return new
        B = new[0].shape[2]
        return tuple(torch.cat([n, o[:, :, B:]], dim=2) for n, o in zip(new, old))

    # -- inference ---------------------------------------------------------------------------
    def forward(self, char_ids: torch.Tensor, state: State | None = None) -> BiLMOutput:
        if char_ids.dim() != 3 or char_ids.shape[-1] != self.max_chars:
            raise ValueError(f"char_ids must be (batch, tokens, {self.max_chars}), "
                             f"got {tuple(char_ids.shape)}")
        B, T, C = char_ids.shape
        device = char_ids.device
        if char_ids.numel() and not 0 <= int(char_ids.min()) <= int(char_ids.max()) <= N_CHARACTERS - 1:
            raise ValueError("char ids must lie in 0..261 (inference ids are raw ids + 1, bilm-tf "
                             "bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py "
                             "ELMoCharacterMapper)")
        # a position is a token iff any id > 0 (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
        # elmo_indexer.py ELMoCharacterMapper)
        mask = (char_ids > 0).any(-1)
        lengths = mask.sum(1)
        positions = torch.arange(T + 2, device=device)
        if not torch.equal(mask, positions[None, :T] < lengths[:, None]):
            raise ValueError("char_ids: padding rows (all zeros) must come after each sentence's tokens")

        # Insert BOS at 0 and EOS after the last token (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
        # elmo_indexer.py ELMoCharacterMapper): (B, T + 2, C).
        ids = char_ids.new_zeros(B, T + 2, C)
        ids[:, 0] = self.bos_ids
        ids[:, 1 : T + 1] = char_ids
        ids[torch.arange(B, device=device), lengths + 1] = self.eos_ids.to(ids.dtype)
        full_len = lengths + 2
        full_mask = positions[None, :] < full_len[:, None]  # (B, T + 2)
        z = self._scatter(self._encode_rows(ids[full_mask]), full_mask)  # (B, T + 2, P)

        # Backward input: each row's valid part reversed, padding left in place (AllenNLP _EncoderBase,
        # reversed valid part).
        rev = torch.where(full_mask, full_len[:, None] - 1 - positions[None, :], positions[None, :])
        rev = rev.unsqueeze(-1).expand(-1, -1, self.projection_dim)
        x = torch.stack([z, z.gather(1, rev)])  # (2, B, T + 2, P)

        outputs, new_state = self.lstm(x, self._initial_state(state, B), full_len)

        keep = mask.unsqueeze(-1).to(z.dtype)  # drop BOS (position 0) and EOS/padding past the tokens

        def strip(a: torch.Tensor) -> torch.Tensor:
            return a[:, 1 : T + 1] * keep

        # layer 0 = [z, z] (AllenNLP allennlp/modules/elmo.py _ElmoBiLm)
        layers = [strip(torch.cat([z, z], dim=-1))]
        for out in outputs:
            layers.append(strip(torch.cat([out[0], out[1].gather(1, rev)], dim=-1)))
        return BiLMOutput(layers, mask, self._merge_state(state, new_state))

    # -- training ----------------------------------------------------------------------------
    def lm_forward(self, fwd_chars: torch.Tensor, bwd_chars: torch.Tensor, state: State | None = None):
        """(B, U, C) forward and (already reversed) backward char ids -> (fwd_out (B, U, P),
        bwd_out (B, U, P), new_state). No padding, no BOS/EOS insertion (bilm-tf bilm/training.py
        LanguageModel, train)."""
        C = self.max_chars
        if fwd_chars.shape != bwd_chars.shape or fwd_chars.dim() != 3 or fwd_chars.shape[-1] != C:
            raise ValueError(f"fwd_chars and bwd_chars must both be (batch, steps, {self.max_chars}), "
                             f"got {tuple(fwd_chars.shape)} and {tuple(bwd_chars.shape)}")
        B, U, _ = fwd_chars.shape
        rows = torch.cat([fwd_chars, bwd_chars]).reshape(-1, C)
        z = self._encode_rows(rows).view(2, B, U, self.projection_dim)  # (2, B, U, P)
        outputs, new_state = self.lstm(z, self._initial_state(state, B), None)
        top = outputs[-1]
        if self.training and self.dropout > 0:
            # bilm-tf: dropout on the top output, before the softmax
            # (bilm-tf bilm/training.py LanguageModel, train)
            top = F.dropout(top, self.dropout, training=True)
        return top[0], top[1], self._merge_state(state, new_state)
