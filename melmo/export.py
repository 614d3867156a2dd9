"""Export a trained biLM: the bilm-tf / NLPL layout plus melmo.json and the tokenizers it was trained with.

    export(module, corpus, run_dir / "model", cfg)

    model/options.json, weights.hdf5 (+ softmax/W, softmax/b), vocab.txt   (melmo.model.io.save_bilm)
    model/tokenizers/<lang>.udpipe   a copy of each UDPipe model the corpus was tokenized with
    model/melmo.json                 {"corpus": the corpus metadata, "corpus_dir", "run": {seed, model,
                                      sampling, run_dir, steps}, "tokenizers": {lang: {"path":
                                      "tokenizers/<lang>.udpipe" (relative), "sha256", "options"}},
                                      "checkpoint": which weights (best|last, step, score)}

The whole directory is built under a temporary name beside the target and published by rename,
so a reader never sees a model without its melmo.json or tokenizers. A tokenizer whose file is
missing or no longer has the hash recorded at corpus preparation is a one-line error: the model
must be evaluated with the tokenizer that produced its training text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from melmo.corpus.readers import file_sha256
from melmo.utils.atomic import staged_dir

TOKENIZER_DIR = "tokenizers"


class ExportError(ValueError):
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
    from omegaconf.errors import OmegaConfBaseException

    try:
        info["run_dir"] = Path(cfg.paths.output_dir).name
    except OmegaConfBaseException:  # an unresolvable ${hydra:...} outside a run
        info["run_dir"] = None
    return info


def bundle_tokenizers(metadata: dict, directory: Path) -> dict:
    """Copy each language's UDPipe model into ``directory/tokenizers``; return melmo.json's entries."""
    out = {}
    for lang, src in sorted((metadata.get("sources") or {}).items()):
        opts = src.get("tokenizer") if isinstance(src.get("tokenizer"), dict) else {}
        model = src.get("udpipe_model")
        if not model:  # CoNLL-U input (already tokenized) or a named model-free tokenizer
            out[lang] = {"path": None, "sha256": None, "options": opts, "source": src.get("tokenizer")}
            continue
        path = Path(model)
        if not path.is_file():
            raise ExportError(f"{path}: the UDPipe model that tokenized {lang!r} for this corpus is missing")
        digest = file_sha256(path)
        if src.get("udpipe_model_sha256") and digest != src["udpipe_model_sha256"]:
            raise ExportError(f"{path}: UDPipe model for {lang!r} changed since the corpus was tokenized (sha256 mismatch)")
        rel = f"{TOKENIZER_DIR}/{lang}.udpipe"
        (directory / TOKENIZER_DIR).mkdir(exist_ok=True)
        shutil.copyfile(path, directory / rel)
        out[lang] = {"path": rel, "sha256": digest, "options": opts}
    return out


def export(module, corpus, directory: str | Path, cfg=None, checkpoint: dict | None = None) -> Path:
    """Write the model directory atomically; returns it. ``checkpoint`` says which weights these are
    (best or last, step, monitored score: melmo.export_choice)."""
    from melmo.model.io import save_bilm

    directory = Path(directory)
    with staged_dir(directory, replace=True) as tmp:  # a reader sees the old model or the new one, whole
        save_bilm(module.encoder, tmp, vocab=corpus.vocab, softmax=(module.softmax.weight, module.softmax.bias))
        meta = {"corpus": corpus.metadata, "corpus_dir": str(corpus.directory), "run": _run_info(cfg, module),
                "tokenizers": bundle_tokenizers(corpus.metadata, tmp), "checkpoint": checkpoint}
        (tmp / "melmo.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
    return directory
