"""Floors that need no encoder (task=baseline): what every score of a task is to be read against.

Rows are ordinary results rows, under encoder names of their own (conf/task/baseline.yaml):

* ``majority`` -- pos: a per-word majority tagger (each word form gets the tag it has most often
  in the head's training sentences, an unseen form the most frequent tag there), trained and
  scored with the pos task's own protocol (the same train / report sentences, the same units);
  pos_transfer: the same tagger trained on the source language (English) and applied to every
  language's report split; xnli: the most frequent label of the MultiNLI training pairs, scored
  on each XNLI dev set (metric ``acc``, as the xnli task's).
* ``classical`` -- pos and pos_transfer: a tagger with no pretraining (melmo.tasks.classical: logistic
  regression on the word, its lower-cased form, affixes, shape and neighbouring words; scikit-learn),
  trained and scored as the majority tagger is (``task.classical`` in conf/task/baseline.yaml).
* ``chance`` -- xnli: 1/3 (three labels, a uniform guess); tatoeba: 1/n for a file of n lines (a
  random line of the other language).

The random-weight encoder of the same architecture, the third floor, is an ordinary encoder:
``python evaluate.py task=<task> encoder.path=random:<arch or model dir>`` (melmo.encode.model_dir).
A floor is deterministic; it is written under the seeds the task's own rows carry
(``melmo.results.table.seeds_of``: every seed of ``seeds`` for tasks with a head, 0 for tatoeba), so that a
study's rerun finds it done and seed statistics see no spread.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from melmo.errors import ConfigError
from melmo.formats.conllu import read_conllu
from melmo.formats.nli import LABELS
from melmo.formats.tatoeba import read_pair, tatoeba_languages
from melmo.results.table import append_results, done_keys, seeds_of
from melmo.tasks.classical import ClassicalTagger
from melmo.tasks.common.ud import DataError, Units, make_units, split_plan, treebank_files, ud_languages
from melmo.tasks.xnli.task import _layout, _read_mnli, _read_xnli

log = logging.getLogger(__name__)


class MajorityTagger:
    """Per-word majority tags from (form, tag) pairs; unseen forms get the most frequent tag."""

    def __init__(self, pairs: Iterable[tuple[str, int]]):
        by_form: dict[str, Counter] = defaultdict(Counter)
        overall: Counter = Counter()
        for form, tag in pairs:
            by_form[form][tag] += 1
            overall[tag] += 1
        if not overall:
            raise DataError("a majority tagger needs at least one training word")
        # ties: the lowest tag index, so the tagger does not depend on the order of the sentences
        self.table = {f: min(c, key=lambda t: (-c[t], t)) for f, c in by_form.items()}
        self.default = min(overall, key=lambda t: (-overall[t], t))

    def tag(self, form: str) -> int:
        return self.table.get(form, self.default)


def unit_pairs(units: Iterable[Units]) -> Iterable[tuple[str, int]]:
    """(form the head reads, gold tag) of every scored unit."""
    for u in units:
        for p, t in zip(u.positions, u.labels):
            yield u.fed[int(p)], int(t)


def tagger_accuracy(tagger: MajorityTagger, units: Iterable[Units]) -> float:
    pairs = list(unit_pairs(units))
    return float(np.mean([tagger.tag(f) == t for f, t in pairs])) if pairs else float("nan")


class _UD:
    """One language's treebank read with the pos task's protocol (the same splits as its heads)."""

    def __init__(self, root, lang: str, pos: DictConfig):
        files = treebank_files(root, lang)
        sents = {s: [x for p in paths for x in read_conllu(p)] for s, paths in files.items()}
        self.units = {s: [make_units(x, pos.encoder_input, pos.convention, lang) for x in v]
                      for s, v in sents.items()}
        self.plan = split_plan({s: len(v) for s, v in sents.items()}, pos.protocol,
                               int(pos.protocol.split_seed))

    def role(self, role: str) -> list[Units]:
        r = self.plan[role]
        return [self.units[r.split][i] for i in r.indices]


def _languages(cfg: DictConfig, available: list[str], task: str) -> list[str]:
    want = cfg.get("language")
    if want is None:
        return available
    want = [want] if isinstance(want, str) else list(want)
    return [w for w in want if w in available] or log.info("baseline %s: no data for %s", task, want) or []


def _taggers(cfg: DictConfig, train: list[Units]) -> dict[str, object]:
    """The encoder-free taggers trained on ``train``, by the encoder name their rows carry."""
    return {"majority": MajorityTagger(unit_pairs(train)),
            "classical": ClassicalTagger(train, **cfg.task.classical)}


def _score(tagger, units: list[Units]) -> float:
    return tagger.accuracy(units) if isinstance(tagger, ClassicalTagger) else tagger_accuracy(tagger, units)


def pos_floor(cfg: DictConfig) -> dict[tuple[str, str, str], float]:
    root, pos, out = cfg.data.root, cfg.task.pos, {}
    for lang in _languages(cfg, ud_languages(root), "pos"):
        tb = _UD(root, lang, pos)
        for name, tagger in _taggers(cfg, tb.role("train")).items():
            out[(name, "pos", lang)] = _score(tagger, tb.role("report"))
    return out


def pos_transfer_floor(cfg: DictConfig) -> dict[tuple[str, str, str], float]:
    root, pos, source = cfg.data.root, cfg.task.pos, str(cfg.task.source_language)
    src = _UD(root, source, pos)
    taggers = _taggers(cfg, src.role("train"))
    out = {}
    for lang in _languages(cfg, ud_languages(root), "pos_transfer"):
        units = src.role("report") if lang == source else _UD(root, lang, pos).units[str(pos.protocol.report)]
        for name, tagger in taggers.items():
            out[(name, "pos_transfer", lang)] = _score(tagger, units)
    return out


def xnli_floor(cfg: DictConfig) -> dict[tuple[str, str, str], float]:
    x = cfg.task.xnli
    base = Path(str(x.data.dir))
    # the layout the xnli task reads (official, xtreme or the shipped slice)
    lay = _layout(base, x.data.layouts)
    train = _read_mnli(base / str(lay["train"]), str(lay["format"]), None)
    counts = Counter(p.label for p in train.pairs)
    majority = min(counts, key=lambda k: (-counts[k], k))
    out = {}
    for lang in _languages(cfg, [str(v) for v in x.languages], "xnli"):
        dev = _read_xnli(base / str(lay["xnli"]), str(lay["xnli_format"]), lang, "dev", None)
        out[("majority", "xnli", lang)] = float(np.mean([p.label == majority for p in dev.pairs]))
        out[("chance", "xnli", lang)] = 1.0 / len(LABELS)
    return out


def tatoeba_floor(cfg: DictConfig) -> dict[tuple[str, str, str], float]:
    root = cfg.data.root
    return {("chance", "tatoeba", lang): 1.0 / len(read_pair(root, lang)[1])
            for lang in _languages(cfg, tatoeba_languages(root), "tatoeba")}


# the encoder names each floor writes rows under
FLOOR_ENCODERS = {"pos": ("majority", "classical"), "pos_transfer": ("majority", "classical"),
                  "xnli": ("majority", "chance"), "tatoeba": ("chance",)}
FLOORS = {"pos": pos_floor, "pos_transfer": pos_transfer_floor, "xnli": xnli_floor, "tatoeba": tatoeba_floor}


def run(cfg: DictConfig) -> list[dict]:
    tcfg, results = cfg.task, Path(cfg.results)
    unknown = [f for f in tcfg.floors if f not in FLOORS]
    if unknown:
        raise ConfigError(f"task.floors: unknown floor(s) {unknown} (have {', '.join(FLOORS)})")
    seeds = [int(s) for s in cfg.seeds]
    have = set() if cfg.get("force", False) else done_keys(results)
    rows = []
    for floor in tcfg.floors:
        for (enc, task, lang), value in FLOORS[floor](cfg).items():
            todo = [s for s in seeds_of(task, seeds) if (enc, task, lang, str(s)) not in have]
            rows += [{"encoder": enc, "task": task, "metric": "acc", "language": lang, "seed": s,
                      "value": f"{value:.6g}"}
                     for s in todo]
            log.info("baseline %s %s %s: %.4f", enc, task, lang, value)
    if rows:
        append_results(results, rows)
    return rows
