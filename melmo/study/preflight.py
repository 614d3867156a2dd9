"""The study's preflight: everything a later stage reads, checked before any stage runs (dry runs included).

    budget = preflight(cfg, stages, echo)   # StudyError after listing every problem; else the plan

For the stages still to run (melmo.study.plan), with ``study.check_data``:

* every data file each evaluation opens, read with the task's own reader: the UD treebank of each language
  (pos, parsing, pos_transfer: English too), the Tatoeba pair of each language, the MultiNLI and XNLI files
  (xnli) with their pair counts against conf/task/xnli.yaml ``expected_rows`` of the layout found, as
  ``evaluate.py`` checks them, only days later;
* the CoNLL 2017 Wikipedia files of each language a model trains on (``study.conll17_root``);
* the UDPipe models the raw-text tasks (tatoeba, xnli) tokenize with when the corpus is CoNLL-U:
  ``study.udpipe_dir/<lang>.udpipe`` (the export bundles them; without them those tasks stop);

always:

* the GPUs the train stages' trainer and the evaluate stages' heads ask for, against
  ``torch.cuda.device_count()`` (``study.check_devices=false``: planning on a machine without them);
* the free disk (``shutil.disk_usage``) against the plan's peak, per disk (melmo.study.resources).

Each problem is one line naming the path (the user's) or the key, with what was expected and what was found;
all of them are listed (``echo``), then one StudyError: exit status 1, and no stage has run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from melmo.datasets.checks import check_conll17, check_tatoeba, check_ud
from melmo.datasets.official import DatasetError
from melmo.errors import FormatError
from melmo.formats.nli import read_mnli_jsonl, read_mnli_sample, read_xnli_tsv, read_xtreme
from melmo.formats.tatoeba import read_pair
from melmo.study.plan import Stage, StudyError, models, stage_config
from melmo.study.resources import Budget, first_config, plan_resources, stage_tasks, task_languages
from melmo.utils.errors import one_line

RAW_TEXT_TASKS = ("tatoeba", "xnli")  # tokenized with the model's own tokenizer (melmo.encode.tokenize)


def _words(text: str) -> int:
    return len(text.split())


def check_nli(task: DictConfig, langs: list[str], tokens: dict[str, int]) -> list[str]:
    """The files task=xnli opens, read as it reads them (``task``: the evaluation's composed ``task`` node:
    its data folder, layouts and expected_rows)."""
    data = task.data
    base = Path(str(data.dir))
    lay = next((x for x in data.layouts if (base / str(x.xnli)).is_dir()), None)
    if lay is None:
        folders = ", ".join(f"{x.xnli}/" for x in data.layouts)
        return [f"{base}: no XNLI folder ({folders}): task xnli reads one"]
    expected = dict((data.get("expected_rows") or {}).get(str(lay.name)) or {})
    mnli = {"mnli_jsonl": read_mnli_jsonl, "mnli_sample": read_mnli_sample}[str(lay.format)]
    xnli_dir = base / str(lay.xnli)
    reads = {f"mnli/{k}": (lambda k=k: mnli(base / str(lay[k]), expected.get(k))) for k in ("train", "val")}
    for lang in langs:
        for split in ("dev", "test"):
            if str(lay.xnli_format) == "xnli_tsv":
                reads[f"xnli/{lang}/{split}"] = lambda lang=lang, split=split: read_xnli_tsv(
                    xnli_dir / f"xnli.{split}.tsv", lang, expected.get(split))
            else:
                reads[f"xnli/{lang}/{split}"] = lambda lang=lang, split=split: read_xtreme(
                    xnli_dir, lang, split, expected.get(split))
    out = []
    for unit, read in reads.items():
        try:
            got = read()
        except (FormatError, OSError) as err:
            line = str(err).splitlines()[0] if str(err) else type(err).__name__
            if line not in out:  # XNLI 1.0: one file for every language; its format problem once
                out.append(line)
            continue
        tokens[unit] = sum(_words(p.premise) + _words(p.hypothesis) for p in got.pairs)
    return out


def check_tatoeba_pairs(root: Path, langs: list[str], tokens: dict[str, int]) -> list[str]:
    out = []
    for lang in langs:
        try:
            check_tatoeba(root, [lang])
            _, xs, _, es = read_pair(root, lang)
        except (DatasetError, FormatError) as err:
            out.append(str(err))
            continue
        tokens[f"tatoeba/{lang}"] = sum(map(_words, xs)) + sum(map(_words, es))
    return out


def data_problems(cfg: DictConfig, todo: list[Stage], tokens: dict[str, int]) -> list[str]:
    """The evaluation data of the stages in ``todo`` (see the module docstring), under the data root the
    evaluations compose (``data.root``: the study's ``data_root``)."""
    want: dict[str, set[str]] = {}
    every = task_languages(cfg.study)
    for s in todo:
        if s.kind == "evaluate":
            for task, langs in stage_tasks(cfg, s, every).items():
                want.setdefault(task, set()).update(langs)
    if not want:
        return []
    ev = next(s for s in todo if s.kind == "evaluate")
    root = Path(str(stage_config(cfg, ev, ev.tasks[0]).data.root))
    if not root.is_dir():
        return [f"{root}: no such data root (study.data_root)"]
    ud = sorted(want.get("pos", set()) | want.get("parsing", set()) | want.get("pos_transfer", set())
                | ({"en"} if want.get("pos_transfer") else set()))
    out = []
    for lang in ud:
        try:
            check_ud(root, [lang], tokens)
        except DatasetError as err:
            out.append(str(err))
            continue
        for split in ("train", "dev", "test"):  # a split the treebank lacks: nothing to encode
            tokens.setdefault(f"ud/{lang}/{split}", 0)
    out += check_tatoeba_pairs(root, sorted(want.get("tatoeba", set()) - {"en"}), tokens)
    xnli = first_config(cfg, todo, "xnli") if want.get("xnli") else None
    if xnli is not None:
        out += check_nli(xnli.task, [str(x) for x in xnli.task.languages if str(x) in want["xnli"]], tokens)
    return out


def training_problems(cfg: DictConfig, todo: list[Stage]) -> list[str]:
    """CoNLL 2017 text per training language; the UDPipe models raw-text tasks need (CoNLL-U corpus)."""
    study = cfg.study
    if study.get("conll17_root") is None:
        return []
    family = {m.name: m for m in models(study)}
    train = [family[s.model] for s in todo if s.kind == "train" and s.model in family]
    langs = sorted({m.mono for m in train if m.mono}
                   | ({str(x) for x in study.languages} if any(not m.mono for m in train) else set()))
    out = []
    for lang in langs:
        try:
            check_conll17(Path(str(study.conll17_root)), [lang])
        except DatasetError as err:
            out.append(str(err))
    raw = {t: v for t, v in task_languages(study).items() if t in RAW_TEXT_TASKS and v}
    need = sorted({x for v in raw.values() for x in [*v, "en"]} & set(langs))
    if not need:
        return out
    udpipe = study.get("udpipe_dir")
    tasks = ", ".join(raw)
    if udpipe is None:
        return [*out, (f"study.udpipe_dir is not set: {tasks} tokenize raw text with the UDPipe models that "
                       f"tokenized the CoNLL 2017 corpus ({', '.join(f'{x}.udpipe' for x in need)}); "
                       "give study.udpipe_dir=<dir>")]
    d = Path(str(udpipe))
    if not d.is_dir():
        return [*out, f"{d}: no such directory (study.udpipe_dir: the UDPipe models {tasks} tokenize raw "
                      "text with)"]
    return out + [f"{d / f'{x}.udpipe'}: not found (the UDPipe model of {x}: {tasks} tokenize its raw text "
                  "with it)" for x in need if not (d / f"{x}.udpipe").is_file()]


def config_problems(cfg: DictConfig, todo: list[Stage]) -> list[str]:
    """A stage whose app cannot compose its config (an override of a key its config lacks, a missing
    group option) would fail at launch: each training, and each task's first evaluation (the study gives
    every evaluation of a task the same overrides but its encoder), composed now."""
    evals = [s for s in todo if s.kind == "evaluate"]
    firsts: dict[str, tuple[Stage, str | None]] = {}   # task -> its first evaluation (the floors: baseline)
    for s in evals:
        for t in s.tasks:
            firsts.setdefault(t, (s, None if s.model is None else t))
    out = []
    for s, task in [*((s, None) for s in todo if s.kind == "train"), *firsts.values()]:
        try:
            stage_config(cfg, s, task)
        except (HydraException, OmegaConfBaseException) as err:
            what = f"task={task}" if task else s.kind
            out.append(f"stage {s.name} ({what}): its config does not compose: {one_line(err)}")
    return out


def device_problems(cfg: DictConfig, todo: list[Stage]) -> list[str]:
    """The GPUs the stages' composed configs ask for against the ones torch sees here: each training's
    ``trainer``, each evaluated task's head trainer (``task.trainer``; tasks without a head train none)."""
    import torch

    have = torch.cuda.device_count()
    asks: dict[tuple[str, str], int] = {}   # (who, key) -> GPUs, each once
    for s in todo:
        if s.kind == "train":
            tr = stage_config(cfg, s).trainer
            if str(tr.get("accelerator")) in ("gpu", "cuda"):
                devices = tr.get("devices")
                asks[("train (trainer.accelerator=gpu)", f"trainer.devices={devices}")] = _count(devices)
    evaluated = (t for s in todo if s.kind == "evaluate" and s.model is not None for t in s.tasks)
    for task in dict.fromkeys(evaluated):
        ev = first_config(cfg, todo, task)
        tr = ev.task.get("trainer") if ev.task.get("head") is not None else None
        if tr is not None and str(tr.get("accelerator")) in ("gpu", "cuda"):
            devices = tr.get("devices", 1)
            who = "evaluate (task.trainer.accelerator=gpu)"
            asks[(who, f"task.trainer.devices={devices}")] = _count(devices)
    return [
        f"{who} asks for {f'{n} GPU' + ('s' if n > 1 else '') if n else 'every GPU, at least 1'} ({key}) and "
        f"torch.cuda.device_count() is "
        f"{have} here: run the study where the GPUs are, or study.check_devices=false to plan on this machine"
        for (who, key), n in asks.items()
        if have < max(n, 1)
    ]


def _count(devices) -> int:
    """GPUs a Lightning ``devices`` value asks for at least: -1/'auto' every one (0: at least 1), n, or a
    list's length."""
    text = str(devices).strip()
    if text.startswith("["):
        return len([x for x in text.strip("[]").split(",") if x.strip()])
    return int(text) if text.lstrip("-").isdigit() and int(text) > 0 else 0


def preflight(cfg: DictConfig, stages: list[Stage], echo: Callable[[str], None] = print) -> Budget:
    """Check what the stages still to run will read and need; list every problem and raise, or return
    the plan."""
    todo = [s for s in stages if not s.done]
    tokens: dict[str, int] = {}
    problems: list[str] = training_problems(cfg, todo) if cfg.study.get("check_data") else []
    broken = config_problems(cfg, todo)   # the rest reads the composed configs
    budget = None
    if broken:
        problems += broken
    else:
        if cfg.study.get("check_data"):
            problems += data_problems(cfg, todo, tokens)
        if cfg.study.get("check_devices", True):
            problems += device_problems(cfg, todo)
        budget = plan_resources(cfg, stages, tokens)
        margin = float((cfg.study.get("resources") or {}).get("free_margin", 0.05))
        problems += budget.room_problems(margin)
    if problems:
        for line in problems:
            echo(f"preflight: {line}")
        if cfg.get("dry_run") and budget is not None:  # the plan too: what the disk problem is made of
            for line in budget.lines():
                echo(line)
        raise StudyError(
            f"preflight: {len(problems)} problem{'s' if len(problems) > 1 else ''} with what the study "
            "reads or needs (listed above); no stage was run"
        )
    return budget
