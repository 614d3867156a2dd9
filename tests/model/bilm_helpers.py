"""Shared helpers for the encoder tests: fixture paths, random models, sentence streams."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_helpers import FIXTURES

from melmo.model.encoder import BiLM
from melmo.model.io import bilm_tf_arrays, load_bilm_tf_arrays

ALLENNLP = FIXTURES / "allennlp"
BILM_TF = FIXTURES / "bilm-tf"

SMALL_OPTIONS = {
    "char_cnn": {"activation": "relu", "embedding": {"dim": 4}, "filters": [[1, 4], [2, 8], [3, 16]],
                 "n_highway": 2, "max_characters_per_token": 50, "n_characters": 262},
    "lstm": {"dim": 16, "projection_dim": 8, "n_layers": 2, "cell_clip": 0.6, "proj_clip": 0.25,
             "use_skip_connections": True},
}

WORDS = ["the", "cat", "sat", "on", "a", "mat", ".", "Ünïcödé", "日本", "x" * 60, "<S>", "</S>", "",
         "!",
         "multilingual", "ELMo", "Helsinki", "ja", "är", "и"]


@pytest.fixture(autouse=True)
def single_thread():
    """Tiny models gain nothing from a second thread, and on a shared 2-core machine a busy
    neighbour makes OpenMP's fork/join stall every small op (measured: 0.04 s -> 8 s for the
    fixture stream). Test modules import this fixture to run their tests on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def options_with(**changes) -> dict:
    """SMALL_OPTIONS with changes, e.g. options_with(lstm__dim=8, char_cnn__activation="tanh")."""
    options = copy.deepcopy(SMALL_OPTIONS)
    for key, value in changes.items():
        section, name = key.split("__")
        options[section][name] = value
    return options


def random_model(options: dict = SMALL_OPTIONS, seed: int = 0, scale: float = 0.4):
    """(encoder in eval mode, its bilm-tf arrays as float32 numpy) with random N(0, scale²) weights
    large enough that both clips trigger."""
    encoder = BiLM(options["char_cnn"], options["lstm"])
    rng = np.random.default_rng(seed)
    arrays = {k: (rng.standard_normal(v.shape) * scale).astype(np.float32)
              for k, v in bilm_tf_arrays(encoder).items()}
    load_bilm_tf_arrays(encoder, arrays)
    return encoder.eval(), arrays


def random_sentences(n: int, seed: int, max_len: int = 9) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [[WORDS[i] for i in rng.integers(0, len(WORDS), rng.integers(0, max_len + 1))] for _ in range(n)]


def fixture_batches(directory: Path, sentences_file: str) -> list[list[list[str]]]:
    """The upstream procedure: 10 batches, batch i = [s[0][i], s[1][i], s[2][i]], whitespace-split."""
    sents = json.loads((directory / sentences_file).read_text())
    return [[sents[k][i].split() for k in range(3)] for i in range(10)]


def fixture_expected(directory: Path) -> list[list[np.ndarray]]:
    """expected[i][k]: top layer (n, 2P) of sentence s[k][i] (forward and backward halves joined)."""
    import h5py

    out = [[None] * 3 for _ in range(10)]
    for k in range(3):
        with h5py.File(directory / f"lm_embeddings_{k}.hdf5", "r") as f:
            for i in range(10):
                e = f[str(i)][()]
                out[i][k] = np.concatenate([e[0], e[1]], axis=-1)
    return out


def top_layer_error(encoder, batches, expected, reset: bool = False) -> float:
    """Max |diff| of the top layer over the fixture stream, read statefully (or reset each batch)."""
    from melmo.model.chars import batch_to_ids

    state, err = None, 0.0
    with torch.no_grad():
        for batch, exp in zip(batches, expected):
            out = encoder(batch_to_ids(batch), None if reset else state)
            state = out.state
            for k, words in enumerate(batch):
                assert int(out.mask[k].sum()) == len(words)
                err = max(err, float(np.abs(out.layers[-1][k, : len(words)].numpy() - exp[k]).max()))
    return err
