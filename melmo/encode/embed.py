"""``melmo.embed``: vectors for tokenized sentences from any bilm-tf / NLPL / mELMo model directory.

    vecs = melmo.embed([["Hello", "world", "."]], "path/to/model")            # all layers
    vecs[0].shape        # (L + 1, 3, D): token layer, then each LSTM layer
    melmo.embed(sents, model, layers="average")   # (n, D): the mean of the layers (simple_elmo's default)
    melmo.embed(sents, model, layers=-1)          # (n, D): the top layer
    melmo.embed(sents, model, layers=[0, 2])      # (2, n, D)
    melmo.embed(sents, model, policy="stream", batch_size=3)   # bilm-tf's stateful protocol

The default policy (``stateless``) gives a sentence the same vectors whatever else is in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from melmo.encode.policy import Policy, as_policy, encode
from melmo.errors import ConfigError

_MODELS: dict[tuple, object] = {}


def _model(model_dir):
    from melmo.encode.model_dir import ModelDir

    if isinstance(model_dir, ModelDir):
        return model_dir
    path = Path(model_dir).resolve()
    # keep loaded models (repeated calls reload nothing); a rewritten directory is loaded again
    key = (path, max((p.stat().st_mtime_ns for p in path.iterdir()), default=0) if path.is_dir() else 0)
    if key not in _MODELS:
        _MODELS[key] = ModelDir(model_dir)
    return _MODELS[key]


def select_layers(layers_all: np.ndarray, layers) -> np.ndarray:
    """(L, n, D) -> what ``layers`` asks for: "all", "average", an int or a list of ints."""
    L = layers_all.shape[0]
    if layers is None or layers == "all":
        return layers_all
    if layers == "average":
        return layers_all.mean(0)
    if layers == "top":
        return layers_all[-1]
    if isinstance(layers, int):
        if not -L <= layers < L:
            raise ConfigError(f"layers={layers}: the model has {L} layers (0 = token layer)")
        return layers_all[layers]
    idx = list(layers)
    bad = [k for k in idx if not isinstance(k, int) or not -L <= k < L]
    if bad:
        raise ConfigError(f"layers={idx}: the model has {L} layers (0 = token layer)")
    return layers_all[idx]


def iter_embed(sentences: Sequence[Sequence[str]], model_dir, layers="all",
               policy: Policy | str | None = None, batch_size: int | None = None):
    """Yield (index, vectors) as they are computed (order as ``encode`` yields them)."""
    policy = as_policy(policy)
    if batch_size is not None:
        policy = Policy(policy.name, batch_size, policy.warmup_batches)
    for i, s in enumerate(sentences):
        if isinstance(s, str):
            raise TypeError(f"melmo.embed: sentence {i} is a string; give lists of tokens (e.g. "
                            "line.split())")
    model = _model(model_dir)
    for i, arr in encode(model.encoder, sentences, policy):
        yield i, select_layers(arr, layers)


def embed(sentences: Sequence[Sequence[str]], model_dir, layers="all", policy: Policy | str | None = None,
          batch_size: int | None = None) -> list[np.ndarray]:
    """One float32 array per sentence, in input order (see the module docstring for shapes)."""
    out: list[np.ndarray | None] = [None] * len(sentences)
    for i, arr in iter_embed(sentences, model_dir, layers, policy, batch_size):
        out[i] = np.ascontiguousarray(arr)
    return out  # type: ignore[return-value]
