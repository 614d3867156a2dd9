"""conf/model/*.yaml build the BiLM through Hydra, and its options are the bilm-tf options."""

import json
from pathlib import Path

import pytest
import yaml

from melmo.model.encoder import BiLM

CONF = Path(__file__).resolve().parents[2] / "conf" / "model"
NAMES = ["elmo_tiny", "elmo_small", "elmo_original"]


def load(name):
    return yaml.safe_load((CONF / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_config_is_bilm_tf_options(name):
    cfg = load(name)
    assert cfg["_target_"] == "melmo.model.encoder.BiLM"
    assert set(cfg) == {"_target_", "char_cnn", "lstm", "dropout"}
    assert cfg["dropout"] == 0.1  # (bilm-tf bilm/training.py LanguageModel, train)
    assert set(cfg["char_cnn"]) == {"activation", "embedding", "filters", "n_highway",
                                    "max_characters_per_token", "n_characters"}
    assert set(cfg["lstm"]) == {"dim", "projection_dim", "n_layers", "cell_clip", "proj_clip",
                                "use_skip_connections"}
    assert cfg["char_cnn"]["max_characters_per_token"] == 50


def test_original_is_the_bilm_tf_model():
    cfg = load("elmo_original")
    assert cfg["char_cnn"] == {
        "activation": "relu", "embedding": {"dim": 16},
        "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
        "n_highway": 2, "max_characters_per_token": 50, "n_characters": 261,
    }
    assert cfg["lstm"] == {"dim": 4096, "projection_dim": 512, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
                           "use_skip_connections": True}


@pytest.mark.parametrize("name", ["elmo_tiny", "elmo_small",
                                  pytest.param("elmo_original", marks=pytest.mark.slow)])
def test_hydra_instantiates_and_options_round_trip(name):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(load(name))
    encoder = instantiate(cfg)
    assert isinstance(encoder, BiLM)
    options = encoder.options
    json.dumps(options)  # plain containers: export is a straight dump
    expected = load(name)
    assert options == {k: expected[k] for k in ("char_cnn", "lstm", "dropout")}
    rebuilt = BiLM(options["char_cnn"], options["lstm"], options["dropout"])
    shapes = lambda m: {k: v.shape for k, v in m.state_dict().items()}  # noqa: E731
    assert shapes(rebuilt) == shapes(encoder)
