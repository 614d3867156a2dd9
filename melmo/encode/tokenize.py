"""Tokenize raw text (Tatoeba, XNLI) the way the model's training corpus was tokenized.

    tok = raw_tokenizer(model_dir, "fi", fallback={"kind": "whitespace"})
    tok.tokenize(["Hyvää huomenta.", ...])   # one token list per input line
    tok.describe()                           # recorded in the activation cache key and the results

The tokenizer comes from the model's melmo.json (the UDPipe model bundled in the export, checked
by sha256; multiword tokens as the corpus had them). Models without one (bilm-tf / NLPL downloads,
or ours trained on CoNLL-U without ``data.conllu_udpipe_dir``) need the fallback chosen by name:
``udpipe`` with ``models: {lang: path}`` or ``whitespace`` (split on spaces; recorded); by default
(``error``) a raw-text task stops with one line naming the option, never splitting on spaces silently.
Each input line is one sentence (UDPipe presegmented).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from melmo.encode.model_dir import ModelDir, ModelDirError
from melmo.errors import ConfigError
from melmo.formats.files import file_sha256


class RawTokenizer:
    def __init__(self, kind: str, model_path: Path | None = None, options: Mapping | None = None):
        self.kind = kind
        self.model_path = model_path
        self.options = dict(options or {})
        self._udpipe = None
        if kind in ("udpipe", "builtin"):
            from melmo.corpus.udpipe import Tokenizer

            multiword = self.options.get("multiword", "split")
            if kind == "udpipe":  # each input line is one sentence (UDPipe presegmented)
                self._udpipe = Tokenizer(model_path, multiword=multiword, sentences="line")
            else:
                self._udpipe = Tokenizer(None, builtin=self.options["builtin"], multiword=multiword,
                                         sentences="line")
        elif kind != "whitespace":
            raise ConfigError(f"raw tokenizer kind {kind!r}: use udpipe, builtin or whitespace")

    def tokenize(self, lines: Iterable[str]) -> list[list[str]]:
        out = []
        for line in lines:
            if self._udpipe is None:
                out.append(line.split())
            else:
                sents = self._udpipe.tokenize(line) if line.strip() else []
                out.append([t for s in sents for t in s])
        return out

    def describe(self) -> dict:
        d = {"kind": self.kind, **{k: v for k, v in sorted(self.options.items()) if v is not None}}
        if self.model_path is not None:
            d["udpipe_sha256"] = file_sha256(self.model_path)
        return d


def raw_tokenizer(model: ModelDir, lang: str, fallback: Mapping | None = None) -> RawTokenizer:
    """The tokenizer ``model`` was trained with for ``lang``; ``fallback`` when melmo.json has none."""
    path = model.tokenizer_path(lang)
    entry = model.tokenizer_entry(lang) or {}
    options = entry.get("options") or {}
    if path is not None:
        return RawTokenizer("udpipe", path, {"multiword": options.get("multiword", "split")})
    if options.get("builtin"):
        return RawTokenizer("builtin", None,
                            {"builtin": options["builtin"], "multiword": options.get("multiword", "split")})
    fallback = dict(fallback or {"kind": "error"})
    kind = fallback.get("kind", "error")
    if kind == "whitespace":
        return RawTokenizer("whitespace")
    if kind == "udpipe":
        models = fallback.get("models") or {}
        if lang not in models:
            raise ModelDirError(f"{model.path}: no tokenizer for {lang!r} in melmo.json and none in "
                                f"encode.raw_tokenizer.models (give {lang}: <path to a .udpipe model>)")
        p = Path(models[lang])
        if not p.is_file():
            raise ModelDirError(f"{p}: UDPipe model for {lang!r} (encode.raw_tokenizer.models) not found")
        return RawTokenizer("udpipe", p, {"multiword": fallback.get("multiword", "split")})
    if kind == "error":
        raise ModelDirError(f"{model.path}: no tokenizer recorded for {lang!r} (a CoNLL-U-trained or foreign "
                            "model): set encode.raw_tokenizer.kind=udpipe with "
                            f"encode.raw_tokenizer.models.{lang}=<model.udpipe>, or kind=whitespace, or "
                            "train with data.conllu_udpipe_dir=<dir of <lang>.udpipe>")
    raise ConfigError(f"encode.raw_tokenizer.kind={kind!r}: use whitespace, udpipe or error")
