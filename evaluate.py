"""Evaluate a frozen biLM.  python evaluate.py task=pos encoder.path=<run dir>/model  (see conf/evaluate.yaml)"""

import os
import sys

import hydra
from omegaconf import DictConfig

import melmo  # noqa: F401  (the config resolvers: conf/hydra/evaluate.yaml names sweep subdirs with them)


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from omegaconf.errors import OmegaConfBaseException

    from melmo.tasks.run import run
    from melmo.utils.errors import config_error

    try:
        run(cfg)
    except (ValueError, FileNotFoundError, OmegaConfBaseException) as e:  # bad input: one line naming the file or key
        if os.environ.get("MELMO_TRACEBACK"):
            raise
        print(f"error: {config_error(e) or e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
