"""UDPipe model files: the per-process model cache (``load_model``) and where a language's model is
(``resolve_model``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Mapping

import ufal.udpipe as ud

from melmo.corpus.udpipe.errors import InvalidModelError, ModelNotFoundError
from melmo.languages import check_language

_MODEL_CACHE: dict[tuple[str, int, int], "ud.Model"] = {}
_CACHE_LOCK = threading.Lock()


def load_model(path: Path | str) -> "ud.Model":
    """Load a UDPipe model (cached per process by path, size and mtime); one-line errors naming the file."""
    path = Path(path).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelNotFoundError(f"{path}: UDPipe model file not found") from None
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: not a file (expected a UDPipe model)")
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _CACHE_LOCK:
        model = _MODEL_CACHE.get(key)
        if model is None:
            model = ud.Model.load(str(path))  # returns None instead of raising
            if model is None:
                raise InvalidModelError(f"{path}: not a UDPipe model (ufal.udpipe {ud.__version__} cannot "
                                        "load it)")
            if model.newTokenizer(ud.Model.DEFAULT) is None:
                raise InvalidModelError(f"{path}: this UDPipe model has no tokenizer")
            _MODEL_CACHE[key] = model
    return model


def resolve_model(lang: str, cfg_models: Mapping[str, str] | None, models_dir: Path | str) -> Path:
    """The model file for ``lang``: ``cfg_models[lang]`` (e.g. an official
    ``english-ewt-ud-2.5-191206.udpipe``) when configured, else ``<models_dir>/<lang>.udpipe`` (the shipped
    tokenizers)."""
    code = check_language(lang)
    cfg_models = dict(cfg_models or {})
    configured = cfg_models.get(lang) or cfg_models.get(code)
    path = Path(configured).expanduser() if configured else Path(models_dir) / f"{code}.udpipe"
    if not path.is_file():
        where = "configured" if configured else "default"
        raise ModelNotFoundError(
            f"{path}: UDPipe model for language {code!r} not found ({where} path); train one with: "
            f"python -m melmo.corpus.udpipe train --lang {code} --conllu <UD train/dev .conllu> --out {path}"
        )
    return path
