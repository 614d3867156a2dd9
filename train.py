"""Train a multilingual ELMo biLM.  python train.py [hydra overrides]  (see conf/train.yaml)

An error ends in one line naming the file or key and exit status 1; HYDRA_FULL_ERROR=1 shows the
traceback (melmo/utils/errors.py)."""

import hydra
from omegaconf import DictConfig

from melmo.utils import ddp_hydra
from melmo.utils.errors import exit_on_error
from melmo.utils.loggers import finish_wandb

try:
    ddp_hydra.install()  # DDP inside Hydra multirun: each job launches its own ranks (melmo/utils/ddp_hydra.py)
except ddp_hydra.LightningInternalsError as e:
    exit_on_error(e)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    from melmo.pretrain.run import run

    try:
        metrics = run(cfg)
    except Exception as e:
        exit_on_error(e)
    finally:
        finish_wandb()
        ddp_hydra.reset()
    return metrics.get("val/ppl_iv")  # a Hydra sweeper minimises what the best checkpoint is chosen by


if __name__ == "__main__":
    main()
