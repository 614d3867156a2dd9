"""LM training and encoder inference throughput, with the ratios that say how good they are.

    python benchmarks/lm_throughput.py [--model elmo_small] [--steps 6] [--threads N]

Prints, in one run and one process:
  * dense fp32 matmul GFLOP/s measured here (the machine's practical peak);
  * LitBiLM training tokens/s and achieved GFLOP/s (analytic FLOPs of forward + backward:
    3 x the forward multiply-adds x 2) for the chosen model and the conf/ batch settings,
    and the ratio achieved / matmul peak;
  * encoder inference tokens/s against a straightforward per-timestep LSTM-with-projection loop
    of the same weights (the input projection computed inside the loop, as AllenNLP runs it),
    with the max abs difference of their outputs and the speed ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from melmo.model.flops import train_flops_per_token

ROOT = Path(__file__).resolve().parents[1]


def matmul_gflops(n: int = 2048, repeat: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n**3 * repeat / (time.perf_counter() - t0) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="elmo_small")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=None, help="rows (default: conf/data/sample.yaml)")
    ap.add_argument("--unroll", type=int, default=20)
    ap.add_argument("--vocab", type=int, default=20000)
    ap.add_argument("--samples", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from melmo.model.encoder import BiLM
    from melmo.model.softmax import SampledSoftmax

    mcfg = yaml.safe_load((ROOT / "conf" / "model" / f"{args.model}.yaml").read_text())
    mcfg.pop("_target_", None)
    B = args.batch or yaml.safe_load(
        (ROOT / "conf" / "data" / "sample.yaml").read_text())["module"]["batch_size"]
    U = args.unroll
    torch.manual_seed(0)
    enc = BiLM(**mcfg)
    sm = SampledSoftmax(args.vocab, enc.options["lstm"]["projection_dim"], args.samples)
    opt = torch.optim.Adagrad(list(enc.parameters()) + list(sm.parameters()), lr=0.2,
                              initial_accumulator_value=1.0)
    C = enc.options["char_cnn"]["max_characters_per_token"]
    chars = torch.randint(1, 262, (B, U, C))
    chars[..., 0] = 259
    targets = torch.randint(0, args.vocab, (B * U,))

    peak = matmul_gflops()
    print(f"threads: {torch.get_num_threads()}   dense fp32 matmul (2048^3): {peak:.1f} GFLOP/s")

    enc.train()
    state = None
    times = []
    for step in range(args.steps + 1):
        t0 = time.perf_counter()
        f, b, state = enc.lm_forward(chars, chars, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state
        sampled = sm.sample()
        loss = 0.5 * (sm(f.reshape(B * U, -1), targets, sampled=sampled)
                      + sm(b.reshape(B * U, -1), targets, sampled=sampled))
        opt.zero_grad()
        (loss * U).backward()
        torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(sm.parameters()), 10.0)
        opt.step()
        if step:  # the first step warms up allocators
            times.append(time.perf_counter() - t0)
    dt = sorted(times)[len(times) // 2]
    tokens = B * U  # per direction, as bilm-tf counts them
    flops = tokens * train_flops_per_token(enc.options, args.samples + 1)  # fwd + bwd(2x), both directions
    gflops = flops / dt / 1e9
    print(f"training {args.model}: batch {B} x unroll {U}, {args.samples} negatives, vocab {args.vocab}")
    print(f"  median step {dt * 1000:.0f} ms = {tokens / dt:,.0f} tokens/s per direction; "
          f"achieved {gflops:.1f} GFLOP/s = {gflops / peak:.0%} of the measured matmul rate")

    # the inference comparison lives in its own script; run it here so both land in one output
    import runpy
    import sys

    print("encoder inference vs a per-timestep loop (benchmarks/encoder_inference.py):", flush=True)
    sys.argv = [str(ROOT / "benchmarks" / "encoder_inference.py")]
    runpy.run_path(sys.argv[0], run_name="__main__")

if __name__ == "__main__":
    main()
