"""Held-out perplexity per language of an exported biLM on a prepared corpus (full softmax, both
directions, bilm-tf's run_test protocol: 0.5 * (forward + backward) cross-entropy).

The same rows, warm-up and scoring as training-time validation (conf/heldout, melmo.data.heldout,
melmo.pretrain.heldout_metric), run as a plain no-grad loop with the export's own softmax (no sampled
softmax, no LightningModule). Rows: metrics ppl, ppl_iv and unk per language."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from omegaconf import DictConfig

from melmo.data.heldout import HeldoutDataset
from melmo.data.prepared import PreparedCorpus
from melmo.formats.export_meta import META_NAME
from melmo.model.io import BilmFormatError, find_weights, load_bilm, load_softmax, read_vocab
from melmo.pretrain.heldout_metric import HeldoutPerplexity, batch_nll


def load_lm(directory: str | Path):
    """(encoder, (W, b), vocab) of an export with its softmax; one-line errors when they disagree."""
    directory = Path(directory)
    weights = find_weights(directory)
    encoder = load_bilm(directory / "options.json", weights)
    softmax = load_softmax(weights)
    if softmax is None:
        raise BilmFormatError(f"{weights}: no softmax/W and softmax/b: this export cannot score text "
                              "(encoder only)")
    vocab = read_vocab(directory / "vocab.txt")
    W, b = softmax
    if W.shape[0] != len(vocab) or b.shape[0] != len(vocab):
        raise BilmFormatError(
            f"{directory / 'vocab.txt'}: {len(vocab)} tokens but the softmax in {weights.name} has "
            f"{W.shape[0]} rows"
        )
    if W.shape[1] != encoder.options["lstm"]["projection_dim"]:
        raise BilmFormatError(f"{weights}: softmax/W has width {W.shape[1]}, the LSTM projection is "
                              f"{encoder.options['lstm']['projection_dim']}")
    return encoder, (W, b), vocab


def heldout_metrics(encoder, W: torch.Tensor, b: torch.Tensor, corpus: PreparedCorpus, opts,
                    device="cpu") -> dict:
    """Held-out metrics (melmo.pretrain.heldout_metric names, without the ``val/`` prefix) of a biLM with
    softmax (W (V, dim), b (V,)) whose targets ``corpus`` already maps (``corpus.use_vocab``)."""
    encoder = encoder.to(device).eval()
    W, b = W.to(device), b.to(device)
    metric = HeldoutPerplexity(corpus.languages).to(device)
    state = None
    with torch.no_grad():
        for batch in HeldoutDataset(corpus, opts):
            if batch["first"]:
                state = None
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            scored, state = batch_nll(encoder, W, b, batch, state)
            metric.update(scored)
    return {k: float(v) for k, v in metric.compute().items()}


def run(cfg: DictConfig) -> list[dict]:
    """task=perplexity: the rows of :func:`perplexity` on the device of a Lightning trainer built from
    cfg.trainer (no head: nothing random to seed)."""
    from hydra.utils import instantiate

    return perplexity(cfg, instantiate(cfg.trainer, logger=False, callbacks=[]))


def perplexity(cfg: DictConfig, trainer) -> list[dict]:
    """Rows ``ppl``, ``ppl_iv``, ``unk`` per language under the encoder naming of every task
    (EvalContext), seed NO_HEAD_SEED; the pooled ``all`` values go to the recorded protocol."""
    from hydra.utils import instantiate

    from melmo.tasks.common.context import EvalContext

    ctx = EvalContext(cfg)
    export = Path(cfg.encoder.path)
    encoder, (W, b), vocab = load_lm(export)
    corpus_dir = cfg.task.get("corpus_dir") or json.loads((export / META_NAME).read_text())["corpus_dir"]
    corpus = PreparedCorpus(corpus_dir, encoder.options["char_cnn"]["max_characters_per_token"])
    langs = [lang for lang in ctx.languages(corpus.languages, "perplexity", str(corpus_dir))
             if ctx.pending("perplexity", lang)]
    if not langs:
        return []
    corpus.use_vocab(vocab)  # score against the model's own vocabulary, whatever the corpus's
    device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
    metrics = heldout_metrics(encoder, torch.as_tensor(W), torch.as_tensor(b), corpus,
                              instantiate(cfg.heldout), device)
    rows = [ctx.row("perplexity", m, lang, ctx.pending("perplexity", lang)[0], metrics[f"{m}_{lang}"])
            for lang in langs for m in ("ppl", "ppl_iv", "unk") if f"{m}_{lang}" in metrics]
    ctx.append(rows)
    ctx.record("perplexity", {"corpus_dir": str(corpus_dir),
                              "all_languages": {m: metrics[m] for m in ("ppl", "ppl_iv", "unk")
                                                                                if m in metrics}})
    return rows
