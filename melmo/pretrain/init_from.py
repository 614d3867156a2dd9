"""Continued pre-training: ``python train.py init_from=<model dir>`` starts from an exported biLM.

The source is any bilm-tf layout directory: ours (train.py's export: options.json, weights.hdf5
with softmax/W, softmax/b, vocab.txt), bilm-tf's or AllenNLP's (options.json + an HDF5 of the
encoder) or an NLPL model (model.hdf5 + vocab.txt, no softmax). ``configure(cfg)`` (one call at the
top of melmo.pretrain.run.run) makes the run:

* build the encoder from the source's options.json (``model.char_cnn`` / ``model.lstm`` replaced;
  the configured dropout is kept) and load its weights (the ``InitFrom`` callback, at ``setup``:
  before a resumed checkpoint is restored, so a resume continues from the checkpoint);
* where the source holds a softmax *and* a vocab.txt: prepare the new corpus with that
  vocabulary (``data.prepare.vocab_file``) and start the softmax from the source's rows;
  otherwise (a released HDF5 holds no softmax, bilm-tf bilm/training.py dump_weights writes none) the
  softmax starts fresh over the new corpus's own vocabulary. The log says which.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf, open_dict

from melmo.corpus.vocabulary import prepared_order, read_vocab_file, source_rows
from melmo.model.io import (
    OPTIONS_NAME,
    VOCAB_NAME,
    BilmFormatError,
    find_weights,
    load_bilm_dir,
    load_softmax,
)

log = logging.getLogger(__name__)


def _source(directory: Path) -> tuple[dict, Path, tuple | None, Path | None]:
    """(options, weight file, softmax (W, b) or None, vocab.txt kept with it or None)."""
    if not directory.is_dir():
        raise BilmFormatError(f"{directory}: init_from is not a model directory")
    options_path = directory / OPTIONS_NAME
    try:
        options = json.loads(options_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BilmFormatError(f"{options_path}: cannot read the model options ({err})") from None
    if (not isinstance(options, dict) or not isinstance(options.get("char_cnn"), dict)
            or not isinstance(options.get("lstm"), dict)):
        raise BilmFormatError(f"{options_path}: options need 'char_cnn' and 'lstm' objects")
    weights = find_weights(directory)
    softmax = load_softmax(weights)
    vocab = directory / VOCAB_NAME
    if softmax is None or not vocab.is_file():
        return options, weights, None, None
    words = read_vocab_file(vocab)
    if len(words) != softmax[0].shape[0]:
        raise BilmFormatError(f"{vocab}: {len(words)} tokens, but the softmax in {weights.name} has "
                              f"{softmax[0].shape[0]} rows")
    return options, weights, softmax, vocab


def configure(cfg: DictConfig) -> DictConfig:
    """``cfg`` set up to continue from ``cfg.init_from`` (unchanged when it is not set)."""
    source = cfg.get("init_from")
    if not source:
        return cfg
    directory = Path(str(source)).expanduser()
    options, _, softmax, vocab = _source(directory)
    with open_dict(cfg):
        cfg.model.char_cnn = OmegaConf.create(options["char_cnn"])
        cfg.model.lstm = OmegaConf.create(options["lstm"])
        if softmax is not None:
            given = cfg.data.prepare.get("vocab_file")
            if given and Path(str(given)).resolve() != vocab.resolve():
                raise BilmFormatError(f"data.prepare.vocab_file={given}: init_from={directory} keeps its own "
                                      f"{VOCAB_NAME}; unset one of them")
            cfg.data.prepare.vocab_file = str(vocab)
        if cfg.get("callbacks") is None:
            cfg.callbacks = {}
        cfg.callbacks.init_from = {"_target_": f"{__name__}.InitFrom", "directory": str(directory),
                                   "keep_softmax": softmax is not None}
    return cfg


class InitFrom(L.Callback):
    """Loads the source's encoder (and softmax) into the LitBiLM before training starts."""

    def __init__(self, directory: str, keep_softmax: bool):
        self.directory, self.keep_softmax = Path(directory), keep_softmax

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        source = load_bilm_dir(self.directory)
        try:
            pl_module.encoder.load_state_dict(source.state_dict())
        except RuntimeError as err:
            raise BilmFormatError(f"{self.directory}: weights do not fit the encoder "
                                  f"({str(err).splitlines()[0]})") from None
        vocab = trainer.datamodule.load_corpus().vocab
        if self.keep_softmax:
            words = read_vocab_file(self.directory / VOCAB_NAME)
            if vocab != prepared_order(words):
                raise BilmFormatError(f"{self.directory / VOCAB_NAME}: the prepared corpus has another "
                                      "vocabulary (data.prepare.vocab_file?)")
            W, b = load_softmax(find_weights(self.directory))
            rows = torch.as_tensor(source_rows(words))
            with torch.no_grad():
                pl_module.softmax.weight.copy_(W[rows])
                pl_module.softmax.bias.copy_(b[rows])
            rank_zero_info(f"init_from {self.directory}: encoder weights loaded; softmax and vocabulary "
                           f"({len(words):,} tokens) kept from the source, the new corpus prepared with its "
                           f"{VOCAB_NAME}")
        else:
            rank_zero_info(f"init_from {self.directory}: encoder weights loaded; the source holds no softmax "
                           f"with a {VOCAB_NAME}, so the softmax starts fresh over the new corpus's "
                           f"vocabulary ({len(vocab):,} tokens)")
