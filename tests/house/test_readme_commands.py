"""Every ``python ...`` command the README and the documentation pages (``docs/**/*.md``, the MkDocs site)
show still composes, so a renamed or removed key, config group or flag fails here instead of in a user's
shell.

Commands are taken from each page's code blocks (each line, ``&&``-chained parts, backslash
continuations joined; ``srun``/``torchrun`` launching ``train.py`` count) and from inline code spans
that start with ``python ``. Each is checked in-process, the way its program reads it:

* ``train.py`` / ``evaluate.py`` / ``python -m melmo.corpus prepare``: Hydra composes ``conf/train.yaml``
  or ``conf/evaluate.yaml`` with the overrides (what ``--cfg job`` prints) and the job config resolves;
  a ``-m`` sweep composes once per combination of its values.
* ``python -m melmo.study``: its config composes and the study runs with ``dry_run=true`` (it plans
  every stage and prints the commands; its directory goes under a temporary ``paths.log_dir``), with
  ``study.check_data=false``: the pages' data roots do not exist here (the check of a root is
  tests/study/test_paper_inputs.py's, on a stand-in tree).
* any other ``python -m melmo...`` module or script: its argparse parser accepts the arguments (the
  parser is stopped before the command does anything).
* ``python -m pytest``, ``python -c``: pytest is importable; the ``-c`` code compiles.

Placeholders are substituted, and no other change is made to a command: ``<s>``, ``<name>`` and ``<corpus>``
become the sampling name ``alpha04``; any other ``<...>`` a temporary path; an elided argument ``...``
is dropped, an option's elided value (``--sizes ...``) becomes a path, ``task=...`` becomes ``task=pos``
and any other ``key=...`` a path; ``[overrides]`` is dropped.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import itertools
import re
import shlex
import shutil
from pathlib import Path
from unittest import mock

import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]  # the front page and every page of the site
SAMPLING_PLACEHOLDERS = {"<s>": "alpha04", "<name>": "alpha04", "<corpus>": "alpha04"}
ELIDED_VALUES = {"task": "pos"}  # key=... with a value that must name a config; any other key=... gets a path


def page_commands(page: Path) -> list[tuple[int, str]]:
    """(line, command) for every python command in a code block or an inline code span of ``page``."""
    lines = page.read_text(encoding="utf-8").split("\n")
    found, in_block, pending = [], False, ""
    for number, line in enumerate(lines, 1):
        if line.strip().startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1] + " "
                continue
            pending = ""
            text = re.sub(r"\s#.*$", "", text)  # a trailing comment
            for part in text.split("&&"):
                launched = re.sub(r"^(srun|torchrun(\s+--\S+)*)\s+(?=(python\s+)?train\.py)", "",
                                  part.strip())
                part = ("python " + launched if launched.startswith("train.py") and launched != part.strip()
                        else launched)
                if part.startswith("python "):
                    found.append((number, part))
        else:
            found += [(number, span) for span in re.findall(r"`(python [^`]+)`", line)]
    return found


SHOWN = [(str(page.relative_to(ROOT)), number, command)
         for page in PAGES for number, command in page_commands(page)]
COMMANDS = list({c: (page, number, c) for page, number, c in reversed(SHOWN)}.values())[::-1]
"""Each distinct command once, named by its first page and line (the front page repeats some of the docs')."""


def substitute(command: str, tmp: Path) -> list[str]:
    """The command's arguments (after ``python``) with the placeholders filled in."""
    for placeholder, value in SAMPLING_PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    command = re.sub(r"<[^>]+>", str(tmp / "placeholder"), command)
    out = []
    for arg in shlex.split(command)[1:]:
        if arg == "..." and out and out[-1].startswith("--"):  # an elided option value
            arg = str(tmp / "placeholder")
        elif arg in ("...", "[overrides]"):
            continue
        elif arg.endswith("=..."):
            key = arg[:-4]
            arg = f"{key}={ELIDED_VALUES.get(key, tmp / 'placeholder')}"
        out.append(arg)
    return out


def sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """The jobs of a ``-m`` sweep: one override list per combination of the swept values."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
               else [o.input_line] for o in parsed]
    return [list(job) for job in itertools.product(*choices)]


def compose(config_name: str, overrides: list[str], tmp: Path):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = hydra_compose(config_name, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    HydraConfig.instance().set_config(cfg)
    for key in cfg:  # every interpolation of the job config resolves (what the run reads)
        if key != "hydra":
            node = cfg[key]
            OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
    return cfg


def hydra_args(argv: list[str]) -> tuple[list[str], bool]:
    """(overrides, multirun) from a Hydra app's command line; --cfg/--package take a value."""
    overrides, multirun, skip = [], False, False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("-m", "--multirun"):
            multirun = True
        elif arg in ("--cfg", "-c", "--package", "-p"):
            skip = True
        else:
            overrides.append(arg)
    return overrides, multirun


def check_hydra_app(config_name: str, argv: list[str], tmp: Path) -> None:
    overrides, multirun = hydra_args(argv)
    for job in sweep_jobs(overrides) if multirun else [overrides]:
        compose(config_name, job, tmp)


def check_study(argv: list[str], tmp: Path, capsys) -> None:
    from melmo.study import run

    overrides, _ = hydra_args(argv)
    cfg = compose("study", [*overrides, "dry_run=true", "++study.check_data=false",
                            "++study.check_devices=false", f"paths.log_dir={tmp / 'logs'}"], tmp)
    # the pages' studies plan for the GPUs and disks of their machines: this one's free space is not the point
    roomy = shutil._ntuple_diskusage(10**15, 0, 10**15)
    with mock.patch("shutil.disk_usage", lambda path: roomy):
        assert run(cfg) == 0, capsys.readouterr().out[-2000:]


class Parsed(Exception):
    """Raised by the patched parse_args once the command line parsed: stop before the command runs."""


def check_argparse_cli(module: str, argv: list[str], monkeypatch) -> None:
    real = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        real(self, args, namespace)  # a bad argument exits 2 here (argparse's error)
        raise Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    program = importlib.import_module(module)
    main = getattr(program, "main", None) or importlib.import_module(f"{module}.__main__").main
    with pytest.raises(Parsed):
        main(argv)


def check(command: str, tmp: Path, monkeypatch, capsys) -> None:
    argv = substitute(command, tmp)
    if argv[0] == "-c":
        compile(argv[1], "<readme>", "exec")
    elif argv[0] in ("train.py", "evaluate.py"):
        check_hydra_app(argv[0][: -len(".py")], argv[1:], tmp)
    elif argv[:3] == ["-m", "melmo.corpus", "prepare"]:
        check_hydra_app("train", argv[3:], tmp)
    elif argv[:2] == ["-m", "melmo.study"]:
        check_study(argv[2:], tmp, capsys)
    elif argv[:2] == ["-m", "pytest"]:
        importlib.import_module("pytest")
    elif argv[0] == "-m" and argv[1].startswith("melmo"):
        if len(argv) == 2:  # the module named as a program, no arguments: it must be a runnable CLI
            assert importlib.util.find_spec(f"{argv[1]}.__main__"), f"{argv[1]} has no __main__"
        else:
            check_argparse_cli(argv[1], argv[2:], monkeypatch)
    elif argv[0].endswith(".py"):
        assert (ROOT / argv[0]).is_file(), f"{argv[0]}: no such script"
    else:
        pytest.fail(f"the test does not know how to check {command!r}: extend check()")


def kind(command: str) -> str:
    """The program a command runs: its script, or its module after ``-m``."""
    words = command.split()
    return words[2] if words[1] == "-m" else words[1]


def test_the_pages_show_commands_of_every_kind():
    kinds = {kind(c) for _, _, c in SHOWN}
    shown = {"train.py", "evaluate.py", "melmo.study", "melmo.corpus", "melmo.analysis", "melmo.datasets"}
    assert shown <= kinds, kinds
    assert len(COMMANDS) >= 30, len(COMMANDS)
    pages = {page for page, _, _ in SHOWN}
    assert {"README.md", "docs/training.md", "docs/evaluation.md", "docs/study.md",
            "docs/full-scale.md"} <= pages


def test_the_readme_shows_setup_and_full_scale():
    """The front page: the main job and the tests as set-up commands, the paper's two full-scale commands."""
    readme = [c for page, _, c in SHOWN if page == "README.md"]
    assert "python train.py" in readme and "python -m pytest -q" in readme, readme
    assert any(c.startswith("python -m melmo.datasets layout ") for c in readme), readme
    assert any(c.startswith("python -m melmo.study study=paper ") for c in readme), readme


@pytest.mark.parametrize(("page", "line", "command"), COMMANDS, ids=[f"{p}:{n}" for p, n, _ in COMMANDS])
def test_page_command_composes(page, line, command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the commands run from the repository root
    try:  # a config error propagates with its traceback; the test id names the page and line
        check(command, tmp_path, monkeypatch, capsys)
    except SystemExit as e:
        err = capsys.readouterr().err.strip()[-500:]
        pytest.fail(f"{page}:{line}: {command}\n  exited {e.code}: {err}")
