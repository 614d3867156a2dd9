"""The evaluation app: ``melmo-evaluate`` = ``python -m melmo.tasks`` = ``python evaluate.py``
``task=pos encoder.path=<run dir>/model`` (conf/evaluate.yaml, shipped as melmo/conf: melmo.conf).

An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py). Run directories land under the working directory (conf/paths).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from melmo.conf import SOURCE, VERSION_BASE
from melmo.utils.errors import exit_on_error


@hydra.main(version_base=VERSION_BASE, config_path=SOURCE, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from melmo.tasks.run import run

    try:
        run(cfg)
    except Exception as e:
        exit_on_error(e)


if __name__ == "__main__":
    main()
