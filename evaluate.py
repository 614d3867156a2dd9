"""Evaluate a frozen biLM.  python evaluate.py task=pos encoder.path=<run dir>/model  (see conf/evaluate.yaml)"""

import os
import sys

import hydra
from omegaconf import DictConfig

import melmo  # noqa: F401  (the config resolvers: conf/hydra/evaluate.yaml names sweep subdirs with them)


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from melmo.tasks.run import run

    try:
        run(cfg)
    except (ValueError, FileNotFoundError) as e:  # bad input: one line naming the file, non-zero exit
        if os.environ.get("MELMO_TRACEBACK"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
