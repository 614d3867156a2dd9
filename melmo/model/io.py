"""Read and write ELMo models in the bilm-tf / AllenNLP / NLPL format (bilm-tf bin/train_elmo.py options;
bilm-tf bilm/training.py dump_weights).

    load_bilm(options_path, weights_path) -> BiLM (eval mode)
    load_bilm_dir(directory)              -> BiLM (options.json + weights.hdf5 / model.hdf5 / *.hdf5)
    save_bilm(encoder, directory, vocab=None, softmax=None)
        -> directory/options.json (n_characters 262), weights.hdf5 (exact bilm-tf layout, float32,
           no attributes), vocab.txt when a vocabulary is given; the softmax (W (V, P), b (V,)) goes
           into the HDF5 as the extra datasets softmax/W, softmax/b, which readers ignore (§6).

The conversion between the run-time parameter layout and the HDF5 datasets is exact (transposes,
splits and gate-block permutations; no arithmetic), so load -> save is bit-identical.
Bad input raises BilmFormatError (a ValueError) with one line naming the file and the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from melmo.errors import FormatError
from melmo.model.chars import N_CHARACTERS
from melmo.model.encoder import BiLM
from melmo.model.lstm import RUNTIME_TO_TF, TF_TO_RUNTIME, permute_gates
from melmo.utils.atomic import staged_dir

OPTIONS_NAME = "options.json"
WEIGHTS_NAME = "weights.hdf5"
VOCAB_NAME = "vocab.txt"
# Weight files a directory may hold, in order of preference: ours, NLPL/simple_elmo's, the fixtures'.
WEIGHTS_CANDIDATES = (WEIGHTS_NAME, "model.hdf5", "lm_weights.hdf5")


class BilmFormatError(FormatError):
    """A model file is missing, unreadable or disagrees with options.json."""


def _rnn(d: int, l: int, name: str) -> str:
    # bilm-tf dump_weights names: RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell/* (bilm-tf
    # bilm/training.py dump_weights)
    return f"RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/{name}"


# -- run-time parameters <-> bilm-tf arrays -------------------------------------------------------
def bilm_tf_arrays(encoder: BiLM) -> dict[str, torch.Tensor]:
    """Every weight of ``encoder`` as the bilm-tf HDF5 dataset it is stored in (CPU tensors)."""
    te, out = encoder.token_encoder, {}
    with torch.no_grad():
        # drop the zero row of id 0: 261 rows (bilm-tf bilm/training.py _build_word_char_embeddings)
        out["char_embed"] = te.char_embed.weight[1:]
        for i, conv in enumerate(te.convs):
            # Conv1d (n, d_c, w) -> HDF5 (1, w, d_c, n) (bilm-tf bilm/training.py _build_word_char_embeddings;
            # bilm-tf bilm/training.py dump_weights; AllenNLP _ElmoCharacterEncoder._load_cnn_weights)
            out[f"CNN/W_cnn_{i}"] = conv.weight.permute(2, 1, 0).unsqueeze(0)
            out[f"CNN/b_cnn_{i}"] = conv.bias
        F = te.n_filters
        for k, layer in enumerate(te.highway.layers):  # weight = [W_transformᵀ; W_carryᵀ] (highway.py)
            out[f"CNN_high_{k}/W_carry"] = layer.weight[F:].T
            out[f"CNN_high_{k}/b_carry"] = layer.bias[F:]
            out[f"CNN_high_{k}/W_transform"] = layer.weight[:F].T
            out[f"CNN_high_{k}/b_transform"] = layer.bias[:F]
        if te.proj is not None:
            out["CNN_proj/W_proj"] = te.proj.weight.T
            out["CNN_proj/b_proj"] = te.proj.bias
        for l, layer in enumerate(encoder.lstm.layers):
            for d in range(2):
                # rows: x then h (bilm-tf bilm/model.py _build_lstms; TF1 LSTMCell(num_proj))
                W_0 = torch.cat([layer.w_x[d], layer.w_h[d]], dim=0)
                out[_rnn(d, l, "W_0")] = permute_gates(W_0, RUNTIME_TO_TF)
                # no +1 (TF1 LSTMCell forget_bias)
                out[_rnn(d, l, "B")] = permute_gates(layer.bias[d], RUNTIME_TO_TF)
                if layer.w_p is not None:
                    out[_rnn(d, l, "W_P_0")] = layer.w_p[d]
    return {k: v.detach().cpu().contiguous() for k, v in out.items()}


def load_bilm_tf_arrays(encoder: BiLM, arrays: dict[str, np.ndarray]) -> None:
    """Set every weight of ``encoder`` from bilm-tf arrays (shapes already checked)."""
    te = encoder.token_encoder
    t = {k: torch.as_tensor(np.asarray(v)) for k, v in arrays.items()}
    with torch.no_grad():
        te.char_embed.weight[0].zero_()
        te.char_embed.weight[1:].copy_(t["char_embed"])
        for i, conv in enumerate(te.convs):
            conv.weight.copy_(t[f"CNN/W_cnn_{i}"][0].permute(2, 1, 0))
            conv.bias.copy_(t[f"CNN/b_cnn_{i}"])
        for k, layer in enumerate(te.highway.layers):
            layer.weight.copy_(torch.cat([t[f"CNN_high_{k}/W_transform"].T, t[f"CNN_high_{k}/W_carry"].T]))
            layer.bias.copy_(torch.cat([t[f"CNN_high_{k}/b_transform"], t[f"CNN_high_{k}/b_carry"]]))
        if te.proj is not None:
            te.proj.weight.copy_(t["CNN_proj/W_proj"].T)
            te.proj.bias.copy_(t["CNN_proj/b_proj"])
        for l, layer in enumerate(encoder.lstm.layers):
            n_in = layer.input_dim
            for d in range(2):
                W_0 = permute_gates(t[_rnn(d, l, "W_0")], TF_TO_RUNTIME)
                layer.w_x[d].copy_(W_0[:n_in])
                layer.w_h[d].copy_(W_0[n_in:])
                layer.bias[d].copy_(permute_gates(t[_rnn(d, l, "B")], TF_TO_RUNTIME))
                if layer.w_p is not None:
                    layer.w_p[d].copy_(t[_rnn(d, l, "W_P_0")])


# -- loading --------------------------------------------------------------------------------------
def _read_options(path: Path) -> dict:
    if not path.is_file():
        raise BilmFormatError(f"{path}: no such options file")
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BilmFormatError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(options, dict) or not isinstance(options.get("char_cnn"), dict) \
            or not isinstance(options.get("lstm"), dict):
        raise BilmFormatError(f"{path}: options need 'char_cnn' and 'lstm' objects")
    return options


def _build(options: dict, path: Path) -> BiLM:
    try:
        return BiLM(options["char_cnn"], options["lstm"])
    except (ValueError, TypeError, KeyError) as e:
        raise BilmFormatError(f"{path}: {e}") from None


def _read_weights(path: Path, expected: dict[str, tuple], options_path: Path) -> dict[str, np.ndarray]:
    import h5py

    if not path.is_file():
        raise BilmFormatError(f"{path}: no such weight file")
    try:
        with h5py.File(path, "r") as f:
            arrays = {}
            for name, shape in expected.items():
                ds = f.get(name)
                if not isinstance(ds, h5py.Dataset):
                    raise BilmFormatError(f"{path}: missing dataset {name!r} (expected shape {shape} "
                                          f"from {options_path.name})")
                if tuple(ds.shape) != shape:
                    raise BilmFormatError(f"{path}: dataset {name!r} has shape {tuple(ds.shape)}, "
                                          f"{options_path.name} implies {shape}")
                arrays[name] = np.asarray(ds[()], dtype=np.float32)
            # Files bilm-tf cannot have written for these options (see char_cnn.py / lstm.py).
            for name in ("CNN_proj/W_proj", _rnn(0, 0, "W_P_0")):
                if name not in expected and name in f:
                    raise BilmFormatError(f"{path}: has dataset {name!r}, but {options_path.name} implies "
                                          f"none (bilm-tf builds no projection when the sizes are equal)")
    except (OSError, RuntimeError) as e:  # h5py: truncated, corrupt or not HDF5 at all
        msg = " ".join(str(e).split())
        raise BilmFormatError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {msg}") from None
    return arrays


def load_bilm(options_path: str | os.PathLike, weights_path: str | os.PathLike) -> BiLM:
    """A BiLM built from bilm-tf ``options.json`` and loaded from the HDF5 weights, in eval mode.

    n_characters may be 261 (training options) or 262; C, the filters, sizes and clips all come from
    the options; extra datasets (e.g. softmax/W, softmax/b) are ignored.
    """
    options_path, weights_path = Path(options_path), Path(weights_path)
    encoder = _build(_read_options(options_path), options_path)
    expected = {k: tuple(v.shape) for k, v in bilm_tf_arrays(encoder).items()}
    load_bilm_tf_arrays(encoder, _read_weights(weights_path, expected, options_path))
    return encoder.eval()


def find_weights(directory: str | os.PathLike) -> Path:
    """The weight file of a model directory: weights.hdf5, model.hdf5, lm_weights.hdf5, or the only *.hdf5."""
    directory = Path(directory)
    for name in WEIGHTS_CANDIDATES:
        if (directory / name).is_file():
            return directory / name
    found = sorted(directory.glob("*.hdf5"))
    if len(found) != 1:
        what = "no *.hdf5 file" if not found else f"several *.hdf5 files ({', '.join(p.name for p in found)})"
        raise BilmFormatError(f"{directory}: {what}; expected one of {', '.join(WEIGHTS_CANDIDATES)}")
    return found[0]


def load_bilm_dir(directory: str | os.PathLike) -> BiLM:
    """``load_bilm`` on a model directory (as simple_elmo loads NLPL models, simple_elmo elmo_helpers.py)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BilmFormatError(f"{directory}: no such model directory")
    return load_bilm(directory / OPTIONS_NAME, find_weights(directory))


def load_softmax(weights_path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(softmax/W (V, P), softmax/b (V,)) stored by ``save_bilm``, or None when absent."""
    import h5py

    path = Path(weights_path)
    try:
        with h5py.File(path, "r") as f:
            if "softmax/W" not in f or "softmax/b" not in f:
                return None
            return torch.from_numpy(f["softmax/W"][()]), torch.from_numpy(f["softmax/b"][()])
    except OSError as e:
        raise BilmFormatError(f"{path}: not a readable HDF5 file: {' '.join(str(e).split())}") from None


def read_vocab(path: str | os.PathLike) -> list[str]:
    """vocab.txt: one token per line (bilm-tf; the first three are <S>, </S>, <UNK>)."""
    path = Path(path)
    if not path.is_file():
        raise BilmFormatError(f"{path}: no such vocabulary file")
    lines = path.read_text(encoding="utf-8").split("\n")  # "\n" only, as bilm-tf reads it
    return [w for w in (line.strip() for line in lines) if w and w != "!!!MAXTERMID"]  # bilm-tf skips it


# -- saving ---------------------------------------------------------------------------------------
def _softmax_arrays(softmax, P: int) -> dict[str, np.ndarray]:
    if isinstance(softmax, dict):
        W, b = softmax["W"], softmax["b"]
    elif isinstance(softmax, (tuple, list)):
        W, b = softmax
    else:  # a module with .weight and .bias
        W, b = softmax.weight, softmax.bias
    W = torch.as_tensor(W).detach().cpu().float().numpy()
    b = torch.as_tensor(b).detach().cpu().float().numpy()
    if W.ndim != 2 or W.shape[1] != P or b.shape != (W.shape[0],):
        raise ValueError(f"softmax must be W (V, {P}) and b (V,), got {W.shape} and {b.shape}")
    # extra datasets, ignored by readers (bilm-tf bilm/training.py dump_weights)
    return {"softmax/W": W, "softmax/b": b}


def _write_model(tmp: Path, encoder: BiLM, vocab: list[str] | None, softmax) -> None:
    import h5py

    options = encoder.options
    # 262 for inference (bilm-tf bin/train_elmo.py options; bilm-tf bilm/model.py, n_characters 262 at
    # inference)
    options["char_cnn"]["n_characters"] = N_CHARACTERS
    if vocab is not None:
        options["n_tokens_vocab"] = len(vocab)  # bilm-tf training key; readers ignore it
    arrays = {k: v.float().numpy() for k, v in bilm_tf_arrays(encoder).items()}
    if softmax is not None:
        arrays.update(_softmax_arrays(softmax, encoder.projection_dim))
    with h5py.File(tmp / WEIGHTS_NAME, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=np.ascontiguousarray(value, dtype=np.float32))
    (tmp / OPTIONS_NAME).write_text(json.dumps(options, indent=2) + "\n", encoding="utf-8")
    if vocab is not None:
        (tmp / VOCAB_NAME).write_text("".join(f"{w}\n" for w in vocab), encoding="utf-8")


def save_bilm(encoder: BiLM, directory: str | os.PathLike, vocab: Iterable[str] | None = None,
              softmax=None) -> Path:
    """Write ``encoder`` to ``directory`` in the bilm-tf layout; returns the directory.

    Atomic: everything is written into a temporary directory next to the target first. A new
    directory is then renamed into place; in an existing one each file is replaced by rename, so
    no file is ever half written. On failure nothing of the new model is left behind.
    """
    directory = Path(directory)
    if vocab is not None:
        vocab = list(vocab)
        bad = next((w for w in vocab if "\n" in w or "\r" in w), None)
        if bad is not None:
            raise ValueError(f"vocabulary token {bad!r} cannot be written one per line")
        if softmax is not None:
            V = _softmax_arrays(softmax, encoder.projection_dim)["softmax/b"].shape[0]
            if V != len(vocab):
                raise ValueError(f"softmax has {V} rows but the vocabulary {len(vocab)} tokens")
    with staged_dir(directory, merge=True) as tmp:
        _write_model(tmp, encoder, vocab, softmax)
    return directory
