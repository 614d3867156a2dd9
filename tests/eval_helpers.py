"""Helpers for the evaluation tests: tiny random model directories, fixture paths, one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SHARED = ROOT.parent / "shared"
FIXTURES = ROOT / "tests" / "fixtures" / "elmo"  # vendored upstream fixtures (README there: sources, licence)

TINY_OPTIONS = {
    "char_cnn": {"activation": "relu", "embedding": {"dim": 4}, "filters": [[1, 4], [2, 8], [3, 16]],
                 "n_highway": 1, "max_characters_per_token": 50, "n_characters": 262},
    "lstm": {"dim": 16, "projection_dim": 8, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
}


def tiny_model_dir(directory: Path, seed: int = 0, meta: dict | None = None, scale: float = 0.4) -> Path:
    """A random tiny biLM saved in the bilm-tf layout (+ melmo.json when ``meta`` is given)."""
    from melmo.model.encoder import BiLM
    from melmo.model.io import bilm_tf_arrays, load_bilm_tf_arrays, save_bilm

    enc = BiLM(TINY_OPTIONS["char_cnn"], TINY_OPTIONS["lstm"])
    rng = np.random.default_rng(seed)
    arrays = {k: (rng.standard_normal(v.shape) * scale).astype(np.float32)
              for k, v in bilm_tf_arrays(enc).items()}
    load_bilm_tf_arrays(enc, arrays)
    save_bilm(enc, directory)
    if meta is not None:
        (Path(directory) / "melmo.json").write_text(json.dumps(meta))
    return Path(directory)


def one_thread():
    torch.set_num_threads(1)


def first_lines(path: Path, n: int, out: Path) -> Path:
    """The first ``n`` lines of a (.xz) text file written to ``out`` (UTF-8, one newline at the end)."""
    import lzma

    with lzma.open(path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[:n]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def first_sentences(path: Path, n: int, out: Path) -> Path:
    """The first ``n`` sentences of a (.xz) CoNLL-U file written to ``out``."""
    import lzma

    with lzma.open(path, "rt", encoding="utf-8") as fh:
        blocks = [b for b in fh.read().split("\n\n") if b.strip()][:n]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    return out
