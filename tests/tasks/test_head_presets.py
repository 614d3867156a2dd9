"""heads=sample (evaluate's default, study=small) gives CPU-sized heads, heads=quick (study=sample) the same
on a shorter budget; heads=paper (study=paper) the papers' sizes."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

CONF = Path(__file__).resolve().parents[2] / "conf"


def _task(*overrides):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose("evaluate", overrides=list(overrides)).task
    finally:
        GlobalHydra.instance().clear()


def test_sample_heads_by_default_paper_heads_on_request():
    sample, paper = _task("task=parsing"), _task("task=parsing", "heads=paper")
    assert ((sample.head.n_lstm_layers, sample.head.n_lstm_hidden) == (1, 64)
            and sample.module.lr_scheduler is None)
    # D&M 2017
    assert (paper.head.n_lstm_layers, paper.head.n_lstm_hidden, paper.batch_tokens) == (3, 400, 5000)
    assert _task("task=xnli").head.hidden == 100 and _task("task=xnli", "heads=paper").head.hidden == 300
    for task in ("pos", "pos_transfer"):
        assert (_task(f"task={task}").module.optimizer.lr == 1e-2
                and _task(f"task={task}", "heads=paper").module.optimizer.lr == 1e-3)
    # tasks without a head: unchanged
    assert "heads" not in _task("task=tatoeba") and _task("task=tatoeba").name == "tatoeba"


def test_the_studies_choose_their_heads():
    def overrides(name):
        return OmegaConf.to_container(OmegaConf.load(CONF / "study" / f"{name}.yaml").evaluate.overrides,
                                      resolve=False)

    sample, small, paper = overrides("sample"), overrides("small"), overrides("paper")
    assert "heads=quick" in sample and "heads=sample" in small and "heads=paper" in paper


def test_quick_heads_are_the_sample_heads_on_a_shorter_budget():
    for task in ("pos", "pos_transfer", "parsing", "xnli"):
        quick, sample = _task(f"task={task}", "heads=quick"), _task(f"task={task}")
        assert quick.trainer.max_epochs < sample.trainer.max_epochs
        assert quick.trainer.patience < sample.trainer.patience
        assert quick.head == sample.head
        q_opt, s_opt = (OmegaConf.to_container(c.module.optimizer) for c in (quick, sample))
        if task == "parsing":  # quick's parser steps twice as far (docs/heads.md: converges in its budget)
            assert (q_opt.pop("lr"), s_opt.pop("lr")) == (2e-2, 1e-2)
        assert q_opt == s_opt


def test_every_head_trains_with_the_one_shared_trainer_block():
    """conf/head_trainer/default.yaml holds the Trainer arguments every head shares, once: each heads preset
    brings it under task.trainer (conf/heads/*.yaml are real configs, not empty switches), each task adds its
    own schedule, and no task config repeats the shared keys."""
    shared = OmegaConf.to_container(OmegaConf.load(CONF / "head_trainer" / "default.yaml"))
    assert shared["accelerator"] == "cpu" and shared["enable_checkpointing"] is False
    for task in ("pos", "pos_transfer", "parsing", "xnli"):
        own = OmegaConf.load(CONF / "task" / f"{task}.yaml").get("trainer") or {}
        assert not set(own) & set(shared), (task, sorted(set(own) & set(shared)))
        for heads in ("sample", "quick", "paper"):
            trainer = OmegaConf.to_container(_task(f"task={task}", f"heads={heads}").trainer)
            assert {k: trainer[k] for k in shared} == shared and trainer["max_epochs"] >= 1, (task, heads)
    for heads in ("sample", "quick", "paper"):
        assert OmegaConf.load(CONF / "heads" / f"{heads}.yaml").defaults == [
            {"/head_trainer@task.trainer": "default"}]
