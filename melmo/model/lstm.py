"""ELMo's LSTM with projection (TensorFlow 1 ``LSTMCell(num_proj=P)`` semantics, bilm-tf bilm/model.py
_build_lstms; TF1 LSTMCell(num_proj)).

Per step, input x (n_in) and state (c (H), h (P)):

    i, j, f, o = split([x, h]·W_0 + B)                     # bilm-tf/HDF5 gate order
    c' = clip(sigmoid(f + 1) * c + sigmoid(i) * tanh(j))   # +1 forget bias added at run time
    h' = clip((sigmoid(o) * tanh(c'))·W_P)                 # projection without bias
    output = h'; state = (c', h')

Everything here runs D independent stacks *in lockstep* (D = 2: the forward and the backward LM),
with batched matmuls, so one Python time step serves both directions.

Speed: the input contribution x·W_x + B for all time steps is one matmul before the time loop; a
step does only h·W_h, the gate non-linearities and the projection; sequences are packed (sorted by
length, time-major, padding dropped), so rows that have ended are not computed. Matmuls are
``bmm(...).add_(...)`` rather than ``baddbmm``: on CPU (torch 2.13) baddbmm was 1.4-5x slower at
these shapes, and on a busy 2-core machine its threading made tiny steps ~100x slower.

Run-time parameter layout (io.py converts to/from the HDF5 exactly -- transpose, split, permute):
* ``w_x`` (D, n_in, 4H) and ``w_h`` (D, P, 4H): W_0's input rows and recurrent rows, x·W
  orientation, gate blocks reordered to (i, f, o, j) so that one sigmoid covers the first 3H
  columns and one tanh the last H;
* ``bias`` (D, 4H): B in the same order, **without** the +1 forget bias (it is added once per
  call, not folded in, so that a load -> save round trip is bit-identical: (b + 1) - 1 != b);
* ``w_p`` (D, H, P): W_P_0, absent when H == P (bilm-tf then builds no projection, bilm-tf bilm/model.py
  _build_lstms; TF1 LSTMCell(num_proj)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from melmo.errors import ConfigError

# TF LSTMCell forget_bias, added at run time and not stored (bilm-tf bilm/model.py _build_lstms; TF1
# LSTMCell(num_proj); TF1 LSTMCell forget_bias)
FORGET_BIAS = 1.0
# Gate blocks: HDF5/TF order is (i, j, f, o) (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj));
# run-time order is (i, f, o, j).
TF_TO_RUNTIME = (0, 2, 3, 1)  # run-time block k = TF block TF_TO_RUNTIME[k]
RUNTIME_TO_TF = (0, 3, 1, 2)  # TF block k = run-time block RUNTIME_TO_TF[k]


def permute_gates(w: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    """Reorder the four H-wide gate blocks of the last axis of ``w`` (exact: a copy)."""
    blocks = w.chunk(4, dim=-1)
    return torch.cat([blocks[k] for k in order], dim=-1)


def _clip(x: torch.Tensor, limit: float | None) -> torch.Tensor:
    return x.clamp(-limit, limit) if limit else x  # falsy clip = none (bilm-tf bin/train_elmo.py options)


class LstmLayer(nn.Module):
    """D independent LSTM-with-projection layers run in lockstep, over packed sequences (see
    ``forward``): a row that has ended is no longer computed, so its state stays as after its last
    step and padding costs nothing."""

    def __init__(self, input_dim: int, hidden_dim: int, proj_dim: int, cell_clip: float | None = None,
                 proj_clip: float | None = None, n_dirs: int = 2):
        super().__init__()
        if proj_dim > hidden_dim:
            raise ConfigError(f"lstm.projection_dim ({proj_dim}) larger than lstm.dim ({hidden_dim}) "
                             f"is not supported")
        D, H, P = n_dirs, hidden_dim, proj_dim
        self.input_dim, self.hidden_dim, self.proj_dim, self.n_dirs = input_dim, H, P, D
        self.cell_clip, self.proj_clip = cell_clip, proj_clip
        self.w_x = nn.Parameter(torch.empty(D, input_dim, 4 * H))
        self.w_h = nn.Parameter(torch.empty(D, P, 4 * H))
        self.bias = nn.Parameter(torch.empty(D, 4 * H))
        # bilm-tf builds LSTMCell(num_proj=P) only when P < H (bilm-tf bilm/model.py _build_lstms; TF1
        # LSTMCell(num_proj); bilm-tf#79)
        self.w_p = nn.Parameter(torch.empty(D, H, P)) if P != H else None
        self.register_buffer("forget_bias", self._forget_bias_row(H), persistent=False)
        self.reset_parameters()

    @staticmethod
    def _forget_bias_row(H: int) -> torch.Tensor:
        row = torch.zeros(4 * H)
        row[H : 2 * H] = FORGET_BIAS  # the f block in run-time order (i, f, o, j)
        return row

    def reset_parameters(self) -> None:
        # TF1 LSTMCell defaults as bilm-tf builds it (no initializer given): glorot_uniform kernels
        # over W_0 (n_in + P, 4H) and W_P_0 (H, P), zero bias (bilm-tf training.py).
        H, P, n_in = self.hidden_dim, self.proj_dim, self.input_dim
        limit = math.sqrt(6.0 / (n_in + P + 4 * H))
        with torch.no_grad():
            nn.init.uniform_(self.w_x, -limit, limit)
            nn.init.uniform_(self.w_h, -limit, limit)
            nn.init.zeros_(self.bias)
            if self.w_p is not None:
                limit = math.sqrt(6.0 / (H + P))
                nn.init.uniform_(self.w_p, -limit, limit)

    def forward(self, x: torch.Tensor, c0: torch.Tensor, h0: torch.Tensor, batch_sizes: list[int]):
        """x (D, N, n_in) packed time-major: step t holds the first batch_sizes[t] rows (rows sorted
        by length, longest first; batch_sizes non-increasing, sum N). c0 (D, B, H), h0 (D, B, P).
        -> outputs (D, N, P) packed alike, final (c (D, B, H), h (D, B, P)): each row's state after
        its last step (rows past their end are not computed at all)."""
        D, N, n_in = x.shape
        H = self.hidden_dim
        # Input contribution of every step at once: (D, N, n_in) @ (D, n_in, 4H) + (B + forget bias).
        # (bmm then add_, not baddbmm: measured several times faster on CPU, see module docstring)
        xw = torch.bmm(x, self.w_x).add_((self.bias + self.forget_bias).unsqueeze(1))
        c, h = c0, h0
        done_c, done_h = [], []  # states of rows that have ended, last rows first
        outputs = []
        # split, not slices: one backward op instead of a full-size zero gradient per step
        for n, xw_t in zip(batch_sizes, xw.split(batch_sizes, dim=1)):
            if n < c.shape[1]:  # rows n.. have ended: keep their state, compute only the others
                done_c.append(c[:, n:])
                done_h.append(h[:, n:])
                c, h = c[:, :n], h[:, :n]
            ifo, j = torch.bmm(h, self.w_h).add_(xw_t).split([3 * H, H], dim=-1)  # (D, n, 3H), (D, n, H)
            i, f, o = torch.sigmoid(ifo).chunk(3, dim=-1)
            j = torch.tanh(j)
            c = _clip(torch.addcmul(f * c, i, j), self.cell_clip)
            m = o * torch.tanh(c)
            h = _clip(torch.bmm(m, self.w_p), self.proj_clip) if self.w_p is not None else m
            outputs.append(h)
        out = torch.cat(outputs, dim=1) if outputs else x.new_zeros(D, 0, self.proj_dim)
        c_final = torch.cat([c, *reversed(done_c)], dim=1)
        h_final = torch.cat([h, *reversed(done_h)], dim=1)
        return out, (c_final, h_final)


class LstmStack(nn.Module):
    """``n_layers`` LstmLayers; D directions in lockstep, each its own independent stack.

    forward(x (D, B, T, n_in), state=None | (c (D, L, B, H), h (D, L, B, P)), lengths (B,) or None)
      -> (list of L outputs (D, B, T, P), zeros past each row's end; (c, h) final states, same layout)

    * lengths: row b is valid at steps t < lengths[b]; its final state is the state after its
      last valid step. None: every step of every row is valid.
    * Residual (``use_skip_connections``): layers l > 0 output cell output + layer input; the
      recurrent state never includes it; layer 0 never gets one (bilm-tf bilm/model.py _build_lstms; TF1
      LSTMCell(num_proj); bilm-tf bilm/model.py use_skip_connections).
    * Dropout (training mode only, bilm-tf ``DropoutWrapper(input_keep_prob)``, bilm-tf bilm/training.py
      LanguageModel, train): on the input of every layer including layer 0, a fresh mask per element and
      step; the residual adds the *dropped* input.

    Internally the batch is packed like a PackedSequence: rows sorted by length (longest first),
    time-major, only valid steps -- (D, N, ·) with N = sum of lengths.
    """

    def __init__(self, input_dim: int, hidden_dim: int, proj_dim: int, n_layers: int,
                 cell_clip: float | None = None, proj_clip: float | None = None,
                 use_skip_connections: bool = False, dropout: float = 0.0, n_dirs: int = 2):
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"lstm.n_layers must be at least 1, got {n_layers}")
        if use_skip_connections and input_dim != proj_dim:
            raise ConfigError(f"residual connections need input size {input_dim} == projection_dim "
                              f"{proj_dim}")
        self.hidden_dim, self.proj_dim, self.n_layers, self.n_dirs = hidden_dim, proj_dim, n_layers, n_dirs
        self.use_skip_connections = bool(use_skip_connections)
        self.dropout = float(dropout)
        self.layers = nn.ModuleList(
            LstmLayer(input_dim if l == 0 else proj_dim, hidden_dim, proj_dim, cell_clip, proj_clip, n_dirs)
            for l in range(n_layers)
        )

    def zero_state(self, batch_size: int, device=None, dtype=None) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.n_dirs, self.n_layers, batch_size)
        return (torch.zeros(*shape, self.hidden_dim, device=device, dtype=dtype),
                torch.zeros(*shape, self.proj_dim, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor, state=None, lengths: torch.Tensor | None = None):
        D, B, T, _ = x.shape
        if state is None:
            state = self.zero_state(B, x.device, x.dtype)
        c0, h0 = state
        if lengths is None:  # every row full: packed = plain time-major
            order = None
            batch_sizes = [B] * T
            packed = x.transpose(1, 2).reshape(D, T * B, -1)
        else:
            order = torch.argsort(lengths, descending=True, stable=True)
            sorted_lengths = lengths[order]
            valid = torch.arange(T, device=x.device)[:, None] < sorted_lengths[None, :]  # (T, B), time-major
            batch_sizes = valid.sum(1).tolist()
            packed = x[:, order].transpose(1, 2)[:, valid]  # (D, N, n_in)
            c0, h0 = c0[:, :, order], h0[:, :, order]

        layer_in = packed
        outputs, cs, hs = [], [], []
        for l, layer in enumerate(self.layers):
            if self.training and self.dropout > 0:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
            out, (c, h) = layer(layer_in, c0[:, l], h0[:, l], batch_sizes)
            if l > 0 and self.use_skip_connections:
                out = out + layer_in
            outputs.append(out)
            cs.append(c)
            hs.append(h)
            layer_in = out
        c, h = torch.stack(cs, dim=1), torch.stack(hs, dim=1)

        if order is None:
            return [o.view(D, T, B, -1).transpose(1, 2) for o in outputs], (c, h)
        unsort = torch.argsort(order)
        unpacked = []
        for o in outputs:
            full = o.new_zeros(D, T, B, o.shape[-1])
            full[:, valid] = o
            unpacked.append(full.transpose(1, 2)[:, unsort])
        return unpacked, (c[:, :, unsort], h[:, :, unsort])
