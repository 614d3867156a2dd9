"""``python -m melmo.datasets layout|check``: the official downloads as a data root, and its check.

    python -m melmo.datasets layout /data/melmo --ud ud-treebanks-v2.13 --xnli XNLI-1.0 \\
        --mnli multinli_1.0 --tatoeba LASER/data/tatoeba/v1 --conll17 conll17-raw
    python -m melmo.datasets check /data/melmo          # verify an existing root (also: layout --check)
    python -m melmo.datasets layout ... --treebank ko=ko_kaist --treebank ru=ru_gsd   # change the map
    python -m melmo.datasets layout /data/melmo --add --conll17 conll17-raw   # add a part to a layout
    python -m melmo.datasets layout /data/melmo --replace --ud ...           # a previous layout redone

Then ``python -m melmo.study study=paper study.data_root=/data/melmo study.conll17_root=/data/melmo/conll17``.
A problem ends in one line naming the file and exit status 1 (melmo.utils.errors); nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from melmo.conf import conf_file
from melmo.datasets.checks import check_root
from melmo.datasets.layout import load_settings, write_layout
from melmo.datasets.official import Sources
from melmo.utils.errors import ArgumentParser, report

DEFAULT_CONFIG = conf_file("datasets.yaml")   # shipped in the package (melmo.conf)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m melmo.datasets", description=__doc__,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lay = sub.add_parser("layout", help="link the official downloads into a data root, checked")
    chk = sub.add_parser("check", help="check an existing data root")
    for p in (lay, chk):
        p.add_argument("root", type=Path)
        p.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                       help="languages and treebank map (conf/datasets.yaml)")
        p.add_argument("--treebank", action="append", default=[], metavar="LANG=CODE",
                       help="override treebanks.LANG")
    for name, what in (("ud", "UD release directory (ud-treebanks-v2.x)"), ("xnli", "XNLI-1.0 directory"),
                       ("mnli", "multinli_1.0 directory"), ("tatoeba", "LASER data/tatoeba/v1 directory"),
                       ("conll17", "CoNLL 2017 raw-text directory (<Language>/*wikipedia*.conllu.xz)")):
        lay.add_argument(f"--{name}", type=Path, default=None, help=what)
    lay.add_argument("--check", action="store_true",
                     help="only check the existing root (same as the check command)")
    lay.add_argument("--replace", action="store_true",
                     help="redo a previous layout (a root holding its layout.json and nothing else), once "
                          "checked")
    lay.add_argument("--add", action="store_true",
                     help="add the parts given (e.g. --conll17) to a previous layout, keeping its other "
                          "parts")
    args = ap.parse_args(argv)
    try:
        cfg = load_settings(args.config, args.treebank)
        langs, xnli = [str(x) for x in cfg["languages"]], [str(x) for x in cfg["xnli_languages"]]
        if args.cmd == "check" or args.check:
            counts = check_root(args.root, langs, xnli)
        else:
            src = Sources(args.ud, args.xnli, args.mnli, args.tatoeba, args.conll17)
            counts = write_layout(src, args.root, cfg, replace=args.replace, add=args.add)
    except Exception as err:  # one line, exit status 1 (melmo.utils.errors)
        return report(err)
    for key, n in counts.items():
        print(f"{key}\t{n}")
    print(f"ok: {args.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
