"""Write ELMo vectors of a text file (one tokenized sentence per line) to HDF5, with a progress bar.

    python -m melmo.encode.embed_cli in.txt out.hdf5 --model DIR [--layers all|average|top|0,2]
        [--policy stateless|stream|stateful] [--batch-size 32] [--warmup-batches 0]

out.hdf5 has one dataset per line, named by the line index ("0", "1", ...), as AllenNLP's
``elmo`` command writes them, plus ``sentence_to_index`` (JSON: sentence text -> index). Tokens are
separated by single spaces. The file is written under a temporary name and renamed when complete.
An error is one line on stderr and exit status 1 (melmo.utils.errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from melmo.errors import FormatError, MissingFileError
from melmo.utils.errors import ArgumentParser, report


def _layers(spec: str):
    if spec in ("all", "average", "top"):
        return spec
    try:
        vals = [int(x) for x in spec.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--layers {spec!r}: all, average, top or comma-separated layer "
                                         "numbers") from None
    return vals[0] if len(vals) == 1 else vals


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m melmo.encode.embed_cli", description=__doc__.splitlines()[0])
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--model", required=True, type=Path, help="model directory (options.json + *.hdf5)")
    p.add_argument("--layers", type=_layers, default="all")
    p.add_argument("--policy", default="stateless", choices=("stateless", "stream", "stateful"))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup-batches", type=int, default=0)
    args = p.parse_args(argv)

    import h5py
    from tqdm import tqdm

    from melmo.encode.embed import iter_embed
    from melmo.encode.policy import Policy
    from melmo.utils.atomic import atomic_path

    try:
        if not args.input.is_file():
            raise MissingFileError(f"{args.input}: no such input file")
        lines = args.input.read_text(encoding="utf-8").splitlines()
        sentences = [line.split() for line in lines]
        empty = next((i for i, s in enumerate(sentences) if not s), None)
        if empty is not None:
            raise FormatError(f"{args.input}:{empty + 1}: empty line (one tokenized sentence per line)")
        policy = Policy(args.policy, args.batch_size, args.warmup_batches if args.policy == "stateful" else 0)
        with atomic_path(args.output) as tmp:  # no half-written HDF5 after an error or an interrupt
            with h5py.File(tmp, "w") as f:
                for i, vec in tqdm(iter_embed(sentences, args.model, args.layers, policy),
                                   total=len(sentences), unit="sent", desc="embedding"):
                    f.create_dataset(str(i), data=vec)
                index = {}
                for i, line in enumerate(lines):
                    index.setdefault(" ".join(sentences[i]), i)
                f.create_dataset("sentence_to_index", data=[json.dumps(index, ensure_ascii=False)])
    except Exception as e:  # one line, exit status 1 (melmo.utils.errors)
        return report(e)
    print(f"wrote {len(sentences)} sentences to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
