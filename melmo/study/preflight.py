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

from omegaconf import DictConfig, OmegaConf

from melmo.datasets.checks import check_conll17, check_tatoeba, check_ud
from melmo.datasets.official import DatasetError
from melmo.study.plan import Stage, StudyError, merge_overrides, models
from melmo.study.resources import (
    Budget,
    conf_node,
    override,
    plan_resources,
    stage_model,
    stage_tasks,
    task_languages,
    with_overrides,
)

RAW_TEXT_TASKS = ("tatoeba", "xnli")  # tokenized with the model's own tokenizer (melmo.encode.tokenize)


def _words(text: str) -> int:
    return len(text.split())


def check_nli(root: Path, task: DictConfig, langs: list[str], tokens: dict[str, int]) -> list[str]:
    """The files task=xnli opens, read as it reads them (``task``: conf/task/xnli.yaml with the study's
    ``task.*`` evaluate overrides: layouts and expected_rows)."""
    from melmo.tasks.xnli.readers import (
        NLIFormatError,
        read_mnli_jsonl,
        read_mnli_sample,
        read_xnli_tsv,
        read_xtreme,
    )

    data = task.data
    base = root / "nli"
    lay = next((x for x in data.layouts if (base / str(x.xnli)).is_dir()), None)
    if lay is None:
        return [
            f"{base}: no XNLI folder ({', '.join(f'{x.xnli}/' for x in data.layouts)}): task xnli reads one"
        ]
    expected = dict((data.get("expected_rows") or {}).get(str(lay.name)) or {})
    mnli = {"mnli_jsonl": read_mnli_jsonl, "mnli_sample": read_mnli_sample}[str(lay.format)]
    xnli_dir = base / str(lay.xnli)
    reads = {f"mnli/{k}": (lambda k=k: mnli(base / str(lay[k]), expected.get(k))) for k in ("train", "val")}
    for lang in langs:
        for split in ("dev", "test"):
            if str(lay.xnli_format) == "xnli_tsv":
                reads[f"xnli/{lang}/{split}"] = lambda lang=lang, split=split: read_xnli_tsv(
                    xnli_dir / f"xnli.{split}.tsv", lang, expected.get(split)
                )
            else:
                reads[f"xnli/{lang}/{split}"] = lambda lang=lang, split=split: read_xtreme(
                    xnli_dir, lang, split, expected.get(split)
                )
    out = []
    for unit, read in reads.items():
        try:
            got = read()
        except (NLIFormatError, OSError) as err:
            line = str(err).splitlines()[0] if str(err) else type(err).__name__
            if line not in out:  # XNLI 1.0: one file for every language; its format problem once
                out.append(line)
            continue
        tokens[unit] = sum(_words(p.premise) + _words(p.hypothesis) for p in got.pairs)
    return out


def check_tatoeba_pairs(root: Path, langs: list[str], tokens: dict[str, int]) -> list[str]:
    from melmo.tasks.tatoeba import TatoebaError, read_pair

    out = []
    for lang in langs:
        try:
            check_tatoeba(root, [lang])
            _, xs, _, es = read_pair(root, lang)
        except (DatasetError, TatoebaError) as err:
            out.append(str(err))
            continue
        tokens[f"tatoeba/{lang}"] = sum(map(_words, xs)) + sum(map(_words, es))
    return out


def data_problems(cfg: DictConfig, todo: list[Stage], tokens: dict[str, int]) -> list[str]:
    """The evaluation data of the stages in ``todo`` (see the module docstring)."""
    study, conf = cfg.study, Path(cfg.paths.root_dir) / "conf"
    root = Path(str(study.data_root))
    want: dict[str, set[str]] = {}
    every = task_languages(study)
    for s in todo:
        if s.kind == "evaluate":
            for task, langs in stage_tasks(s, study, every).items():
                want.setdefault(task, set()).update(langs)
    ud = sorted(
        want.get("pos", set())
        | want.get("parsing", set())
        | want.get("pos_transfer", set())
        | ({"en"} if want.get("pos_transfer") else set())
    )
    out = []
    if not root.is_dir() and want:
        return [f"{root}: no such data root (study.data_root)"]
    for lang in ud:
        try:
            check_ud(root, [lang], tokens)
        except DatasetError as err:
            out.append(str(err))
            continue
        for split in ("train", "dev", "test"):  # a split the treebank lacks: nothing to encode
            tokens.setdefault(f"ud/{lang}/{split}", 0)
    out += check_tatoeba_pairs(root, sorted(want.get("tatoeba", set()) - {"en"}), tokens)
    if want.get("xnli"):
        ev = [
            str(o) for o in list(study.evaluate.overrides) + list(study.evaluate.get("extra_overrides") or [])
        ]
        task = with_overrides(OmegaConf.load(conf / "task" / "xnli.yaml"), ev, "task")
        out += check_nli(root, task, [str(x) for x in task.languages if str(x) in want["xnli"]], tokens)
    return out


def training_problems(cfg: DictConfig, todo: list[Stage]) -> list[str]:
    """CoNLL 2017 text per training language; the UDPipe models raw-text tasks need (CoNLL-U corpus)."""
    study = cfg.study
    if study.get("conll17_root") is None:
        return []
    family = {m.name: m for m in models(study)}
    train = [family[stage_model(s)] for s in todo if s.kind == "train" and stage_model(s) in family]
    langs = sorted(
        {m.mono for m in train if m.mono}
        | ({str(x) for x in study.languages} if any(not m.mono for m in train) else set())
    )
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
        return [
            *out,
            (
                f"study.udpipe_dir is not set: {tasks} tokenize raw text with the UDPipe models that "
                f"tokenized the CoNLL 2017 corpus ({', '.join(f'{x}.udpipe' for x in need)}); "
                "give study.udpipe_dir=<dir>"
            ),
        ]
    d = Path(str(udpipe))
    if not d.is_dir():
        return out + [
            f"{d}: no such directory (study.udpipe_dir: the UDPipe models {tasks} tokenize raw text with)"
        ]
    return out + [
        f"{d / f'{x}.udpipe'}: not found (the UDPipe model of {x}: {tasks} tokenize its raw text with it)"
        for x in need
        if not (d / f"{x}.udpipe").is_file()
    ]


def device_problems(cfg: DictConfig, todo: list[Stage]) -> list[str]:
    """The GPUs each kind of stage asks for against the ones torch sees here."""
    import torch

    study, conf = cfg.study, Path(cfg.paths.root_dir) / "conf"
    have = torch.cuda.device_count()
    asks = []
    if any(s.kind == "train" for s in todo):
        argv = merge_overrides(
            list(study.train.overrides) + list(study.train.get("extra_overrides") or []), []
        )
        name = override(argv, "trainer", "cpu")
        node = conf_node(conf, "trainer", name)
        tr = node.get("trainer", node)
        acc, dev = (
            override(argv, "trainer.accelerator", tr.get("accelerator")),
            override(argv, "trainer.devices", tr.get("devices")),
        )
        if str(acc) in ("gpu", "cuda"):
            asks.append((f"train (trainer={name})", f"trainer.devices={dev}", _count(dev)))
    if any(s.kind == "evaluate" for s in todo):
        ev = [
            str(o) for o in list(study.evaluate.overrides) + list(study.evaluate.get("extra_overrides") or [])
        ]
        if str(override(ev, "task.trainer.accelerator")) in ("gpu", "cuda"):
            dev = override(ev, "task.trainer.devices", 1)
            asks.append(
                ("evaluate (task.trainer.accelerator=gpu)", f"task.trainer.devices={dev}", _count(dev))
            )
    return [
        f"{who} asks for {f'{n} GPU' + ('s' if n > 1 else '') if n else 'every GPU, at least 1'} ({key}) and "
        f"torch.cuda.device_count() is "
        f"{have} here: run the study where the GPUs are, or study.check_devices=false to plan on this machine"
        for who, key, n in asks
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
    problems: list[str] = []
    if cfg.study.get("check_data"):
        problems += training_problems(cfg, todo)
        problems += data_problems(cfg, todo, tokens)
    if cfg.study.get("check_devices", True):
        problems += device_problems(cfg, todo)
    budget = plan_resources(cfg, stages, tokens)
    margin = float((cfg.study.get("resources") or {}).get("free_margin", 0.05))
    problems += budget.room_problems(margin)
    if problems:
        for line in problems:
            echo(f"preflight: {line}")
        if cfg.get("dry_run"):  # the plan too: what the disk problem is made of
            for line in budget.lines():
                echo(line)
        raise StudyError(
            f"preflight: {len(problems)} problem{'s' if len(problems) > 1 else ''} with what the study "
            "reads or needs (listed above); no stage was run"
        )
    return budget
