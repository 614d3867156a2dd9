"""The command line ``python -m melmo.corpus.udpipe {train,train-all,score,tokenize}``.

An error is one line on stderr and exit status 1 (melmo.utils.errors)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from melmo.corpus.udpipe.batch import train_all
from melmo.corpus.udpipe.conllu import parse_slice
from melmo.corpus.udpipe.errors import OptionError
from melmo.corpus.udpipe.options import TOKENIZER_OPTIONS
from melmo.corpus.udpipe.scoring import score_tokenization
from melmo.corpus.udpipe.tokenizer import BUILTINS, MULTIWORD_MODES, SENTENCE_MODES, Tokenizer
from melmo.corpus.udpipe.training import train_tokenizer
from melmo.languages import check_language
from melmo.utils.errors import ArgumentParser, report


def _options_from_args(args: argparse.Namespace) -> dict:
    opts = {}
    for name in ("epochs", "dimension", "batch_size", "learning_rate", "dropout", "segment_size"):
        v = getattr(args, name, None)
        if v is not None:
            opts[name] = v
    for item in args.option or []:
        if "=" not in item:
            raise OptionError(f"--option {item!r}: use NAME=VALUE")
        k, v = item.split("=", 1)
        opts[k.strip()] = v.strip()
    return opts


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m melmo.corpus.udpipe",
                                 description="Train, score and inspect UDPipe 1 tokenizer models.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--epochs", type=int,
                       help="UDPipe default 100; 10 is nearly as good (data/udpipe/README.md)")
        p.add_argument("--dimension", type=int, choices=(16, 24, 64), help="GRU size (UDPipe default 24)")
        p.add_argument("--batch-size", dest="batch_size", type=int)
        p.add_argument("--learning-rate", dest="learning_rate", type=float)
        p.add_argument("--dropout", type=float)
        p.add_argument("--segment-size", dest="segment_size", type=int)
        p.add_argument("--option", action="append", metavar="NAME=VALUE",
                       help=f"any other tokenizer option ({', '.join(sorted(TOKENIZER_OPTIONS))})")

    p = sub.add_parser("train", help="train one tokenizer from CoNLL-U files")
    p.add_argument("--lang", required=True)
    p.add_argument("--conllu", nargs="+", required=True, type=Path,
                   help="training CoNLL-U files (.xz/.gz ok)")
    p.add_argument("--heldout", nargs="*", type=Path, default=None,
                   help="heldout CoNLL-U for early stopping (not test)")
    p.add_argument("--sentences", default=None, help="keep a range of training sentences, e.g. ':700'")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--log", type=Path, default=None, help="write UDPipe's training log here")
    p.add_argument("--verbose", action="store_true", help="print UDPipe's training log")
    add_opts(p)

    p = sub.add_parser("train-all", help="one tokenizer per language of a UD directory, in parallel")
    p.add_argument("--ud-dir", type=Path, default=Path("data/sample/ud"),
                   help="<ud-dir>/<lang>/*-ud-*.conllu[.xz]")
    p.add_argument("--out-dir", type=Path, default=Path("data/udpipe"))
    p.add_argument("--langs", nargs="*", default=None)
    p.add_argument("--jobs", type=int, default=None, help="processes (default: CPU count)")
    p.add_argument("--log-dir", type=Path, default=None)
    p.add_argument("--manifest", default="models.json", help="record file in --out-dir ('' for none)")
    add_opts(p)

    p = sub.add_parser("score", help="word-level tokenization F1 against gold CoNLL-U")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--conllu", required=True, type=Path)
    p.add_argument("--sentences", default=None, help="score a range of sentences, e.g. '700:'")

    p = sub.add_parser("tokenize",
                       help="tokenize stdin (one sentence per output line, tokens space-separated)")
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--builtin", choices=BUILTINS, default=None)
    p.add_argument("--multiword", choices=MULTIWORD_MODES, default="split")
    p.add_argument("--sentences", choices=SENTENCE_MODES, default="udpipe")

    args = ap.parse_args(argv)
    try:
        if args.cmd == "train":
            check_language(args.lang)
            t0 = time.perf_counter()
            out = train_tokenizer(args.conllu, args.out, heldout_paths=args.heldout,
                                  options=_options_from_args(args), sentences=parse_slice(args.sentences),
                                  log_path=args.log, verbose=args.verbose)
            print(f"{out}: {out.stat().st_size / 1024:.1f} KB, trained in {time.perf_counter() - t0:.1f} s")
        elif args.cmd == "train-all":
            train_all(args.ud_dir, args.out_dir, languages=args.langs, options=_options_from_args(args),
                      jobs=args.jobs, log_dir=args.log_dir, manifest=args.manifest or None)
        elif args.cmd == "score":
            sc = score_tokenization(args.model, args.conllu, sentences=parse_slice(args.sentences))
            print(f"{args.conllu} ({sc['sentences']} sentences): word P {100 * sc['precision']:.2f} "
                  f"R {100 * sc['recall']:.2f} F1 {100 * sc['f1']:.2f} "
                  f"({sc['correct']}/{sc['gold_tokens']} gold, {sc['pred_tokens']} predicted)")
        elif args.cmd == "tokenize":
            tok = Tokenizer(args.model, multiword=args.multiword, sentences=args.sentences,
                            builtin=args.builtin)
            for tokens in tok.tokenize_lines(sys.stdin):
                sys.stdout.write(" ".join(tokens) + "\n")
    except Exception as err:  # one line, exit status 1 (melmo.utils.errors)
        return report(err)
    return 0

