"""Biaffine dependency parser head (Dozat & Manning 2017) over precomputed word features.

Input: features ``x`` ``(B, T, n_in)`` (e.g. the scalar mix of a frozen encoder, one vector per
syntactic word) and ``mask`` ``(B, T)`` bool (True on real words). A learned ROOT vector is
prepended as position 0, so heads are indexed ``0..T`` with 0 = ROOT and word ``k`` at position ``k``.

    x -> dropout -> BiLSTM -> dropout -> arc MLP (dep), arc MLP (head), label MLP (dep), label MLP (head)
    (``n_lstm_layers=0``: no BiLSTM, the MLPs read the dropped-out features; the encoder is contextual)
    s_arc = Biaffine(n_arc_mlp, 1, bias_x=True, bias_y=False)   (B, T, T + 1)   [dependent, head]
    s_rel = Biaffine(n_rel_mlp, n_rels, True, True)             (B, T, T + 1, n_rels)
    (training and decoding need s_rel at one head per word only: ``encode`` + ``rel_at``, (B, T, n_rels))

Padding heads and self-loops score -inf in ``s_arc``. ``loss`` is cross-entropy over heads plus
cross-entropy over relations at the gold head (relations equal to ``ignore_index``, e.g. unseen in
training, are left out of the relation term); ``decode`` gives well-formed single-root trees.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from melmo.errors import ConfigError
from melmo.tasks.parsing.biaffine import Biaffine
from melmo.tasks.parsing.eisner import decode_eisner
from melmo.tasks.parsing.mlp import MLP, SharedDropout
from melmo.tasks.parsing.mst import decode_mst

IGNORE_INDEX = -100


class BiaffineParser(nn.Module):
    """Constructor arguments are the hyperparameters of conf/task/parsing.yaml (``n_in`` and
    ``n_rels`` come from the encoder and the training treebank)."""

    def __init__(
        self,
        n_in: int,
        n_rels: int,
        n_lstm_hidden: int = 400,
        n_lstm_layers: int = 3,
        input_dropout: float = 0.33,
        lstm_dropout: float = 0.33,
        n_arc_mlp: int = 500,
        n_rel_mlp: int = 100,
        mlp_dropout: float = 0.33,
    ):
        super().__init__()
        self.n_rels = n_rels
        self.root = nn.Parameter(torch.randn(n_in) / n_in**0.5)
        self.input_dropout = SharedDropout(input_dropout)
        if n_lstm_layers < 0:
            raise ConfigError(f"n_lstm_layers={n_lstm_layers}: use 0 (no BiLSTM) or more")
        self.lstm = nn.LSTM(
            n_in, n_lstm_hidden, num_layers=n_lstm_layers, batch_first=True, bidirectional=True,
            dropout=lstm_dropout if n_lstm_layers > 1 else 0.0,
        ) if n_lstm_layers else None
        self.lstm_dropout = SharedDropout(lstm_dropout)
        h = 2 * n_lstm_hidden if n_lstm_layers else n_in
        self.arc_mlp_d = MLP(h, n_arc_mlp, mlp_dropout)
        self.arc_mlp_h = MLP(h, n_arc_mlp, mlp_dropout)
        self.rel_mlp_d = MLP(h, n_rel_mlp, mlp_dropout)
        self.rel_mlp_h = MLP(h, n_rel_mlp, mlp_dropout)
        self.arc_attn = Biaffine(n_arc_mlp, 1, bias_x=True, bias_y=False)
        self.rel_attn = Biaffine(n_rel_mlp, n_rels, bias_x=True, bias_y=True)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x`` ``(B, T, n_in)``, ``mask`` ``(B, T)`` -> ``s_arc`` ``(B, T, T + 1)`` (row ``i`` is word
        ``i + 1``, column ``j`` its head ``j``), and the relation MLPs' outputs ``rel_d``
        ``(B, T, n_rel_mlp)`` (dependents) and ``rel_h`` ``(B, T + 1, n_rel_mlp)`` (heads, ROOT first), which
        ``rel_attn`` turns into relation scores at every head (``forward``) or at one chosen head per word
        (``rel_at``)."""
        b, t, _ = x.shape
        mask = mask.bool()
        x = torch.cat((self.root.to(x.dtype).expand(b, 1, -1), x), 1)
        full = torch.cat((mask.new_ones(b, 1), mask), 1)  # (B, T + 1), ROOT always present
        if self.lstm is None:
            out = self.input_dropout(x)
        else:
            lengths = full.sum(1).cpu()
            packed = pack_padded_sequence(self.input_dropout(x), lengths, batch_first=True,
                                          enforce_sorted=False)
            out, _ = self.lstm(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t + 1)
            out = self.lstm_dropout(out)
        dep, head = out[:, 1:], out
        s_arc = self.arc_attn(self.arc_mlp_d(dep), self.arc_mlp_h(head))
        pos = torch.arange(t + 1, device=x.device)
        self_loop = pos[None, :] == pos[1:, None]  # (T, T + 1): word i + 1 heading itself
        bad = ~full[:, None, :] | self_loop[None]
        s_arc = s_arc.masked_fill(bad, float("-inf"))
        return s_arc, self.rel_mlp_d(dep), self.rel_mlp_h(head)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, T, n_in)``, ``mask`` ``(B, T)`` -> ``s_arc`` ``(B, T, T + 1)``,
        ``s_rel`` ``(B, T, T + 1, n_rels)``: relation scores at every possible head."""
        s_arc, rel_d, rel_h = self.encode(x, mask)
        return s_arc, self.rel_attn(rel_d, rel_h)

    def rel_at(self, rel_d: torch.Tensor, rel_h: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        """Relation scores of each word at one head only, ``heads`` ``(B, T)`` in ``0..T`` (padding: any
        value; negative reads ROOT) -> ``(B, T, n_rels)`` = ``forward``'s ``s_rel`` gathered at ``heads``,
        without the ``T + 1`` heads' worth of scores (the cost of training and decoding relations)."""
        at = heads.clamp(min=0).unsqueeze(-1).expand(-1, -1, rel_h.shape[-1])
        return self.rel_attn.pairs(rel_d, rel_h.gather(1, at))

    @staticmethod
    def loss(s_arc: torch.Tensor, s_rel: torch.Tensor, heads: torch.Tensor, rels: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the gold heads of real words plus mean cross-entropy over
        relations at the gold head. ``s_rel`` ``(B, T, T + 1, n_rels)`` at every head, or ``(B, T, n_rels)``
        already at the gold heads (``rel_at``); ``heads``, ``rels`` ``(B, T)`` long; ``mask`` ``(B, T)``."""
        mask = mask.bool()
        gold = heads[mask]
        arc_loss = F.cross_entropy(s_arc[mask], gold)
        if s_rel.dim() == 3:
            rel_scores = s_rel[mask]  # (N, n_rels)
        else:
            rel_scores = s_rel[mask][torch.arange(len(gold), device=gold.device), gold]  # (N, n_rels)
        target = rels[mask]
        if (target == IGNORE_INDEX).all():
            return arc_loss
        return arc_loss + F.cross_entropy(rel_scores, target, ignore_index=IGNORE_INDEX)

    @staticmethod
    @torch.no_grad()
    def decode(s_arc: torch.Tensor, s_rel: torch.Tensor, mask: torch.Tensor,
               projective: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Trees with one ROOT child (Chu-Liu-Edmonds, or Eisner if ``projective``) and the best
        relation at each predicted head: ``heads``, ``rels`` ``(B, T)`` long, 0 on padding."""
        heads = BiaffineParser.decode_heads(s_arc, mask, projective)
        rels = s_rel.argmax(-1).gather(2, heads.unsqueeze(-1)).squeeze(-1)
        return heads, rels.masked_fill(~mask.bool(), 0)

    @staticmethod
    @torch.no_grad()
    def decode_heads(s_arc: torch.Tensor, mask: torch.Tensor, projective: bool = False) -> torch.Tensor:
        """The best trees with one ROOT child: heads ``(B, T)`` long, 0 on padding."""
        lengths = mask.bool().sum(1).cpu().numpy()
        decode = decode_eisner if projective else decode_mst
        return torch.from_numpy(np.asarray(decode(s_arc.float(), lengths))).to(s_arc.device)
