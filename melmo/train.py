"""The body of ``train.py``: prepare the corpus, build the biLM, train it, export it."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from melmo.corpus.from_config import prepare_from_config, summary
from melmo.export import export
from melmo.utils import ddp_hydra
from melmo.utils.instantiate import instantiate_group

log = logging.getLogger(__name__)


def resolve_ckpt(ckpt_path: str | None, output_dir: Path) -> str | None:
    """``ckpt_path=last`` resumes from this run directory's last checkpoint when there is one."""
    if ckpt_path == "last":
        last = output_dir / "checkpoints" / "last.ckpt"
        return str(last) if last.is_file() else None
    if ckpt_path and not Path(ckpt_path).is_file():
        raise FileNotFoundError(f"{ckpt_path}: checkpoint to resume from not found")
    return ckpt_path


def run(cfg: DictConfig) -> dict:
    ddp_hydra.check(cfg)
    L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)

    corpus_dir = prepare_from_config(cfg)
    rank_zero_only(log.info)("\n" + summary(corpus_dir))
    if cfg.get("prepare_only"):
        return {"corpus_dir": str(corpus_dir)}

    datamodule = instantiate(cfg.data.module, corpus_dir=str(corpus_dir), max_chars=cfg.model.char_cnn.max_characters_per_token)
    corpus = datamodule.load_corpus()  # vocabulary size and languages; the trainer sets up the streams per rank

    encoder = instantiate(cfg.model)
    module = instantiate(cfg.lm, encoder=encoder, vocab_size=corpus.vocab_size, languages=corpus.languages)

    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    trainer_overrides = {}
    world = _world_size(cfg.trainer)
    tokens_per_step = cfg.data.module.batch_size * cfg.data.module.unroll_steps * world
    steps = module.planned_steps(corpus.metadata["total_tokens"], tokens_per_step)
    if steps is not None:
        trainer_overrides["max_steps"] = steps
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **trainer_overrides)
    max_steps = trainer.max_steps
    rank_zero_only(log.info)(
        f"training plan: {max_steps:,} steps x {tokens_per_step:,} tokens per direction = {max_steps * tokens_per_step:,} "
        f"tokens, {max_steps * tokens_per_step / corpus.metadata['total_tokens']:.2f} nominal epochs of "
        f"{corpus.metadata['total_tokens']:,} tokens ({world} process(es))"
    )
    hparams = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
               for k in cfg if k != "hydra"}
    for lg in loggers:
        lg.log_hyperparams(hparams)

    # weights_only=False: the checkpoint also holds the data position and RNG states (numpy
    # arrays) for an exact resume; only resume from checkpoints you trust, as with any pickle.
    trainer.fit(module, datamodule=datamodule, ckpt_path=resolve_ckpt(cfg.get("ckpt_path"), output_dir), weights_only=False)

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if cfg.get("export") and trainer.is_global_zero and not trainer.fast_dev_run:
        export_dir = export(module, corpus, output_dir / "model", cfg)
        metrics["export_dir"] = str(export_dir)
        log.info(f"exported the biLM to {export_dir}")
    return metrics


def _world_size(trainer_cfg: DictConfig) -> int:
    devices = trainer_cfg.get("devices", 1)
    if isinstance(devices, int) and devices > 0:
        n = devices
    elif isinstance(devices, (list, tuple)) or OmegaConf.is_list(devices):
        n = len(devices)
    else:
        import torch

        n = max(1, torch.cuda.device_count()) if trainer_cfg.get("accelerator") in ("gpu", "cuda") else 1
    return n * int(trainer_cfg.get("num_nodes", 1) or 1)
