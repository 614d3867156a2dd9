"""A slow, literal numpy re-derivation of the ELMo biLM from bilm-tf bilm/data.py UnicodeCharsVocabulary;
AllenNLP elmo_indexer.py ELMoCharacterMapper, for tests only.

It works directly on the bilm-tf HDF5 arrays (x·W orientation, gate order i, j, f, o, implicit +1
forget bias), one sentence at a time (no batching, no padding, no packing), in float64, and keeps
the LSTM state per row index exactly as the spec's "Statefulness" paragraph says. Nothing here is
shared with melmo.model, so it checks the layout conversions, the packing/reversal and the state
bookkeeping independently; the upstream fixtures check it in turn (top and token layers).
"""

from __future__ import annotations

import numpy as np


def char_row(word: str, C: int) -> list[int]:
    """bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py ELMoCharacterMapper: +1-shifted
    ids of one token."""
    if word == "<S>":
        raw = [258, 256, 259]
    elif word == "</S>":
        raw = [258, 257, 259]
    else:
        raw = [258, *word.encode("utf-8", "ignore")[: C - 2], 259]
    raw += [260] * (C - len(raw))
    return [r + 1 for r in raw]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def token_layer(a: dict, options: dict, words: list[str]) -> np.ndarray:
    """(len(words), P) context-independent representations (bilm-tf bilm/training.py
    _build_word_char_embeddings)."""
    cnn = options["char_cnn"]
    C = cnn["max_characters_per_token"]
    table = np.vstack([np.zeros((1, a["char_embed"].shape[1])), a["char_embed"]])  # zero row for id 0
    x = table[np.array([char_row(w, C) for w in words])]  # (N, C, d_c)
    feats = []
    for i, (w, n) in enumerate(cnn["filters"]):
        K = a[f"CNN/W_cnn_{i}"][0]  # (w, d_c, n)
        conv = sum(x[:, k : C - w + 1 + k] @ K[k] for k in range(w)) + a[f"CNN/b_cnn_{i}"]  # (N, C-w+1, n)
        pooled = conv.max(axis=1)
        feats.append(np.maximum(pooled, 0) if cnn["activation"] == "relu" else np.tanh(pooled))
    y = np.concatenate(feats, axis=1)
    for k in range(cnn["n_highway"]):
        g = sigmoid(y @ a[f"CNN_high_{k}/W_carry"] + a[f"CNN_high_{k}/b_carry"])
        t = np.maximum(y @ a[f"CNN_high_{k}/W_transform"] + a[f"CNN_high_{k}/b_transform"], 0)
        y = g * t + (1 - g) * y
    if "CNN_proj/W_proj" in a:
        y = y @ a["CNN_proj/W_proj"] + a["CNN_proj/b_proj"]
    return y


def cell(a: dict, options: dict, d: int, l: int, x, c, h):
    """One TF1 LSTMCell step (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj))."""
    pre = f"RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/"
    z = np.concatenate([x, h]) @ a[pre + "W_0"] + a[pre + "B"]
    i, j, f, o = np.split(z, 4)
    c = sigmoid(f + 1.0) * c + sigmoid(i) * np.tanh(j)
    if options["lstm"].get("cell_clip"):
        c = np.clip(c, -options["lstm"]["cell_clip"], options["lstm"]["cell_clip"])
    m = sigmoid(o) * np.tanh(c)
    if pre + "W_P_0" in a:
        m = m @ a[pre + "W_P_0"]
        if options["lstm"].get("proj_clip"):
            m = np.clip(m, -options["lstm"]["proj_clip"], options["lstm"]["proj_clip"])
    return m, c


class ReferenceBiLM:
    """Per-row stateful reference: ``run(batch)`` -> per sentence a list of L+1 (n, 2P) arrays."""

    def __init__(self, arrays: dict, options: dict):
        self.a = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        self.options = options
        self.L = options["lstm"]["n_layers"]
        self.H = options["lstm"]["dim"]
        self.P = options["lstm"]["projection_dim"]
        self.state: dict[int, dict] = {}  # row -> {(d, l): (c, h)}

    def row_state(self, row: int) -> dict:
        if row not in self.state:
            self.state[row] = {(d, l): (np.zeros(self.H), np.zeros(self.P))
                               for d in range(2) for l in range(self.L)}
        return self.state[row]

    def direction(self, d: int, z: np.ndarray, st: dict) -> list[np.ndarray]:
        """Run stack d over z (n, P) left to right; returns each layer's outputs (n, P)."""
        outs, x = [], z
        for l in range(self.L):
            c, h = st[(d, l)]
            ys = []
            for t in range(len(x)):
                h, c = cell(self.a, self.options, d, l, x[t], c, h)
                ys.append(h + x[t] if l > 0 and self.options["lstm"].get("use_skip_connections") else h)
            st[(d, l)] = (c, h)
            x = np.stack(ys)
            outs.append(x)
        return outs

    def run(self, batch: list[list[str]]) -> list[list[np.ndarray]]:
        result = []
        for row, words in enumerate(batch):
            st = self.row_state(row)
            z = token_layer(self.a, self.options, ["<S>", *words, "</S>"])
            fwd = self.direction(0, z, st)
            bwd = [o[::-1] for o in self.direction(1, z[::-1], st)]
            layers = [np.concatenate([z, z], 1)] + [np.concatenate([f, b], 1) for f, b in zip(fwd, bwd)]
            result.append([layer[1:-1] for layer in layers])
        return result
