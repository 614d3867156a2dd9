"""What every frozen-encoder evaluation shares: the model, its name, the encoding policy, the
activation cache, the seeds, the results files and the skip-if-done rule.

    ctx = EvalContext(cfg)
    for lang in ctx.languages(available, task="pos"):
        acts = ctx.encode(sentences, tokenization={...}, label="fi/dev", language="fi")
        for seed in ctx.pending("pos", lang):
            ...; ctx.append(rows); ctx.write_predictions("pos", lang, seed, items, gold, pred)
    ctx.record("pos", protocol)     # the composed config beside the CSV (append: the encoders table rows)

Files beside ``cfg.results`` (the long CSV): ``encoders.csv``, ``configs/<task>/<encoder>.yaml``
(the composed config, the split protocol and conventions actually used, and ``heads``: each trained
head's best and last epoch against its limit, ``<language>: {<seed>: {...}}``), and
``predictions/<task>/<encoder>/<language>.seed<seed>.tsv``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from melmo.encode.cache import ActivationCache, CachedActivations
from melmo.encode.model_dir import ModelDir
from melmo.encode.policy import Policy, as_policy
from melmo.languages import UnknownLanguageError
from melmo.results.predictions import predictions_path, write_predictions
from melmo.results.table import (
    append_results,
    check_encoder,
    done_keys,
    replace_results,
    seeds_of,
    update_encoders,
)
from melmo.utils.atomic import write_atomic

log = logging.getLogger(__name__)


class EvalContext:
    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.model = ModelDir(cfg.encoder.path)
        pol = cfg.encode.policy
        self.policy: Policy = as_policy(OmegaConf.to_container(pol) if OmegaConf.is_config(pol) else pol)
        base = cfg.encoder.get("name") or self.model.name
        # a non-default policy gives other vectors: it gets its own encoder name in the results
        self.name = base if self.policy.name == "stateless" else f"{base}+{self.policy.label()}"
        self.results = Path(cfg.results)
        self.results_dir = self.results.parent
        self.encoders_path = self.results_dir / "encoders.csv"
        self.cache = ActivationCache(cfg.encode.cache_dir)
        self.seeds = [int(s) for s in cfg.seeds]
        self.force = bool(cfg.get("force", False))
        self._done = done_keys(self.results)
        self._heads: dict[str, dict] = {}

    def languages(self, available: Sequence[str], task: str, where: str) -> list[str]:
        """cfg.language (a code, a list, or null = every language the task's data has)."""
        want = self.cfg.get("language")
        if want is None:
            want = list(available)
        want = [want] if isinstance(want, str) else list(want)
        bad = [w for w in want if w not in available]
        if bad:
            raise UnknownLanguageError(f"{where}: task {task} has no data for language(s) {', '.join(bad)} "
                                       f"(available: {', '.join(available)})")
        self.check_name(want)
        return want

    def check_name(self, languages: Sequence[str]) -> None:
        """Another model under this encoder name for one of ``languages``: refused before any row is
        written."""
        check_encoder(self.encoders_path, self.name, languages, self.model.weights_sha256)

    def pending(self, task: str, lang: str, seeds: list[int] | None = None) -> list[int]:
        """Seeds (default: seeds_of(task, cfg.seeds)) of (task, lang) not yet in the results CSV (all with
        force=true)."""
        seeds = list(seeds_of(task, self.seeds) if seeds is None else seeds)
        if self.force:
            return seeds
        todo = [s for s in seeds if (self.name, task, lang, str(s)) not in self._done]
        if len(todo) < len(seeds):
            log.warning("%s/%s/%s: seeds %s already in %s, skipped (force=true reruns them)",
                        self.name, task, lang, sorted(set(seeds) - set(todo)), self.results)
        return todo

    def encode(self, sentences, *, tokenization: Mapping, label: str, language: str) -> CachedActivations:
        return self.cache.get(self.model, sentences, tokenization=tokenization, policy=self.policy,
                              label=label, language=language)

    def append(self, rows: list[dict]) -> None:
        """Add ``rows``; with force=true they replace the rows of the same (encoder, task, language, seed).
        The encoders table gets (or checks) this model's row for their languages first."""
        update_encoders(self.encoders_path,
                        {"encoder": self.name, "policy": self.policy.label(), **self.model.describe()},
                        sorted({r["language"] for r in rows}))
        (replace_results if self.force else append_results)(self.results, rows)
        self._done |= {(r["encoder"], r["task"], r["language"], str(r["seed"])) for r in rows}

    def row(self, task: str, metric: str, lang: str, seed: int, value: float) -> dict:
        return {"encoder": self.name, "task": task, "metric": metric, "language": lang, "seed": seed,
                "value": f"{value:.6g}"}

    def write_predictions(self, task: str, lang: str, seed: int, items, gold, prediction) -> Path:
        return write_predictions(predictions_path(self.results_dir, task, self.name, lang, seed), items, gold,
                                 prediction)

    def note_head(self, task: str, lang: str, seed: int, info: Mapping) -> None:
        """What ``fit_head`` says of one head (best epoch, epochs run, the limit), kept for ``record``."""
        keep = ("best_epoch", "epochs", "max_epochs", "converged", "normalize")
        self._heads.setdefault(task, {}).setdefault(lang, {})[int(seed)] = {k: info.get(k) for k in keep}

    def record(self, task: str, protocol: Mapping) -> None:
        """The composed config (+ protocol, + the heads noted by ``note_head``) saved beside the results."""
        path = self.results_dir / "configs" / task / f"{self.name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            composed = OmegaConf.to_container(self.cfg, resolve=True)
        except OmegaConfBaseException:
            # e.g. ${hydra:...} outside a Hydra run: keep the interpolations as written
            composed = OmegaConf.to_container(self.cfg, resolve=False)
        merged, heads = {}, {}
        if path.is_file():  # earlier runs of other languages (seeds) keep their protocol (head) entries
            before = OmegaConf.to_container(OmegaConf.load(path))
            merged, heads = before.get("protocol") or {}, before.get("heads") or {}
        merged.update(dict(protocol))
        for lang, seeds in self._heads.get(task, {}).items():
            heads.setdefault(lang, {}).update(seeds)
        doc = OmegaConf.create({"config": composed, "policy": self.policy.describe(), "protocol": merged,
                                "heads": heads})
        write_atomic(path, OmegaConf.to_yaml(doc))
