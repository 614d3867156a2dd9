"""UDPipe tokenization throughput with the shipped tokenizers (data/udpipe/<lang>.udpipe).

    python benchmarks/udpipe_tokenize.py [--langs en,zh,fi,ar,ja] [--lines 4000] [--repeat 2]
                                         [--train-sentences 30]

Reads real text: <text dir>/<lang>.txt with --text-dir, else the repository's
data/sample/text/<lang>.txt.xz. Prints, per language, tokens/s for
  * one ``setText`` per line (what ``Tokenizer.tokenize_lines`` does),
  * lines batched 200 at a time into one ``setText`` (joined by a blank line, so that no sentence
    crosses a line), to decide between the two,
  * 2 processes, each tokenizing every other line (one setText per line), and the 2-vs-1 speed-up
    (wall time including sending the lines and the model load; the process start is excluded).

Then the wall time of one tiny tokenizer training (``--train-sentences`` sentences of the English
sample's dev file, 1 epoch, dimension 16): the figure tests/corpus/test_udpipe.py's tiny training
run once asserted (< 10 s); it is not asserted in a test because it depends on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from melmo.corpus.udpipe import Tokenizer, train_tokenizer
from melmo.formats.files import open_text

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "data" / "udpipe"


def read_lines(lang: str, n: int, text_dir: Path | None = None) -> tuple[list[str], str]:
    full = text_dir / f"{lang}.txt" if text_dir else None
    path = full if full and full.is_file() else ROOT / "data" / "sample" / "text" / f"{lang}.txt.xz"
    lines = []
    with open_text(path, newline=None) as fh:
        for line in fh:
            if line.strip():
                lines.append(line.strip())
            if len(lines) >= n:
                break
    return lines, str(path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path)


def per_line(lang: str, lines: list[str]) -> int:
    tok = Tokenizer(MODELS / f"{lang}.udpipe")
    return sum(len(s) for s in tok.tokenize_lines(lines))


def batched(lang: str, lines: list[str], size: int = 200) -> int:
    tok = Tokenizer(MODELS / f"{lang}.udpipe")
    return sum(len(s) for i in range(0, len(lines), size)
               for s in tok.tokenize("\n\n".join(lines[i : i + size])))


def tiny_training(sentences: int) -> float:
    """Wall seconds of one tokenizer training: ``sentences`` English dev sentences, 1 epoch, dimension 16."""
    conllu = ROOT / "data" / "sample" / "ud" / "en" / "en_ewt-ud-dev.conllu.xz"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        train_tokenizer([conllu], Path(tmp) / "tiny.udpipe", options={"epochs": 1, "dimension": 16},
                        sentences=slice(0, sentences))
        return time.perf_counter() - t0


def best_time(fn, repeat: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default="en,zh,fi,ar,ja")
    ap.add_argument("--text-dir", type=Path, default=None, help="directory of full raw-text files <lang>.txt")
    ap.add_argument("--lines", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--train-sentences", type=int, default=30, help="tiny training run size (0: skip it)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; {args.lines} lines per language; best of {args.repeat}")
    print(f"{'lang':<5}{'tokens':>8}{'per line':>12}{'batched':>12}{'batch/line':>11}{'2 procs':>12}"
          f"{'speed-up':>9}  source")
    with ProcessPoolExecutor(max_workers=2) as pool:
        for lang in args.langs.split(","):
            lines, src = read_lines(lang, args.lines, args.text_dir)
            t1, n = best_time(lambda: per_line(lang, lines), args.repeat)
            tb, nb = best_time(lambda: batched(lang, lines), args.repeat)
            def two() -> int:
                # interleaved: balanced halves
                futs = [pool.submit(per_line, lang, lines[k::2]) for k in (0, 1)]
                return sum(f.result() for f in futs)

            two()  # warm the workers (fork, import, model load)
            t2, n2 = best_time(two, args.repeat)
            assert n2 == n, (n2, n)
            r1, rb, r2 = n / t1, nb / tb, n / t2
            print(f"{lang:<5}{n:>8,}{r1:>12,.0f}{rb:>12,.0f}{rb / r1:>11.2f}{r2:>12,.0f}"
                  f"{r2 / r1:>9.2f}  {src}")
    print("(tokens/s; 'batched' = 200 lines per setText; '2 procs' = 2 processes, one setText per line)")
    if args.train_sentences:
        wall = min(tiny_training(args.train_sentences) for _ in range(args.repeat))
        print(f"tiny training ({args.train_sentences} en sentences, 1 epoch, dimension 16): {wall:.1f} s "
              f"wall, best of {args.repeat}")


if __name__ == "__main__":
    main()
