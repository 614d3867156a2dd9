"""Planning the study (melmo.study): its models, every stage as a record, and whether each is already done.

A stage is one run of the project's own apps (training: melmo.pretrain, evaluation: melmo.tasks, the
analysis: melmo.analysis) held as data -- :class:`Stage`: its kind, model, tasks, languages, overrides and
the stages it needs; :func:`plan` lists them in order. Its command line is built once, when it is launched
(melmo.study.run.command); nothing reads a command line back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from omegaconf import DictConfig, open_dict

from melmo.conf import compose
from melmo.errors import MelmoError
from melmo.formats.export_meta import META_NAME
from melmo.formats.files import file_sha256
from melmo.model.flops import gpu_hours
from melmo.results.table import ResultsError, done_keys, seeds_of
from melmo.utils.labels import alpha_name, changes


class StudyError(MelmoError, ValueError):
    """A study config that cannot be planned (one-line message)."""


@dataclass
class Model:
    """One model of the study: its directory name, its encoder name in the CSV, its train overrides, its MONO
    language."""

    name: str
    encoder: str
    overrides: list[str]
    mono: str | None = None


@dataclass
class Stage:
    """One stage of the study as data (study.json records it); ``argv`` is filled in when it is launched."""

    kind: str                 # train | evaluate | analyse
    name: str                 # unique, also the log file's name
    model: str | None = None  # the model trained or evaluated (RANDOM: "random"); None: floors, analysis
    tasks: list[str] = field(default_factory=list)       # evaluate: its task(s), several = one Hydra multirun
    languages: list[str] = field(default_factory=list)   # train: the corpus's; evaluate: the rows it makes
    overrides: list[str] = field(default_factory=list)   # its app's Hydra overrides (analyse: CLI options)
    needs: list[str] = field(default_factory=list)   # stage names that must succeed first
    out: str = ""   # where its app writes: the run dir (train, evaluate), sweep dir (multirun), analysis dir
    log: str = ""
    multirun: bool = False    # evaluate: one ``-m`` run spread by a Hydra launcher (overrides name it)
    argv: list[str] | None = None   # the command line, built at launch (melmo.study.run.command)
    done: bool = False        # finished before this run: not launched
    status: str = "pending"   # pending | skipped | ok | failed | blocked
    seconds: float | None = None   # this run's
    earlier_seconds: float | None = None   # a stage done before this run: the run that did it (study.json)


# ------------------------------------------------------------------------------------------ models


def models(study: DictConfig) -> list[Model]:
    """The study's models in order: strategies, MONO models, then the extra ``models``."""
    names = dict(study.get("encoder_names") or {})
    out: list[Model] = []
    for s in study.strategies:
        s = str(s)
        if s.startswith(("alpha:", "alpha=")):
            try:
                alpha = float(s[len("alpha:"):])
                name = alpha_name(alpha)
            except ValueError as e:
                raise StudyError(f"study.strategies: {s!r}: {e}") from None
            out.append(Model(name, names.get(name, name), ["sampling=alpha", f"sampling.alpha={alpha}"]))
        else:
            out.append(Model(s, names.get(s, s), [f"sampling={s}"]))
    for lang in study.get("mono") or []:
        out.append(Model(f"mono_{lang}", names.get("mono", "MONO"),
                         ["sampling=mono", f"sampling.language={lang}"], mono=str(lang)))
    for name, overrides in (study.get("models") or {}).items():
        out.append(Model(str(name), names.get(name, str(name)), [str(o) for o in overrides]))
    seen = set()
    for m in out:
        if m.name in seen:
            raise StudyError(f"study: two models are named {m.name!r} (strategies, mono and models must not "
                             "repeat one)")
        seen.add(m.name)
    return out


def length_overrides(study: DictConfig, model: Model) -> list[str]:
    """The training length of ``model`` (README "Training length"): one token budget, or epochs per
    strategy."""
    if study.length == "tokens":
        return [f"budget.tokens={float(study.max_tokens)}", "budget.epochs=null"]
    if study.length == "epochs":
        epochs = dict(study.get("epochs") or {})
        if model.name in epochs:
            return ["budget.tokens=null", f"budget.epochs={float(epochs[model.name])}"]
        return [f"budget.tokens={float(study.max_tokens)}", "budget.epochs=null"]
    raise StudyError(f"study.length: {study.length!r} is neither 'tokens' nor 'epochs'")


# ------------------------------------------------------------------------------------------ plan


def merge_overrides(common: list, own: list) -> list[str]:
    """``common`` then ``own``, a common override dropped when ``own`` sets the same key (model=..., ...)."""
    keys = {str(o).split("=", 1)[0].lstrip("+~") for o in own}
    return ([str(o) for o in common if str(o).split("=", 1)[0].lstrip("+~") not in keys]
            + [str(o) for o in own])


def quoted(value) -> str:
    """A Hydra override value as a quoted string (paths may hold characters of the override grammar)."""
    return "'" + str(value).replace("'", "\\'") + "'"


def sha256(path: Path) -> str | None:
    return file_sha256(path) if path.is_file() else None


def absolute_paths(cfg: DictConfig) -> None:
    """Make the study's directory and data roots absolute (relative to paths.root_dir): stages run there."""
    root = Path(cfg.paths.root_dir)
    for key in cfg.study.get("required") or []:
        if cfg.study.get(key) is None:
            raise StudyError(f"study.{key} is not set: give study.{key}=<path> "
                             f"(conf/study/{cfg.study.name}.yaml)")
    with open_dict(cfg):
        cfg.dir = str(root / cfg.dir)
        for key in ("data_root", "conll17_root"):
            value = cfg.study.get(key)
            if value is not None:
                cfg.study[key] = str(root / str(value))


def app_overrides(stage: Stage) -> list[str]:
    """The Hydra overrides its app runs with, the run directory aside: its own, then what its fields say
    (the corpus's languages of a training, the task(s) of an evaluation)."""
    if stage.kind == "train":
        return [*stage.overrides, f"data.languages=[{','.join(stage.languages)}]"]
    if stage.kind == "evaluate":
        return [*stage.overrides, f"task={','.join(stage.tasks)}"]
    raise StudyError(f"stage {stage.name}: a {stage.kind} stage has no Hydra app")


@lru_cache(maxsize=64)
def _composed(app: str, overrides: tuple[str, ...]) -> DictConfig:
    return compose(app, overrides)


def stage_config(cfg: DictConfig, stage: Stage, task: str | None = None) -> DictConfig:
    """The config ``stage``'s app composes (melmo.conf.compose), run as the study runs it: in the study's
    ``paths.root_dir``, with its ``paths.cache_dir`` (a stage's own override of either wins). ``task``: one
    task of an evaluation (a multirun sweeps them, one per job). Composed once per overrides: read it, do
    not change it."""
    if task is not None:
        stage = replace(stage, tasks=[task])
    overrides = app_overrides(stage)   # a StudyError for a stage without a Hydra app
    paths = (f"paths.root_dir={quoted(cfg.paths.root_dir)}", f"paths.cache_dir={quoted(cfg.paths.cache_dir)}")
    return _composed(stage.kind, (*paths, *overrides))   # train.yaml, evaluate.yaml: named as the kinds


def estimate(cfg: DictConfig, stage: Stage) -> str:
    """ESTIMATE of a training stage's GPU hours from the analytic FLOPs (melmo.model.flops) and the assumed
    share of the device's peak in ``study.estimate`` (no throughput was measured on a GPU). The training
    config is composed as the stage's app composes it (melmo.conf.compose)."""
    est = cfg.study.estimate
    train = stage_config(cfg, stage)
    tokens = train.budget.tokens
    if tokens is None:
        return "ESTIMATE: no token budget on this stage (epochs): not estimated"
    hours = gpu_hours(float(tokens), train.model, int(train.lm.n_negative_samples) + 1, float(est.peak_flops),
                      float(est.utilization))
    return (f"ESTIMATE (assumed, not measured): {float(tokens):.2e} tokens at {float(est.utilization):.0%} "
            f"of {est.device}'s {float(est.peak_flops):.3g} FLOP/s = {hours:.1f} GPU-hours")


def plan(cfg: DictConfig) -> list[Stage]:
    """Every stage of the study, in order, each marked ``done`` when its output is already there."""
    absolute_paths(cfg)
    study = cfg.study
    out = Path(cfg.dir)
    logs = out / "logs"
    results = out / "results.csv"
    try:
        have = done_keys(results)
    except ResultsError as e:
        raise StudyError(str(e)) from None
    seeds = [int(s) for s in study.evaluate.seeds]
    languages = [str(x) for x in study.languages]
    kinds = set(cfg.get("stages") or ["train", "evaluate", "analyse"])
    unknown = kinds - {"train", "evaluate", "analyse"}
    if unknown:
        raise StudyError(f"stages: unknown stage kind(s) {sorted(unknown)} (train, evaluate, analyse)")
    stages: list[Stage] = []
    family = models(study)
    logger = [f"logger={study.logger}"] if study.get("logger") else []   # conf/logger/<name>.yaml: all stages
    common_train = list(study.train.overrides) + list(study.train.get("extra_overrides") or [])
    udpipe = [f"data.conllu_udpipe_dir={quoted(study.udpipe_dir)}"] if study.get("udpipe_dir") else []
    for m in family:
        run_dir = out / "models" / m.name
        overrides = [*merge_overrides(common_train, m.overrides + logger), *udpipe,
                     *length_overrides(study, m), f"tags=[study,{study.name},{m.name}]",
                     str(study.train.resume),
                     # W&B group, name and tags (conf/train.yaml run_label): what this model changes, not the
                     # study's common settings
                     "changes=[" + ",".join(quoted(c) for c in changes(m.overrides, ["sampling"])) + "]"]
        stages.append(Stage("train", f"train-{m.name}", model=m.name, languages=languages,
                            overrides=overrides, out=str(run_dir), log=str(logs / f"train-{m.name}.log"),
                            done=(run_dir / "model" / META_NAME).is_file()))
    split = bool(study.evaluate.get("split_languages", False))
    # a conf/hydra/launcher name (a Hydra launcher plugin), or null
    launcher = study.evaluate.get("launcher")
    paths = {m.name: quoted(out / "models" / m.name / "model") for m in family}
    needs = {m.name: f"train-{m.name}" for m in family}
    evaluated = list(family)
    # the random-weight encoder of floors_of's architecture and tokenizers
    if study.get("floors") and study.get("random_floor", True) and family:
        of = str(study.get("floors_of") or family[0].name)
        if of not in needs:
            raise StudyError(f"study.floors_of: {of!r} is not a model of the study ({', '.join(needs)})")
        floor = Model("random", str((study.get("encoder_names") or {}).get("random", "RANDOM")), [])
        evaluated.append(floor)
        paths[floor.name] = quoted(f"random:{out / 'models' / of / 'model'}")
        needs[floor.name] = f"train-{of}"
    for m in evaluated:
        tasks = {t: [str(x) for x in langs] for t, langs in study.evaluate.tasks.items()}
        if m.mono:
            tasks = {t: [m.mono] for t in study.evaluate.mono_tasks if m.mono in tasks.get(t, [])}
        encoder = [f"encoder.path={paths[m.name]}", f"encoder.name={m.encoder}"]
        common = [f"seeds=[{','.join(map(str, seeds))}]", f"results={quoted(results)}",
                  *study.evaluate.overrides, *(study.evaluate.get("extra_overrides") or []), *logger]
        rows_there = lambda task, langs: all((m.encoder, task, lang, str(s)) in have  # noqa: E731
                                             for lang in langs for s in seeds_of(task, seeds))
        # the model's evaluations as one Hydra multirun, spread by the launcher
        if launcher and not split and tasks:
            name = f"evaluate-{m.name}" + (f"-{m.mono}" if m.mono else "")
            todo = [t for t, langs in tasks.items() if not rows_there(t, langs)]
            overrides = [f"hydra/launcher={launcher}", *(study.evaluate.get("launcher_overrides") or []),
                         *encoder, *([f"language={m.mono}"] if m.mono else []), *common]
            stages.append(Stage("evaluate", name, model=m.name, tasks=todo or list(tasks),
                                languages=sorted({x for langs in tasks.values() for x in langs}),
                                overrides=overrides, needs=[needs[m.name]],
                                out=str(out / "evaluations" / name[len("evaluate-"):]),
                                log=str(logs / f"{name}.log"), multirun=True, done=not todo))
            continue
        for task, langs in tasks.items():
            # one subprocess per (model, task), evaluate.py doing every language of the task (MONO: its
            # own); or one per language with evaluate.split_languages=true
            groups = [[x] for x in langs] if split else [langs]
            for group in groups:
                name = f"evaluate-{m.name}-{task}" + (f"-{group[0]}" if split or m.mono else "")
                lang_arg = [f"language={group[0]}"] if split or m.mono else []
                stages.append(Stage("evaluate", name, model=m.name, tasks=[task], languages=group,
                                    overrides=[*encoder, *lang_arg, *common], needs=[needs[m.name]],
                                    out=str(out / "evaluations" / name[len("evaluate-"):]),
                                    log=str(logs / f"{name}.log"), done=rows_there(task, group)))
    if study.get("floors"):
        stages.append(floors_stage(study, out, seeds, results, have))
    stages.append(Stage(
        "analyse", "analyse",
        overrides=["--base", str(study.analysis.base), "--compare", *[str(c) for c in study.analysis.compare],
                   "--mono", str((study.get("encoder_names") or {}).get("mono", "MONO")),
                   "--cells", str(study.analysis.get("cells", "ours")),
                   *(["--wandb-dir", str(out), "--wandb-group", f"study-{study.name}", "--wandb-tags",
                      "study", str(study.name)] if logger else [])],
        out=str(out / "analysis"), log=str(logs / "analyse.log"), done=analysed(out)))
    return [s for s in stages if s.kind in kinds]


def floors_stage(study: DictConfig, out: Path, seeds: list[int], results: Path, have: set) -> Stage:
    """``evaluate.py task=baseline``: the floors that need no encoder (melmo/tasks/baseline.py) for the
    study's tasks."""
    from melmo.tasks.baseline import FLOOR_ENCODERS

    tasks = {str(t): [str(x) for x in langs] for t, langs in study.evaluate.tasks.items()
             if str(t) in FLOOR_ENCODERS}
    overrides = ["encoder.path=none", f"task.floors=[{','.join(tasks)}]",
                 f"seeds=[{','.join(map(str, seeds))}]", f"results={quoted(results)}",
                 *study.evaluate.overrides]
    done = all((enc, t, lang, str(s)) in have for t, langs in tasks.items() for enc in FLOOR_ENCODERS[t]
               for lang in langs for s in seeds_of(t, seeds))
    return Stage("evaluate", "evaluate-floors", tasks=["baseline"],
                 languages=sorted({x for langs in tasks.values() for x in langs}), overrides=overrides,
                 out=str(out / "evaluations" / "floors"), log=str(out / "logs" / "evaluate-floors.log"),
                 done=done)


def analysed(out: Path) -> bool:
    """True when ``<out>/analysis`` was made from the results CSV as it is now."""
    stamp = out / "analysis" / ".done"
    return stamp.is_file() and stamp.read_text().strip() == (sha256(out / "results.csv") or "")


def sizes_file(cfg: DictConfig) -> str:
    """The prepared corpus's metadata.json of the model named by ``study.analysis.sizes_from``."""
    meta = Path(cfg.dir) / "models" / str(cfg.study.analysis.sizes_from) / "model" / META_NAME
    if not meta.is_file():
        raise StudyError(f"{meta}: not found (study.analysis.sizes_from names a model that is not trained)")
    corpus_dir = json.loads(meta.read_text())["corpus_dir"]
    return str(Path(corpus_dir) / "metadata.json")


def mark_analysed(out: Path) -> None:
    """Stamp ``<out>/analysis`` as made from the results CSV as it is now (read by :func:`analysed`)."""
    (out / "analysis").mkdir(parents=True, exist_ok=True)
    (out / "analysis" / ".done").write_text((sha256(out / "results.csv") or "") + "\n")
