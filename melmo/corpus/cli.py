"""``python -m melmo.corpus prepare [hydra overrides]``: prepare (or reuse) a training corpus.

The overrides are those of ``train.py`` (the same config tree, conf/train.yaml), e.g.::

    python -m melmo.corpus prepare sampling=alpha02 data.prepare.seed=7
    python -m melmo.corpus prepare data=conll17 data.conll17_root=/data/conll17 sampling=trunc

It prints the prepared directory and the per-language sizes it realised.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from melmo.corpus.from_config import prepare_from_config, summary
from melmo.corpus.readers import CorpusError
from melmo.corpus.sampling import SamplingError
from melmo.languages import UnknownLanguageError
from melmo.utils.errors import config_error


def compose(overrides: list[str], config_dir: Path | None = None) -> DictConfig:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    config_dir = (config_dir or Path.cwd() / "conf").resolve()
    if not (config_dir / "train.yaml").is_file():
        raise SystemExit(f"{config_dir}: no train.yaml here; run from the repository root or pass --config-dir")
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = hydra_compose("train", overrides=overrides, return_hydra_config=True)
    from hydra.core.hydra_config import HydraConfig

    HydraConfig.instance().set_config(cfg)  # resolves ${hydra:runtime.cwd} in paths
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m melmo.corpus", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="prepare (or reuse) the corpus of a train config")
    p.add_argument("--config-dir", type=Path, default=None, help="directory holding train.yaml (default ./conf)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, as for train.py")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        cfg = compose(args.overrides, args.config_dir)
        out = prepare_from_config(cfg)
    except (CorpusError, SamplingError, UnknownLanguageError, HydraException, OmegaConfBaseException) as err:
        print(f"error: {config_error(err) or str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    print(summary(out))
    return 0
