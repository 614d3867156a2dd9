"""The training budget (melmo.pretrain.budget) and the world size it is planned with (the trainer's, not the
config's)."""

import math

import lightning as L
import pytest
from omegaconf import OmegaConf

from melmo.pretrain.budget import Budget, BudgetError
from melmo.pretrain.run import plan_steps


def _cfg(budget, max_steps="${budget.steps}", batch=8, unroll=10):
    return OmegaConf.create({"budget": budget, "trainer": {"max_steps": max_steps},
                             "data": {"module": {"batch_size": batch, "unroll_steps": unroll}}})


def test_tokens_and_epochs_plan_steps_from_the_world_size():
    b = Budget.from_config(_cfg({"steps": 300, "tokens": 1.0e6, "epochs": None}))
    assert b.planned_steps(corpus_tokens=5_000, tokens_per_step=8 * 10 * 3) == 4167  # ceil(1e6 / 240)
    b = Budget.from_config(_cfg({"steps": 300, "tokens": None, "epochs": 2.5}))
    assert b.planned_steps(corpus_tokens=10_001, tokens_per_step=100) == 251  # ceil(25002.5 / 100)
    assert Budget.from_config(_cfg({"steps": 300, "tokens": None, "epochs": None})).planned_steps(1, 1) == 300


def test_budget_says_one_thing():
    with pytest.raises(BudgetError, match="budget.tokens .* or budget.epochs .*, not both"):
        Budget.from_config(_cfg({"steps": 3, "tokens": 1e6, "epochs": 2}))
    with pytest.raises(BudgetError, match=r"budget.tokens: must be > 0"):
        Budget.from_config(_cfg({"steps": 3, "tokens": -1, "epochs": None}))
    with pytest.raises(BudgetError, match="trainer.max_steps=7 contradicts"):
        Budget.from_config(_cfg({"steps": 3, "tokens": 1e6, "epochs": None}, max_steps=7))
    assert Budget.from_config(_cfg({"steps": 3, "tokens": None, "epochs": None}, max_steps=7)).steps == 7


@pytest.mark.parametrize("trainer_kwargs", [
    {"accelerator": "cpu", "devices": "2", "strategy": "ddp"},  # a device string: the config count said 1
    {"accelerator": "auto", "devices": 2, "strategy": "ddp"},
    {"accelerator": "auto", "devices": "auto", "strategy": "auto"},
])
def test_planned_steps_use_the_trainers_world_size(trainer_kwargs):
    trainer = L.Trainer(max_steps=5, logger=False, enable_checkpointing=False, **trainer_kwargs)
    world = 2 if trainer_kwargs["devices"] in (2, "2") else 1  # CPU only here: "auto" is one process
    cfg = _cfg({"steps": 5, "tokens": 1.0e5, "epochs": None})
    steps = plan_steps(trainer, Budget.from_config(cfg), cfg, corpus_tokens=10_000)
    assert trainer.world_size == world
    assert steps == trainer.max_steps == math.ceil(1.0e5 / (8 * 10 * world))


def test_trainer_configs_carry_the_budget_and_the_checkpoint_cadence(compose_train):
    from datetime import timedelta

    from hydra.utils import instantiate

    cpu = compose_train()
    assert cpu.trainer.max_steps == cpu.budget.steps == 300
    assert cpu.callbacks.model_checkpoint.every_n_train_steps == 100
    for name in ("gpu", "ddp"):
        cfg = compose_train(f"trainer={name}")
        assert cfg.trainer.max_steps == cfg.budget.steps == 100000
        ckpt = instantiate(cfg.callbacks.model_checkpoint)
        assert ckpt._train_time_interval == timedelta(minutes=30) and not ckpt._every_n_train_steps
    paper = compose_train("experiment=paper_alpha04")
    assert paper.budget.tokens == 8.0e9 and "max_tokens" not in paper.lm
    monitor = instantiate(cpu.callbacks.throughput)
    import torch

    batch = {"fwd_targets": torch.zeros(8, 10)}
    assert (monitor.batch_size_fn(batch), monitor.length_fn(batch)) == (8, 80)
