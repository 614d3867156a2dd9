"""Prepare the corpus a composed train config asks for (reused when present), and its printed summary.

Library functions shared by ``train.py`` (melmo.train) and ``python -m melmo.corpus prepare`` (melmo.corpus.cli).
"""

from __future__ import annotations

import json
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from melmo.corpus.prepare import prepare
from melmo.corpus.sources import language_sources


def prepare_from_config(cfg: DictConfig) -> Path:
    """Prepare the corpus that ``cfg`` (a composed train config) asks for; reuse it when present."""
    data = cfg.data
    sources = language_sources(
        list(data.languages), data.get("corpus_pattern"), data.get("corpora"), data.get("udpipe_dir"),
        data.get("udpipe_models"), data.get("tokenizer"),
    )
    sampler = instantiate(cfg.sampling)
    opts = instantiate(data.prepare)
    return prepare(sources, sampler, Path(data.prepared_dir), Path(cfg.paths.cache_dir), opts, name=data.name)


def summary(corpus_dir: Path) -> str:
    meta = json.loads((corpus_dir / "metadata.json").read_text())
    lines = [f"prepared corpus: {corpus_dir}", f"sampling: {meta['sampling']}",
             f"{'lang':<5}{'available':>12}{'target':>12}{'realised':>12}{'share':>8}{'cut tok':>9}"]
    for lang in meta["languages"]:
        lines.append(
            f"{lang:<5}{meta['available_tokens'][lang]:>12,}{meta['target_tokens'][lang]:>12,}"
            f"{meta['realised'][lang]['tokens']:>12,}{meta['realised_share'][lang]:>8.1%}{meta['tokens_cut_share'][lang]:>9.2%}"
        )
    lines.append(f"total: {meta['total_tokens']:,} tokens, vocabulary {meta['vocab_size']:,} of {meta['n_types']:,} types "
                 f"(covers {meta['vocab_coverage']:.1%} of tokens)")
    return "\n".join(lines)
