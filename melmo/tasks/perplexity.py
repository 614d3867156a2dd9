"""Held-out perplexity per language of an exported biLM on a prepared corpus (full softmax, both
directions, bilm-tf's run_test protocol: 0.5 * (forward + backward) cross-entropy)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from melmo.data.datamodule import LMDataModule
from melmo.model.io import BilmFormatError, find_weights, load_bilm, load_softmax, read_vocab


def load_lm(directory: str | Path):
    """(encoder, (W, b), vocab) of an export with its softmax; one-line errors when they disagree."""
    directory = Path(directory)
    weights = find_weights(directory)
    encoder = load_bilm(directory / "options.json", weights)
    softmax = load_softmax(weights)
    if softmax is None:
        raise BilmFormatError(f"{weights}: no softmax/W and softmax/b: this export cannot score text (encoder only)")
    vocab = read_vocab(directory / "vocab.txt")
    W, b = softmax
    if W.shape[0] != len(vocab) or b.shape[0] != len(vocab):
        raise BilmFormatError(
            f"{directory / 'vocab.txt'}: {len(vocab)} tokens but the softmax in {weights.name} has {W.shape[0]} rows"
        )
    if W.shape[1] != encoder.options["lstm"]["projection_dim"]:
        raise BilmFormatError(f"{weights}: softmax/W has width {W.shape[1]}, the LSTM projection is "
                              f"{encoder.options['lstm']['projection_dim']}")
    return encoder, (W, b), vocab


def perplexity(cfg: DictConfig, trainer) -> list[dict]:
    from melmo.lit_bilm import LitBiLM

    export = Path(cfg.encoder.path)
    encoder, (W, b), vocab = load_lm(export)
    corpus_dir = cfg.task.get("corpus_dir") or json.loads((export / "melmo.json").read_text())["corpus_dir"]
    dm = LMDataModule(eval_batch_size=cfg.task.batch_size, eval_unroll_steps=cfg.task.unroll_steps, corpus_dir=corpus_dir,
                      max_chars=encoder.options["char_cnn"]["max_characters_per_token"], batch_size=1)
    dm.load_corpus()
    dm.corpus.use_vocab(vocab)  # score against the model's own vocabulary, whatever the corpus's
    module = LitBiLM(encoder, len(vocab), dm.languages, optimizer=None, n_negative_samples=len(vocab))
    with torch.no_grad():
        module.softmax.weight.copy_(W)
        module.softmax.bias.copy_(b)
    metrics = trainer.validate(module, datamodule=dm, verbose=False)[0]
    name = cfg.encoder.name or export.parent.name
    return [
        {"encoder": name, "task": "perplexity", "metric": "ppl", "language": lang, "seed": cfg.seed,
         "value": f"{metrics[f'val/ppl_{lang}']:.6g}"}
        for lang in dm.languages if f"val/ppl_{lang}" in metrics
    ]
