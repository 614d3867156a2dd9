"""Evaluate a frozen biLM.  python evaluate.py task=pos encoder.path=<run dir>/model  (see conf/evaluate.yaml)

An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py)."""

import hydra
from omegaconf import DictConfig

import melmo  # noqa: F401  (the config resolvers: conf/hydra/evaluate.yaml names sweep subdirs with them)
from melmo.utils.errors import exit_on_error


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from melmo.tasks.run import run

    try:
        run(cfg)
    except Exception as e:
        exit_on_error(e)


if __name__ == "__main__":
    main()
