"""The body of ``train.py``: build the trainer, prepare the corpus once per job, build the biLM,
plan the budget, resume or start, train, export. One small function per step."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from melmo.corpus.from_config import prepare_from_config, summary
from melmo.pretrain import checkpoints, init_from
from melmo.pretrain.budget import Budget
from melmo.pretrain.export import export, export_choice, load_export_weights
from melmo.utils import ddp_hydra
from melmo.utils.instantiate import instantiate_group
from melmo.utils.once import SameOnAllRanks, config_key, rank_zero_once
from melmo.utils.rng import RankSeed

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict:
    ddp_hydra.check(cfg)
    # continued pre-training from an exported model (melmo/pretrain/init_from.py)
    cfg = init_from.configure(cfg)
    # The same initial weights on every rank; RankSeed gives each rank its own random streams once
    # the process group is up (melmo.utils.rng).
    L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    budget = Budget.from_config(cfg)
    if cfg.get("prepare_only"):
        corpus_dir = prepare_from_config(cfg)
        log.info("\n" + summary(corpus_dir))
        return {"corpus_dir": str(corpus_dir)}

    trainer = build_trainer(cfg)  # the strategy decides the ranks and the world size
    corpus_dir = prepare_once(cfg, trainer.global_rank)
    rank_zero_only(log.info)("\n" + summary(corpus_dir))
    trainer.callbacks.append(SameOnAllRanks("corpus directory", corpus_dir))

    datamodule = instantiate(cfg.data.module, corpus_dir=str(corpus_dir),
                             max_chars=cfg.model.char_cnn.max_characters_per_token)
    # vocabulary size and languages; the trainer sets up the streams per rank
    corpus = datamodule.load_corpus()
    module = instantiate(cfg.lm, encoder=instantiate(cfg.model), vocab_size=corpus.vocab_size,
                         languages=corpus.languages)

    plan_steps(trainer, budget, cfg, corpus.metadata["total_tokens"])
    log_hyperparameters(trainer, cfg)
    ckpt_path = checkpoints.choose(cfg.get("ckpt_path"), cfg.get("resume"), output_dir,
                                   bool(cfg.get("ckpt_fallback")))
    # weights_only=True: RNG and data-position state are stored in safe types (melmo.utils.rng)
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    which = export_choice(cfg.get("export"))
    if which and trainer.is_global_zero and not trainer.fast_dev_run:
        chosen = load_export_weights(module, trainer, which)
        export_dir = export(module, corpus, output_dir / "model", cfg, checkpoint=chosen)
        metrics["export_dir"] = str(export_dir)
        log.info(f"exported the biLM ({chosen['which']} weights, step {chosen['step']}) to {export_dir}")
    return metrics


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer of ``cfg.trainer`` with the configured callbacks and loggers, plus RankSeed."""
    callbacks = instantiate_group(cfg.get("callbacks")) + [RankSeed(cfg.seed)]
    loggers = instantiate_group(cfg.get("logger"))
    return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)


def prepare_once(cfg: DictConfig, rank: int) -> Path:
    """Rank 0 prepares the corpus (or finds it prepared); the other ranks wait for it (melmo.utils.once)."""
    key = config_key(OmegaConf.to_container(cfg.data, resolve=True),
                     OmegaConf.to_container(cfg.sampling, resolve=True), cfg.seed,
                     str(Path(cfg.paths.cache_dir)))
    marker = Path(cfg.data.prepared_dir) / ".ready" / f"{key}.json"
    done = rank_zero_once(marker, rank, lambda: str(prepare_from_config(cfg)),
                          float(cfg.get("prepare_wait_s", 86400)), what="preparing the corpus")
    return Path(done)


def plan_steps(trainer: L.Trainer, budget: Budget, cfg: DictConfig, corpus_tokens: int) -> int:
    """Set the trainer's max_steps from the budget and its real world size (melmo.pretrain.budget); log the
    plan."""
    tokens_per_step = cfg.data.module.batch_size * cfg.data.module.unroll_steps * trainer.world_size
    steps = budget.planned_steps(corpus_tokens, tokens_per_step)
    if not trainer.fast_dev_run:  # fast_dev_run fixes its own single step
        trainer.fit_loop.epoch_loop.max_steps = steps
    steps = trainer.max_steps
    rank_zero_only(log.info)(
        f"training plan ({budget.describe()}): {steps:,} steps x {tokens_per_step:,} tokens per direction = "
        f"{steps * tokens_per_step:,} tokens, {steps * tokens_per_step / corpus_tokens:.2f} nominal epochs "
        f"of {corpus_tokens:,} tokens ({trainer.world_size} process(es))"
    )
    return steps


def log_hyperparameters(trainer: L.Trainer, cfg: DictConfig) -> None:
    hparams = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
               for k in cfg if k != "hydra"}
    for lg in trainer.loggers:
        lg.log_hyperparams(hparams)
