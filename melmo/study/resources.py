"""The study's disk and compute plan: GPU-hours and disk per stage, the totals, and the peak disk under the
activation-cache policy (``study.cache``); and the policy itself, :func:`evict_caches`.

    budget = plan_resources(cfg, stages, tokens)   # tokens: data unit -> tokens, counted by the preflight
    budget.lines()                                 # the dry run's table
    budget.room_problems(margin)                   # one line per disk the peak does not fit on

What is counted, per stage still to run (all sizes from the configs, the counted data and the analytic
parameter counts; nothing measured on a GPU):

Every number of a stage comes from the config its app composes (melmo.study.plan.stage_config).

* train: the GPU-hours ESTIMATE of melmo.study.plan.estimate (FLOPs at an assumed share of the device's
  peak); the prepared corpus (``sampler.sizes(study.resources.token_counts)`` tokens x 4 bytes: uint32 ids,
  melmo.corpus.prepare), the checkpoints Lightning keeps (conf/callbacks/default.yaml: top-k, last and best,
  each the LM's fp32 parameters plus its optimizer's state), the exported model (fp32 parameters); once for
  the study, stage 1's tokenized text of every language (tokens x ``text_bytes_per_token``).
* evaluate: the float16 activation cache of every data unit the task encodes (tokens x layers x dim x 2
  bytes, melmo.encode.cache), a unit counted once per encoder (a split two tasks read with the same tokens
  has one cache entry: the key is the tokens).

The peak: everything the training stages write, plus the activation caches of every encoder
(``study.cache=keep``) or of the ``study.jobs`` largest encoders (``evict``: an encoder's caches are freed
once its evaluations are done, and each model's evaluations run together).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from melmo.formats.files import file_sha256
from melmo.study.plan import Stage, stage_config

GB = 1e9
CACHE = "activation cache"


@dataclass
class Item:
    stage: str
    what: str  # tokenized text | prepared corpus | checkpoints | model | activation cache
    bytes: int
    where: Path
    encoder: str = ""  # activation caches: the encoder they belong to


@dataclass
class Budget:
    policy: str
    jobs: int
    items: list[Item] = field(default_factory=list)
    hours: dict[str, float] = field(default_factory=dict)  # train stage -> GPU-hours (ESTIMATE)
    notes: list[str] = field(default_factory=list)

    def total(self, what: str | None = None) -> int:
        return sum(i.bytes for i in self.items if what in (None, i.what))

    def peak(self, policy: str | None = None, items: list[Item] | None = None) -> int:
        items = self.items if items is None else items
        per: dict[str, int] = {}
        for i in items:
            if i.what == CACHE:
                per[i.encoder] = per.get(i.encoder, 0) + i.bytes
        rest = sum(i.bytes for i in items if i.what != CACHE)
        caches = sorted(per.values(), reverse=True)
        return rest + (sum(caches) if (policy or self.policy) == "keep" else sum(caches[: self.jobs]))

    def room_problems(self, margin: float) -> list[str]:
        """One line per disk on which the peak does not fit in the free space less ``margin`` of it."""
        disks: dict[int, list[Item]] = {}
        anchors: dict[int, Path] = {}
        for i in self.items:
            anchor = existing(i.where)
            dev = os.stat(anchor).st_dev
            disks.setdefault(dev, []).append(i)
            anchors.setdefault(dev, i.where)
        out = []
        for dev, items in disks.items():
            need, free = self.peak(items=items), shutil.disk_usage(existing(anchors[dev])).free
            if need > free * (1 - margin):
                where: dict[str, list[str]] = {}
                for i in items:
                    where.setdefault(i.what, []).append(str(i.where))
                dirs = "; ".join(f"{w} {os.path.commonpath(d)}" for w, d in where.items())
                out.append(
                    f"{anchors[dev]}: the study needs {need / GB:.1f} GB at its peak on this disk "
                    "(study.cache="
                    f"{self.policy}; {dirs}) and the disk has {free / GB:.1f} GB free (less {margin:.0%})"
                )
        return out

    def lines(self) -> list[str]:
        """The plan as the dry run prints it: a line per stage, the totals, the peak under both policies."""
        out = [
            ("plan: GPU-hours (ESTIMATE, training only) and disk per stage still to run, "
            f"study.cache={self.policy}")
        ]
        stages = list(dict.fromkeys([*self.hours, *(i.stage for i in self.items)]))
        for s in stages:
            parts = [f"{self.hours[s]:.1f} GPU-hours"] if s in self.hours else []
            per: dict[str, int] = {}
            for i in self.items:
                if i.stage == s:
                    per[i.what] = per.get(i.what, 0) + i.bytes
            parts += [f"{w} {b / GB:.2f} GB" for w, b in per.items()]
            out.append(f"plan {s}: {', '.join(parts) or 'nothing on disk'}")
        kinds = dict.fromkeys(i.what for i in self.items)
        out.append(
            f"plan total: {sum(self.hours.values()):.1f} GPU-hours (ESTIMATE, training); disk "
            + (", ".join(f"{w} {self.total(w) / GB:.1f} GB" for w in kinds) or "nothing")
            + f"; all {self.total() / GB:.1f} GB"
        )
        out.append(
            f"plan peak disk: {self.peak() / GB:.1f} GB under study.cache={self.policy} "
            f"(keep: {self.peak('keep') / GB:.1f} GB, evict: {self.peak('evict') / GB:.1f} GB)"
        )
        out += [f"plan note: {n}" for n in self.notes]
        return out


def existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (where the disk it will be on can be asked)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _json(node) -> str:
    return json.dumps(OmegaConf.to_container(node, resolve=True), sort_keys=True)


def lm_shape(train: DictConfig) -> dict:
    """:func:`_shape` of a composed training config, once per (model, vocabulary, softmax, optimizer)."""
    return _shape(_json(train.model), int(train.data.prepare.vocab_size), int(train.lm.n_negative_samples),
                  _json(train.lm.optimizer))


@cache
def _shape(model_json: str, vocab_size: int, negatives: int, optimizer_json: str) -> dict:
    """Parameters of the LM a train stage trains (encoder + sampled softmax), its optimizer's state tensors
    per parameter (one step on a tiny tensor: Adagrad 1, Adam 2), and the encoder's (layers, dim)."""
    import torch
    from hydra.utils import instantiate

    from melmo.model.encoder import BiLM
    from melmo.model.softmax import SampledSoftmax

    model = OmegaConf.create(model_json)
    lstm = OmegaConf.to_container(model.lstm)
    with torch.device("meta"):
        enc = BiLM(OmegaConf.to_container(model.char_cnn), lstm)
        soft = SampledSoftmax(vocab_size, int(lstm["projection_dim"]), negatives)
    params = sum(p.numel() for m in (enc, soft) for p in m.parameters())
    p = torch.nn.Parameter(torch.zeros(3))
    opt = instantiate(OmegaConf.create(optimizer_json), params=[p])
    opt = opt if isinstance(opt, torch.optim.Optimizer) else opt()  # _partial_: true
    p.grad = torch.ones(3)
    opt.step()
    states = sum(1 for v in opt.state[p].values() if torch.is_tensor(v) and v.shape == p.shape)
    return {"params": params, "states": states, "layers": int(lstm["n_layers"]) + 1,
            "dim": 2 * int(lstm["projection_dim"]), "model": model, "negatives": negatives}


def kept_checkpoints(train: DictConfig) -> int:
    """Checkpoint files a training run keeps (its callbacks, conf/callbacks/default.yaml): top-k by step,
    last, best."""
    cb = train.callbacks
    return (int(cb.model_checkpoint.save_top_k) + int(bool(cb.model_checkpoint.save_last))
            + int(cb.best_checkpoint.save_top_k))


def corpus_sizes(train: DictConfig, counts: Mapping[str, int]) -> dict[str, int]:
    """Tokens per language of a model's prepared corpus: its sampler (conf/sampling) over ``counts``."""
    from hydra.utils import instantiate

    return {k: int(v) for k, v in instantiate(train.sampling).sizes(dict(counts)).items()}


UNITS = {  # task -> the data units it encodes for language x (the tokens the preflight counts)
    "pos": lambda x: [f"ud/{x}/train", f"ud/{x}/dev", f"ud/{x}/test"],
    "parsing": lambda x: [f"ud/{x}/train", f"ud/{x}/dev", f"ud/{x}/test"],
    "pos_transfer": lambda x: ["ud/en/train", "ud/en/dev", f"ud/{x}/dev", f"ud/{x}/test"],
    "tatoeba": lambda x: [f"tatoeba/{x}"],
    "xnli": lambda x: ["mnli/train", "mnli/val", f"xnli/{x}/dev", f"xnli/{x}/test"],
}


def task_languages(study: DictConfig) -> dict[str, list[str]]:
    """``study.evaluate.tasks`` resolved once (its interpolations are slow to resolve stage by stage)."""
    return {str(t): [str(x) for x in v]
            for t, v in OmegaConf.to_container(study.evaluate.tasks, resolve=True).items()}


def stage_tasks(cfg: DictConfig, s: Stage, every: dict[str, list[str]]) -> dict[str, list[str]]:
    """Task -> languages an evaluate stage reads: its tasks (the floors': the tasks they are floors of, from
    its composed config), each in the stage's languages the study evaluates it on (``every``:
    :func:`task_languages`)."""
    tasks = [str(t) for t in s.tasks]
    if tasks == ["baseline"]:
        tasks = [str(t) for t in stage_config(cfg, s).task.floors]
    return {t: [x for x in every.get(t, []) if x in s.languages] for t in tasks}


def first_config(cfg: DictConfig, todo: list[Stage], task: str) -> DictConfig | None:
    """The composed config of the first evaluation of ``task`` in ``todo`` (the study gives every evaluation
    the same ``task.*``, data and encode overrides), or None."""
    s = next((s for s in todo if s.kind == "evaluate" and s.model is not None and task in s.tasks), None)
    return None if s is None else stage_config(cfg, s, task)


def activations_dir(cfg: DictConfig, s: Stage) -> Path:
    """Where the evaluations of ``s`` cache activations (its ``encode.cache_dir``)."""
    return Path(str(stage_config(cfg, s, s.tasks[0]).encode.cache_dir))


def trained_by(s: Stage, stages: list[Stage]) -> Stage | None:
    """The training stage an evaluation needs (RANDOM: the one whose architecture it takes), if planned."""
    return next((t for t in stages if t.kind == "train" and t.name in s.needs), None)


def plan_resources(cfg: DictConfig, stages: list[Stage], tokens: Mapping[str, int]) -> Budget:
    """The disk and compute plan of the stages still to run (see the module docstring)."""
    from melmo.model.flops import gpu_hours

    study = cfg.study
    res = study.get("resources") or {}
    counts = {str(k): int(v) for k, v in (res.get("token_counts") or {}).items() if str(k) in study.languages}
    budget = Budget(str(study.get("cache") or "keep"), max(1, int(study.get("jobs") or 1)))
    todo = [s for s in stages if not s.done]
    est = study.get("estimate")
    for s in (s for s in todo if s.kind == "train"):
        train = stage_config(cfg, s)
        shape = lm_shape(train)
        sizes = corpus_sizes(train, counts) if counts else {}
        tokens_trained = train.budget.tokens
        if tokens_trained is None and sizes and train.budget.epochs is not None:
            tokens_trained = float(train.budget.epochs) * sum(sizes.values())
        if est and tokens_trained is not None:
            budget.hours[s.name] = gpu_hours(float(tokens_trained), shape["model"], shape["negatives"] + 1,
                                             float(est.peak_flops), float(est.utilization))
        if sizes:
            budget.items.append(Item(s.name, "prepared corpus", 4 * sum(sizes.values()),
                                     Path(str(train.data.prepared_dir))))
        fp32 = 4 * shape["params"]
        kept = kept_checkpoints(train) * fp32 * (1 + shape["states"])
        budget.items.append(Item(s.name, "checkpoints", kept, Path(s.out)))
        budget.items.append(Item(s.name, "model", fp32, Path(s.out) / "model"))
    if any(s.kind == "train" for s in todo):
        if counts:
            per = dict(res.get("text_bytes_per_token") or {})
            text = sum(int(n * float(per.get(k, max(per.values(), default=1.0)))) for k, n in counts.items())
            budget.items.insert(0, Item("tokenize (once, every model)", "tokenized text", text,
                                        Path(cfg.paths.cache_dir) / "tokenized"))   # melmo.corpus.prepare
        else:
            budget.notes.append("prepared corpora and tokenized text not planned: study.resources."
                                "token_counts is not set (tokens per language of the training corpus)")
    every = task_languages(study)
    evals = [s for s in todo if s.kind == "evaluate" and s.model is not None]   # the floors encode nothing
    seen: dict[str, set] = {}
    missing: set[str] = set()
    for s in evals:
        units = [u for t, langs in stage_tasks(cfg, s, every).items() if t in UNITS
                 for x in langs for u in UNITS[t](x)]
        mine = seen.setdefault(s.model, set())
        new = [u for u in dict.fromkeys(units) if u not in mine]
        mine.update(new)
        missing.update(u for u in new if u not in tokens)
        n = sum(tokens.get(u, 0) for u in new)
        if n:
            shape = encoder_shape(cfg, s, stages)
            budget.items.append(Item(s.name, CACHE, n * shape["layers"] * shape["dim"] * 2,
                                     activations_dir(cfg, evals[0]), s.model))
    if missing:
        budget.notes.append(f"activation caches of {len(missing)} data unit(s) not planned (their tokens "
                            "were not counted: study.check_data=false or the file failed its check)")
    return budget


def encoder_shape(cfg: DictConfig, s: Stage, stages: list[Stage]) -> dict:
    """:func:`lm_shape` of the encoder an evaluation reads: its training stage's config, or (not planned:
    ``stages=[evaluate]``) the study's common training overrides."""
    train = trained_by(s, stages)
    if train is None:
        study = cfg.study
        common = [*study.train.overrides, *(study.train.get("extra_overrides") or [])]
        train = Stage("train", "train", overrides=[str(o) for o in common],
                      languages=[str(x) for x in study.languages])
    return lm_shape(stage_config(cfg, train))


def evict_caches(cfg: DictConfig, stages: list[Stage], stage: Stage, echo: Callable[[str], None]) -> int:
    """``study.cache=evict``: once every evaluation of ``stage``'s encoder has finished (ok now, or done
    before), delete that encoder's activation caches (the entries whose meta.json names its weights); returns
    the bytes freed. RANDOM (random weights, no file) and the floors (no encoder) are never evicted."""
    if str(cfg.study.get("cache") or "keep") != "evict" or stage.kind != "evaluate" or stage.model is None:
        return 0
    enc = stage.model
    mine = [s for s in stages if s.kind == "evaluate" and s.model == enc]
    weights = Path(cfg.dir) / "models" / enc / "model" / "weights.hdf5"
    if any(s.status not in ("ok", "skipped") and not s.done for s in mine) or not weights.is_file():
        return 0
    sha = file_sha256(weights)
    root = activations_dir(cfg, stage)
    freed, n = 0, 0
    for meta in root.glob("*/*/meta.json"):
        try:
            if json.loads(meta.read_text(encoding="utf-8")).get("weights_sha256") != sha:
                continue
        except (OSError, ValueError):
            continue
        freed += sum(p.stat().st_size for p in meta.parent.iterdir() if p.is_file())
        shutil.rmtree(meta.parent)
        n += 1
    if n:
        echo(f"study.cache=evict: {enc}'s evaluations are done: freed its {n} activation cache(s), "
             f"{freed / GB:.2f} GB ({root})")
    return freed
