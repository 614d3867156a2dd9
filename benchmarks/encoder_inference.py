"""Inference throughput of melmo's BiLM against a straightforward per-timestep implementation.

    python benchmarks/encoder_inference.py [--model elmo_small] [--batch 32] [--batches 8] [--repeats 3]

The baseline runs the *same weights* the way AllenNLP's ``_ElmoBiLm`` does: the char CNN over every
position of the padded (B, T + 2) batch, and per direction, per layer, per time step an LSTM cell
that computes its input linear map *inside* the loop (x_t·W_x + h·W_h, four separate gate
activations). melmo's encoder computes each distinct token spelling once, does x·W_x for all steps in
one matmul and runs both directions in lockstep with batched matmuls.

Prints tokens/s of both, the speed ratio and the max |difference| of all output layers, for the
whole encoder and for the contextual (LSTM) part alone. Real English sentences from the shipped
sample (data/sample/text/en.txt.xz), whitespace-tokenised, batches of sentences of 20-30 tokens.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from melmo.formats.files import open_text
from melmo.model.chars import batch_to_ids
from melmo.model.encoder import BiLM

ROOT = Path(__file__).resolve().parents[1]


# -- the baseline: AllenNLP-style, one step at a time ------------------------------------------------
def naive_cell_loop(layer, d: int, x, c, h, lengths):
    """One direction of one LstmLayer, per step: input linear, state linear, gates, clip, projection.
    x (B, T, n_in) with each row's valid steps first -> outputs (B, T, P) (zeros past the end)."""
    B, T, _ = x.shape
    H = layer.hidden_dim
    w_x, w_h, bias = layer.w_x[d], layer.w_h[d], layer.bias[d]  # run-time gate order (i, f, o, j)
    w_p = layer.w_p[d] if layer.w_p is not None else None
    out = x.new_zeros(B, T, layer.proj_dim)
    for t in range(T):
        active = lengths > t
        proj = x[:, t] @ w_x + bias + h @ w_h  # the input linear inside the loop, as AllenNLP
        i = torch.sigmoid(proj[:, :H])
        f = torch.sigmoid(proj[:, H : 2 * H] + 1.0)
        o = torch.sigmoid(proj[:, 2 * H : 3 * H])
        j = torch.tanh(proj[:, 3 * H :])
        c_new = f * c + i * j
        if layer.cell_clip:
            c_new = torch.clamp(c_new, -layer.cell_clip, layer.cell_clip)
        m = o * torch.tanh(c_new)
        h_new = m @ w_p if w_p is not None else m
        if layer.proj_clip and w_p is not None:
            h_new = torch.clamp(h_new, -layer.proj_clip, layer.proj_clip)
        c = torch.where(active[:, None], c_new, c)
        h = torch.where(active[:, None], h_new, h)
        out[:, t] = torch.where(active[:, None], h_new, torch.zeros_like(h_new))
    return out, c, h


def naive_bilm(encoder: BiLM, char_ids: torch.Tensor):
    """The same model as ``encoder`` (zero initial state), computed step by step, AllenNLP-style."""
    B, T, C = char_ids.shape
    mask = (char_ids > 0).any(-1)
    lengths = mask.sum(1)
    ids = char_ids.new_zeros(B, T + 2, C)
    ids[:, 0] = encoder.bos_ids
    ids[:, 1 : T + 1] = char_ids
    ids[torch.arange(B), lengths + 1] = encoder.eos_ids
    te = encoder.token_encoder
    x = te.char_embed(ids.view(-1, C)).transpose(1, 2)  # every position, padding included
    act = torch.relu if te.activation == "relu" else torch.tanh
    z = te.highway(torch.cat([act(conv(x).amax(-1)) for conv in te.convs], -1))
    z = (te.proj(z) if te.proj is not None else z).view(B, T + 2, -1)
    full = lengths + 2
    valid = (torch.arange(T + 2)[None] < full[:, None]).unsqueeze(-1)
    z = z * valid
    pos = torch.arange(T + 2)[None]
    rev = torch.where(valid[..., 0], full[:, None] - 1 - pos, pos).unsqueeze(-1).expand_as(z)
    stack = encoder.lstm
    layers = [torch.cat([z, z], -1)]
    ins = [z, z.gather(1, rev)]
    for layer_idx, layer in enumerate(stack.layers):
        outs = []
        for d in range(2):
            c = z.new_zeros(B, layer.hidden_dim)
            h = z.new_zeros(B, layer.proj_dim)
            o, _, _ = naive_cell_loop(layer, d, ins[d], c, h, full)
            if layer_idx > 0 and stack.use_skip_connections:
                o = o + ins[d]
            outs.append(o)
        ins = outs
        layers.append(torch.cat([outs[0], outs[1].gather(1, rev)], -1))
    keep = mask.unsqueeze(-1).float()
    return [a[:, 1 : T + 1] * keep for a in layers]


# -- the contextual part alone -----------------------------------------------------------------------
def melmo_lstm_only(encoder: BiLM, z: torch.Tensor, full_mask: torch.Tensor, rev: torch.Tensor):
    x = torch.stack([z, z.gather(1, rev)])
    outputs, _ = encoder.lstm(x, None, full_mask.sum(1))
    return [torch.cat([o[0], o[1].gather(1, rev)], -1) for o in outputs]


def naive_lstm_only(encoder: BiLM, z: torch.Tensor, full: torch.Tensor, rev: torch.Tensor):
    stack, layers, ins = encoder.lstm, [], [z, z.gather(1, rev)]
    for layer_idx, layer in enumerate(stack.layers):
        outs = []
        for d in range(2):
            o, _, _ = naive_cell_loop(layer, d, ins[d], z.new_zeros(z.shape[0], layer.hidden_dim),
                                      z.new_zeros(z.shape[0], layer.proj_dim), full)
            outs.append(o + ins[d] if layer_idx > 0 and stack.use_skip_connections else o)
        ins = outs
        layers.append(torch.cat([outs[0], outs[1].gather(1, rev)], -1))
    return layers


# -- driver ------------------------------------------------------------------------------------------
def load_batches(n_batches: int, batch: int, lo: int = 20, hi: int = 30) -> list[list[list[str]]]:
    sents = []
    with open_text(ROOT / "data" / "sample" / "text" / "en.txt.xz", newline=None) as f:
        for line in f:
            toks = line.split()
            if lo <= len(toks) <= hi:
                sents.append(toks)
            if len(sents) == n_batches * batch:
                break
    return [sents[i : i + batch] for i in range(0, len(sents), batch)]


def best_time(fn, batches, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for b in batches:
            fn(b)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="elmo_small", help="conf/model/<name>.yaml")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = yaml.safe_load((ROOT / "conf" / "model" / f"{args.model}.yaml").read_text())
    encoder = BiLM(cfg["char_cnn"], cfg["lstm"]).eval()
    batches = [batch_to_ids(b) for b in load_batches(args.batches, args.batch)]
    n_tokens = sum(int((b > 0).any(-1).sum()) for b in batches)
    print(f"model {args.model}: {cfg['lstm']} filters F={encoder.token_encoder.n_filters}; "
          f"{len(batches)} batches x {args.batch} sentences, {n_tokens} tokens; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    with torch.inference_mode():
        # correctness first: every layer, zero initial state
        err = max(
            (a - b).abs().max().item()
            for ids in batches[:2]
            for a, b in zip(encoder(ids).layers, naive_bilm(encoder, ids))
        )
        t_melmo = best_time(lambda ids: encoder(ids), batches, args.repeats)
        t_naive = best_time(lambda ids: naive_bilm(encoder, ids), batches, args.repeats)
        print(f"whole encoder   melmo {n_tokens / t_melmo:9.0f} tok/s   "
              f"naive {n_tokens / t_naive:9.0f} tok/s   "
              f"ratio {t_naive / t_melmo:5.2f}x   max|diff| {err:.2e}")

        # the contextual part alone, on the same token representations
        prepared = []
        for ids in batches:
            B, T, _ = ids.shape
            lengths = (ids > 0).any(-1).sum(1)
            full = lengths + 2
            pos = torch.arange(T + 2)[None]
            full_mask = pos < full[:, None]
            z = torch.randn(B, T + 2, encoder.projection_dim) * full_mask.unsqueeze(-1)
            rev = torch.where(full_mask, full[:, None] - 1 - pos, pos).unsqueeze(-1).expand_as(z)
            prepared.append((z, full_mask, full, rev))
        err = max(
            ((a - b) * m.unsqueeze(-1)).abs().max().item()
            for z, m, full, rev in prepared[:2]
            for a, b in zip(melmo_lstm_only(encoder, z, m, rev), naive_lstm_only(encoder, z, full, rev))
        )
        t_melmo = best_time(lambda p: melmo_lstm_only(encoder, p[0], p[1], p[3]), prepared, args.repeats)
        t_naive = best_time(lambda p: naive_lstm_only(encoder, p[0], p[2], p[3]), prepared, args.repeats)
        print(f"biLSTM only     melmo {n_tokens / t_melmo:9.0f} tok/s   "
              f"naive {n_tokens / t_naive:9.0f} tok/s   "
              f"ratio {t_naive / t_melmo:5.2f}x   max|diff| {err:.2e}")


if __name__ == "__main__":
    main()
