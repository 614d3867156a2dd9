"""ESIM (Chen et al. 2017, "Enhanced LSTM for Natural Language Inference") over precomputed token features.

As AllenNLP's allennlp_models/pair_classification/models/esim.py, with the paper's tanh MLP:

    a, b = BiLSTM(dropout(premise)), BiLSTM(dropout(hypothesis))       shared encoder, (B, T, 2h)
    e_ij = a_i . b_j;  ã_i = sum_j softmax_j(e_ij) b_j;  b̃_j = sum_i softmax_i(e_ij) a_i    (masked)
    m_a = [a; ã; a - ã; a * ã]  (8h)  -> Linear(8h, h) + ReLU -> dropout -> composition BiLSTM (2h)
    v = [avg(v_a); max(v_a); avg(v_b); max(v_b)]  (8h, masked pooling)
    logits = Linear(h, n_classes)(dropout(tanh(Linear(8h, h)(dropout(v)))))

LSTMs run on packed sequences, so padding never changes a sentence's output. Every sentence needs
at least one real token. Init as AllenNLP's ESIM config: Xavier-uniform for linear and LSTM input
weights, orthogonal recurrent weights, zero biases, LSTM forget-gate bias 1.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def _run_lstm(lstm: nn.LSTM, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    lengths = mask.sum(1).cpu()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim restricted to ``mask`` (broadcast over the other dims)."""
    return torch.softmax(scores.masked_fill(~mask, torch.finfo(scores.dtype).min), -1)


class ESIM(nn.Module):
    """``forward(premise (B, Tp, n_in), premise_mask (B, Tp), hypothesis (B, Th, n_in),
    hypothesis_mask (B, Th)) -> logits (B, n_classes)``; masks are bool, True on real tokens."""

    def __init__(self, n_in: int, hidden: int = 300, dropout: float = 0.5, n_classes: int = 3):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.encoder = nn.LSTM(n_in, hidden, batch_first=True, bidirectional=True)
        self.projection = nn.Linear(8 * hidden, hidden)
        self.composition = nn.LSTM(hidden, hidden, batch_first=True, bidirectional=True)
        self.hidden = nn.Linear(8 * hidden, hidden)
        self.output = nn.Linear(hidden, n_classes)
        self._init()

    def _init(self) -> None:
        for lstm in (self.encoder, self.composition):
            for name, p in lstm.named_parameters():
                if "weight_ih" in name:
                    nn.init.xavier_uniform_(p)
                elif "weight_hh" in name:
                    nn.init.orthogonal_(p)
                else:  # biases: zero, forget gate (second quarter, PyTorch's i, f, g, o order) at 1
                    nn.init.zeros_(p)
                    n = p.shape[0] // 4
                    p.data[n: 2 * n] = 1.0 if "bias_ih" in name else 0.0
        for lin in (self.projection, self.hidden, self.output):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, premise: torch.Tensor, premise_mask: torch.Tensor, hypothesis: torch.Tensor,
                hypothesis_mask: torch.Tensor) -> torch.Tensor:
        pm, hm = premise_mask.bool(), hypothesis_mask.bool()
        if not (pm.any(1).all() and hm.any(1).all()):
            raise ValueError("every premise and hypothesis needs at least one token")
        a = _run_lstm(self.encoder, self.dropout(premise), pm)  # (B, Tp, 2h)
        b = _run_lstm(self.encoder, self.dropout(hypothesis), hm)  # (B, Th, 2h)
        e = torch.bmm(a, b.transpose(1, 2))  # (B, Tp, Th)
        a_tilde = torch.bmm(_masked_softmax(e, hm[:, None, :]), b)  # (B, Tp, 2h)
        b_tilde = torch.bmm(_masked_softmax(e.transpose(1, 2), pm[:, None, :]), a)  # (B, Th, 2h)
        va = self._compose(a, a_tilde, pm)
        vb = self._compose(b, b_tilde, hm)
        v = torch.cat((self._pool(va, pm), self._pool(vb, hm)), -1)  # (B, 8h)
        return self.output(self.dropout(torch.tanh(self.hidden(self.dropout(v)))))

    def _compose(self, x: torch.Tensor, x_tilde: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = torch.cat((x, x_tilde, x - x_tilde, x * x_tilde), -1)  # (B, T, 8h)
        return _run_lstm(self.composition, self.dropout(torch.relu(self.projection(m))), mask)

    @staticmethod
    def _pool(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked average and max over time: ``(B, T, 2h)`` -> ``(B, 4h)``."""
        m = mask[..., None]
        avg = (v * m).sum(1) / m.sum(1).to(v.dtype)
        mx = v.masked_fill(~m, torch.finfo(v.dtype).min).max(1).values
        return torch.cat((avg, mx), -1)
