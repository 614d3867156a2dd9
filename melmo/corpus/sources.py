"""From the ``data`` config group to the per-language sources that corpus preparation reads."""

from __future__ import annotations

import glob
from collections.abc import Mapping
from pathlib import Path

from melmo.corpus.readers import CorpusError
from melmo.corpus.tokenized import LanguageSource
from melmo.languages import check_language


def language_sources(
    languages: list[str],
    corpus_pattern: str | None = None,
    corpora: Mapping[str, str | list[str]] | None = None,
    udpipe_dir: str | None = None,
    udpipe_models: Mapping[str, str] | None = None,
    tokenizer: Mapping | None = None,
) -> list[LanguageSource]:
    """One ``LanguageSource`` per language.

    A language's files are ``corpora[lang]`` (a path, a glob or a list of them) when given, else
    ``corpus_pattern`` with ``{lang}`` replaced (globs allowed, files sorted). Its UDPipe model is
    ``udpipe_models[lang]`` (e.g. an official UDPipe 2.x model file) when given, else
    ``<udpipe_dir>/<lang>.udpipe`` (the tokenizers shipped in data/udpipe/).
    """
    corpora = {k: v for k, v in dict(corpora or {}).items() if v}  # a key set to null: corpus_pattern
    udpipe_models = {k: v for k, v in dict(udpipe_models or {}).items() if v}
    for lang in list(corpora) + list(udpipe_models):
        if check_language(lang) not in [check_language(x) for x in languages]:
            raise CorpusError(f"data config names language {lang!r} that is not in data.languages")
    out = []
    for lang in languages:
        code = check_language(lang)
        spec = corpora.get(lang) or corpora.get(code) or corpus_pattern
        if spec is None:
            raise CorpusError(f"no corpus configured for language {code!r} (set data.corpora.{code} or "
                              "data.corpus_pattern)")
        patterns = [spec] if isinstance(spec, str) else list(spec)
        paths: list[Path] = []
        for pattern in patterns:
            pattern = str(pattern).replace("{lang}", code)
            matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
            if not matches:
                raise CorpusError(f"{pattern}: no corpus file matches for language {code!r}")
            paths += [Path(m) for m in matches]
        model = udpipe_models.get(lang) or udpipe_models.get(code)
        if model is None and udpipe_dir is not None:
            model = str(Path(udpipe_dir) / f"{code}.udpipe")
        out.append(LanguageSource(code, paths, Path(model) if model else None, dict(tokenizer or {})))
    return out


def check_udpipe_model(path: Path, lang: str, tokenizer: Mapping | None = None) -> None:
    """Load ``path`` as a UDPipe tokenizer now, so that a wrong file fails before any tokenization
    with a one-line ``CorpusError`` naming it (not a traceback from a worker process)."""
    from melmo.corpus.udpipe import Tokenizer, UDPipeError

    try:
        Tokenizer(path, **dict(tokenizer or {}))
    except UDPipeError as err:  # names the file: not found, not a UDPipe model, no tokenizer, bad option
        raise CorpusError(f"{str(err).splitlines()[0]} (UDPipe model for language {lang!r})") from None
    except ValueError as err:
        raise CorpusError(f"data.tokenizer: {str(err).splitlines()[0]}") from None
