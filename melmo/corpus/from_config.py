"""Prepare the corpus a composed train config asks for (reused when present), and its printed summary.

Library functions shared by ``train.py`` (melmo.pretrain.run) and ``python -m melmo.corpus prepare``
(melmo.corpus.cli).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from melmo.corpus.prepare import prepare
from melmo.corpus.readers import CorpusError
from melmo.corpus.sources import language_sources


def prepare_from_config(cfg: DictConfig) -> Path:
    """Prepare the corpus that ``cfg`` (a composed train config) asks for; reuse it when present."""
    data = cfg.data
    given = OmegaConf.to_container(data.corpora, resolve=True) if data.get("corpora") else {}
    corpora = {k: v for k, v in given.items() if v}
    # corpus_pattern is read only when a language has no data.corpora entry: data=conll17 with every
    # language given by data.corpora needs no data.conll17_root (a missing one is a one-line config error)
    pattern = None if all(lang in corpora for lang in data.languages) else data.get("corpus_pattern")
    sources = language_sources(
        list(data.languages), pattern, corpora, data.get("udpipe_dir"),
        data.get("udpipe_models"), data.get("tokenizer"),
    )
    sampler = instantiate(cfg.sampling)
    opts = instantiate(data.prepare)
    out_root, cache = Path(data.prepared_dir), Path(cfg.paths.cache_dir)
    vocab_from = data.get("vocab_from")
    # the vocabulary of the corpus that sampling config `vocab_from` prepares from the same inputs
    if vocab_from:
        if opts.vocab_file:
            raise CorpusError(f"data.vocab_from={vocab_from} and data.prepare.vocab_file={opts.vocab_file}: "
                              "set one of them")
        named = prepare(sources, instantiate(sampling_config(str(vocab_from))), out_root, cache, opts,
                        name=data.name)
        opts = replace(opts, vocab_file=str(named / "vocab.txt"))
    return prepare(sources, sampler, out_root, cache, opts, name=data.name)


def sampling_config(name: str) -> DictConfig:
    """The sampling config group's option ``name`` (conf/sampling/<name>.yaml), composed by Hydra from the
    running app's config search path, so its defaults list and interpolations apply as for
    ``sampling=<name>``."""
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import MissingConfigException

    if not GlobalHydra.instance().is_initialized():
        raise CorpusError(f"data.vocab_from={name}: composing sampling={name} needs Hydra's config search "
                          "path (call inside @hydra.main or hydra.initialize_config_dir)")
    try:
        return compose(overrides=[f"+sampling={name}"]).sampling
    except MissingConfigException:
        raise CorpusError(f"data.vocab_from={name}: no sampling config named {name!r} "
                          "(conf/sampling/)") from None


def summary(corpus_dir: Path) -> str:
    meta = json.loads((corpus_dir / "metadata.json").read_text())
    lines = [f"prepared corpus: {corpus_dir}", f"sampling: {meta['sampling']}",
             f"{'lang':<5}{'available':>12}{'target':>12}{'realised':>12}{'share':>8}{'cut tok':>9}"
             f"{'<UNK>':>8}{'held-out':>10}{'<UNK>':>8}"]
    for lang in meta["languages"]:
        r = meta["realised"][lang]
        lines.append(
            f"{lang:<5}{meta['available_tokens'][lang]:>12,}{meta['target_tokens'][lang]:>12,}"
            f"{meta['realised'][lang]['tokens']:>12,}{meta['realised_share'][lang]:>8.1%}"
            f"{meta['tokens_cut_share'][lang]:>9.2%}{_share(r['unk_tokens'], r['tokens']):>8}"
            f"{r['heldout_tokens']:>10,}{_share(r['heldout_unk_tokens'], r['heldout_tokens']):>8}"
        )
    lines.append(f"total: {meta['total_tokens']:,} tokens, vocabulary {meta['vocab_size']:,} of "
                 f"{meta['n_types']:,} types (covers {meta['vocab_coverage']:.1%} of tokens)"
                 + (f", shared from {meta['vocab_file']['path']}" if meta.get("vocab_file") else ""))
    lines.append("<UNK>: share of tokens outside the softmax vocabulary (training stream; held-out split)")
    return "\n".join(lines)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"
