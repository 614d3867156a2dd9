import os
from pathlib import Path

import pytest

import melmo  # noqa: F401  registers the ${melmo.*:...} config resolvers before any test composes conf/

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SHARED = ROOT.parent / "shared"

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def ud_corpus(tmp_path_factory):
    """A small prepared corpus from three shipped UD dev files (CoNLL-U: no tokenizer needed)."""
    from melmo.corpus.prepare import PrepareOptions, prepare
    from melmo.corpus.sampling import AlphaSampling
    from melmo.corpus.tokenized import LanguageSource

    tmp = tmp_path_factory.mktemp("ud_corpus")
    srcs = [
        LanguageSource(lang, [SAMPLE / "ud" / lang / f"{tb}-ud-dev.conllu.xz"])
        for lang, tb in (("en", "en_ewt"), ("fi", "fi_tdt"), ("he", "he_htb"))
    ]
    opts = PrepareOptions(seed=3, vocab_size=2000, shard_tokens=8000, workers=1, heldout_tokens=800)
    return prepare(srcs, AlphaSampling(0.4, "alpha04"), tmp / "prepared", tmp / "cache", opts, name="ud")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """One tokenization/preparation cache for every training test of the session."""
    return tmp_path_factory.mktemp("melmo-cache")


# Small, fast settings for training tests on 2 CPU cores: the real sample, a smaller batch.
FAST = [
    "data.module.batch_size=8",
    "data.module.unroll_steps=10",
    "heldout.batch_rows=8",
    "data.prepare.heldout_tokens=300",
    "lm.n_negative_samples=512",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
]


@pytest.fixture
def compose_train(tmp_path, session_cache):
    """compose_train(*overrides) -> a train config whose outputs go under tmp_path."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    def make(*overrides, fast=True):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("train", overrides=(FAST if fast else []) + list(overrides),
                          return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            cfg.paths.root_dir = str(ROOT)
            cfg.paths.output_dir = str(tmp_path / "run")
            cfg.paths.cache_dir = str(session_cache)
            cfg.paths.log_dir = str(tmp_path / "logs")
        return cfg

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one intra-op thread is faster than several (used
    autouse by tests/encode and tests/tasks)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny random biLM exported in our layout (tests/eval_helpers.py), shared by the evaluation tests."""
    from eval_helpers import tiny_model_dir

    return tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", seed=0)
