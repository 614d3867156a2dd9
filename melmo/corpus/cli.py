"""``python -m melmo.corpus prepare [hydra overrides]``: prepare (or reuse) a training corpus.

The overrides are those of ``train.py`` (the same config tree, conf/train.yaml), e.g.::

    python -m melmo.corpus prepare sampling=alpha02 data.prepare.seed=7
    python -m melmo.corpus prepare data=conll17 data.conll17_root=/data/conll17 sampling=trunc

It prints the prepared directory and the per-language sizes it realised.
"""

from __future__ import annotations

import logging
from argparse import RawDescriptionHelpFormatter
from pathlib import Path

from melmo.conf import conf_file
from melmo.corpus.from_config import prepare_from_config, summary
from melmo.corpus.readers import CorpusError
from melmo.utils.errors import ArgumentParser, report


def prepare_with_overrides(overrides: list[str], config_dir: Path | None = None) -> Path:
    """Compose train.yaml with ``overrides`` and prepare its corpus, inside Hydra's config search path
    (``data.vocab_from`` composes another sampling config from it)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    # default: the configs shipped in the package (melmo.conf)
    config_dir = (config_dir or conf_file()).resolve()
    if not (config_dir / "train.yaml").is_file():
        raise CorpusError(f"{config_dir}: no train.yaml here; pass the --config-dir that holds it")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)  # resolves ${hydra:runtime.cwd} in paths
        return prepare_from_config(cfg)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m melmo.corpus", description=__doc__,
                        formatter_class=RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="prepare (or reuse) the corpus of a train config")
    p.add_argument("--config-dir", type=Path, default=None,
                   help="directory holding train.yaml (default: the package's, conf/)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, as for train.py")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = prepare_with_overrides(args.overrides, args.config_dir)
    except Exception as err:  # one line, exit status 1 (melmo.utils.errors)
        return report(err)
    print(summary(out))
    return 0
