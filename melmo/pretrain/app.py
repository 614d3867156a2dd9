"""The training app: ``melmo-train`` = ``python -m melmo.pretrain`` = ``python train.py`` [Hydra overrides]
(conf/train.yaml, shipped as melmo/conf: melmo.conf).

An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py). Run directories land under the working directory (conf/paths).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from melmo.conf import SOURCE, VERSION_BASE
from melmo.utils import ddp_hydra
from melmo.utils.errors import exit_on_error
from melmo.utils.loggers import finish_wandb


@hydra.main(version_base=VERSION_BASE, config_path=SOURCE, config_name="train")
def _train(cfg: DictConfig) -> float | None:
    from melmo.pretrain.run import run

    try:
        metrics = run(cfg)
    except Exception as e:
        exit_on_error(e)
    finally:
        finish_wandb()
        ddp_hydra.reset()
    return metrics.get("val/ppl_iv")  # a Hydra sweeper minimises what the best checkpoint is chosen by


def main() -> None:
    try:
        ddp_hydra.install()  # DDP in a Hydra multirun: each job starts its own ranks (melmo.utils.ddp_hydra)
    except ddp_hydra.LightningInternalsError as e:
        exit_on_error(e)
    _train()


if __name__ == "__main__":
    main()
