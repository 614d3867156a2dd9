"""Export a trained biLM: the bilm-tf / NLPL layout plus melmo.json and the tokenizers it was trained with.

Which weights: ``export=best`` (the checkpoint the ModelCheckpoint monitoring a ``val/`` metric kept,
conf/callbacks/default.yaml ``best_checkpoint``, by in-vocabulary held-out perplexity) or ``export=last``;
the record of which goes into melmo.json, so an export always says which weights it holds.

    export(module, corpus, run_dir / "model", cfg)

    model/options.json, weights.hdf5 (+ softmax/W, softmax/b), vocab.txt   (melmo.model.io.save_bilm)
    model/tokenizers/<lang>.udpipe   a copy of each UDPipe model the corpus was tokenized with
    model/melmo.json                 {"corpus": the corpus metadata, "corpus_dir", "run": {seed, model,
                                      sampling, run_dir, steps, run_label, run_tags (the W&B group and
                                      tags)}, "tokenizers": {lang: {"path":
                                      "tokenizers/<lang>.udpipe" (relative), "sha256", "options"}},
                                      "checkpoint": which weights (best|last, step, score)}

The whole directory is built under a temporary name beside the target and published by rename,
so a reader never sees a model without its melmo.json or tokenizers. A tokenizer whose file is
missing or no longer has the hash recorded at corpus preparation is a one-line error: the model
must be evaluated with the tokenizer that produced its training text.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch

from melmo.errors import MelmoError
from melmo.formats.export_meta import META_NAME
from melmo.formats.files import file_sha256
from melmo.utils.atomic import staged_dir

log = logging.getLogger(__name__)

TOKENIZER_DIR = "tokenizers"


class ExportError(MelmoError, ValueError):
    pass


def _run_info(cfg, module) -> dict:
    info = {"steps": int(getattr(module, "global_step", 0) or 0)}
    if cfg is None:
        return info
    info["seed"] = cfg.get("seed")
    try:
        from hydra.core.hydra_config import HydraConfig

        choices = HydraConfig.get().runtime.choices
        info["model"] = choices.get("model")
        info["sampling"] = choices.get("sampling")
    except (ValueError, AttributeError):  # no Hydra run (library use)
        pass
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        info["run_dir"] = Path(cfg.paths.output_dir).name
    except OmegaConfBaseException:  # an unresolvable ${hydra:...} outside a run
        info["run_dir"] = None
    for key in ("run_label", "run_tags"):  # the LM run's W&B group and tags: its evaluations log there too
        try:
            value = cfg.get(key)
            info[key] = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        except OmegaConfBaseException:
            info[key] = None
    return info


def bundle_tokenizers(metadata: dict, directory: Path, conllu_udpipe_dir: str | Path | None = None) -> dict:
    """Copy each language's UDPipe model into ``directory/tokenizers``; return melmo.json's entries.
    A language read from CoNLL-U gets ``<conllu_udpipe_dir>/<lang>.udpipe`` when that directory is given
    (the UDPipe models that tokenized the corpus, e.g. the CoNLL 2017 dumps' baseline models)."""
    out = {}
    for lang, src in sorted((metadata.get("sources") or {}).items()):
        opts = src.get("tokenizer") if isinstance(src.get("tokenizer"), dict) else {}
        model = src.get("udpipe_model")
        given = Path(conllu_udpipe_dir) / f"{lang}.udpipe" if conllu_udpipe_dir else None
        if (not model and given is not None and "conllu" in (src.get("format") or ["conllu"])
                and given.is_file()):
            # CoNLL-U FORMs are syntactic words: split multiword tokens
            rel = f"{TOKENIZER_DIR}/{lang}.udpipe"
            (directory / TOKENIZER_DIR).mkdir(exist_ok=True)
            shutil.copyfile(given, directory / rel)
            out[lang] = {"path": rel, "sha256": file_sha256(given), "options": {"multiword": "split"},
                         "source": f"data.conllu_udpipe_dir: {given}"}
            continue
        if not model:  # CoNLL-U input (already tokenized) or a named model-free tokenizer
            out[lang] = {"path": None, "sha256": None, "options": opts, "source": src.get("tokenizer")}
            continue
        path = Path(model)
        if not path.is_file():
            raise ExportError(f"{path}: the UDPipe model that tokenized {lang!r} for this corpus is missing")
        digest = file_sha256(path)
        if src.get("udpipe_model_sha256") and digest != src["udpipe_model_sha256"]:
            raise ExportError(f"{path}: UDPipe model for {lang!r} changed since the corpus was tokenized "
                              "(sha256 mismatch)")
        rel = f"{TOKENIZER_DIR}/{lang}.udpipe"
        (directory / TOKENIZER_DIR).mkdir(exist_ok=True)
        shutil.copyfile(path, directory / rel)
        out[lang] = {"path": rel, "sha256": digest, "options": opts}
    return out


def _conllu_udpipe_dir(cfg) -> str | None:
    data = cfg.get("data") if cfg is not None else None
    return data.get("conllu_udpipe_dir") if data is not None else None


def export(module, corpus, directory: str | Path, cfg=None, checkpoint: dict | None = None) -> Path:
    """Write the model directory atomically; returns it. ``checkpoint`` says which weights these are
    (best or last, step, monitored score: melmo.pretrain.export)."""
    from melmo.model.io import save_bilm

    directory = Path(directory)
    with staged_dir(directory, replace=True) as tmp:  # a reader sees the old model or the new one, whole
        save_bilm(module.encoder, tmp, vocab=corpus.vocab,
                  softmax=(module.softmax.weight, module.softmax.bias))
        meta = {"corpus": corpus.metadata, "corpus_dir": str(corpus.directory), "run": _run_info(cfg, module),
                "tokenizers": bundle_tokenizers(corpus.metadata, tmp, _conllu_udpipe_dir(cfg)),
                "checkpoint": checkpoint}
        (tmp / META_NAME).write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
    return directory

CHOICES = ("best", "last")


def export_choice(value) -> str | None:
    """``export`` config value -> "best" | "last" | None (no export); a one-line error otherwise."""
    if value in (None, False, "false", "none"):
        return None
    if value not in CHOICES:
        raise ExportError(f"export={value!r}: expected best, last or false")
    return value


def _best_callback(trainer):
    for cb in trainer.checkpoint_callbacks:
        if (cb.monitor or "").startswith("val/") and cb.best_model_path:
            return cb
    return None


def load_export_weights(module, trainer, which: str) -> dict:
    """Load the chosen weights into ``module`` (``last``: leave them) and describe them."""
    record = {"which": "last", "step": int(trainer.global_step)}
    if which == "best":
        cb = _best_callback(trainer)
        if cb is None:
            log.warning("export=best but no held-out checkpoint was kept (no validation or no "
                        "best_checkpoint callback): exporting the last weights")
            record["requested"] = "best"
        else:
            ckpt = torch.load(cb.best_model_path, map_location="cpu", weights_only=True)
            module.load_state_dict(ckpt["state_dict"])
            record = {"which": "best", "step": int(ckpt["global_step"]), "checkpoint": cb.best_model_path,
                      "monitor": cb.monitor, "score": float(cb.best_model_score)}
    return record
