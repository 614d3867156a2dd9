"""The body of ``evaluate.py``: measure a frozen, exported biLM and append long-format results.

Task implemented here: ``perplexity`` -- held-out perplexity per language (full softmax, both
directions, bilm-tf's run_test protocol) of an exported model on a prepared corpus. Rows go to the
results CSV with the columns of DESIGN.md: ``encoder,task,metric,language,seed,value``.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from melmo.data.datamodule import LMDataModule
from melmo.model.io import BilmFormatError, find_weights, load_bilm, load_softmax, read_vocab

log = logging.getLogger(__name__)
RESULT_COLUMNS = ("encoder", "task", "metric", "language", "seed", "value")


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


def append_results(path: Path, rows: list[dict]) -> None:
    """Append rows atomically (the whole file is rewritten under a temporary name, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.read_text(encoding="utf-8") if path.is_file() else ",".join(RESULT_COLUMNS) + "\n"
    if not old.startswith(",".join(RESULT_COLUMNS)):
        raise ValueError(f"{path}: not a mELMo results file (header must be {','.join(RESULT_COLUMNS)})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(old)
        csv.DictWriter(fh, RESULT_COLUMNS).writerows(rows)
    tmp.replace(path)


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


TASKS = {"perplexity": perplexity}


def run(cfg: DictConfig) -> list[dict]:
    import lightning as L

    L.seed_everything(cfg.seed, workers=True)
    if cfg.task.name not in TASKS:
        raise ValueError(f"unknown task {cfg.task.name!r} (available: {', '.join(TASKS)})")
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])
    rows = TASKS[cfg.task.name](cfg, trainer)
    append_results(Path(cfg.results), rows)
    log.info("appended %d rows to %s", len(rows), cfg.results)
    return rows
