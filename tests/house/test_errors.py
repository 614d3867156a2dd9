"""One error convention for every entry point (docs/errors.md, melmo/utils/errors.py): a bad input (a
melmo.errors.MelmoError, a Hydra or OmegaConf config error) ends in one line on stderr starting with
``error:``, exit status 1, no traceback; HYDRA_FULL_ERROR=1 shows the traceback instead. A bug (any other
exception) shows its full traceback and exits with INTERNAL_ERROR. Each input here fails before any heavy
work (no corpus prepared, no model trained)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from melmo.errors import MelmoError
from melmo.utils.errors import INTERNAL_ERROR, USER_ERROR, user_error

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """entry point -> (argv after the interpreter, a text its error line must hold)."""
    missing = tmp / "missing"
    run = [f"hydra.run.dir={tmp / 'run'}", f"paths.log_dir={tmp / 'logs'}"]
    return {
        "train.py": (["train.py", "budget.tokens=-5", "export=false", *run], "budget.tokens: must be > 0"),
        "evaluate.py": (["evaluate.py", "task=pos", f"encoder.path={missing}", *run],
                        f"{missing}: no such model directory"),
        "melmo.corpus": (["-m", "melmo.corpus", "prepare", "--config-dir", str(ROOT / "conf"),
                          "data.languages=[en]", f"data.corpus_pattern='{missing}/{{lang}}.txt'",
                          f"paths.cache_dir={tmp / 'cache'}"],
                         f"{missing}/en.txt: corpus file for language 'en' not found"),
        "melmo.corpus.udpipe": (["-m", "melmo.corpus.udpipe", "score", "--model", str(missing / "m.udpipe"),
                                 "--conllu", str(missing / "x.conllu")], str(missing)),
        "melmo.encode.embed_cli": (["-m", "melmo.encode.embed_cli", str(missing / "in.txt"),
                                    str(tmp / "out.hdf5"), "--model", str(missing)],
                                   f"{missing / 'in.txt'}: no such input file"),
        "melmo.analysis": (["-m", "melmo.analysis", str(missing / "results.csv"), "--out",
                            str(tmp / "analysis")],
                           str(missing / "results.csv")),
        "melmo.study": (["-m", "melmo.study", "study=sample", "dry_run=true", "stages=[bogus]",
                         f"paths.log_dir={tmp}"],
                        "stages: unknown stage kind(s) ['bogus']"),
        "melmo.datasets": (["-m", "melmo.datasets", "layout", str(tmp / "root"), "--ud", str(missing)],
                           str(missing)),
        "argparse usage": (["-m", "melmo.analysis"], "the following arguments are required: --out"),
    }


def call(argv: list[str], **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    path = os.pathsep.join([str(ROOT), str(HERE)])  # HERE: bugs.py, the deliberate programming errors
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False, env={**environ, "PYTHONPATH": path, "WANDB_MODE": "offline", **env})


@pytest.mark.parametrize("entry", list(cases(Path("/x"))))
def test_a_bad_input_is_one_line_on_stderr_and_exit_status_1(entry, tmp_path):
    argv, expected = cases(tmp_path)[entry]
    res = call(argv)
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == 1, (entry, res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stdout + res.stderr, res.stderr[-2000:]
    assert len(errors) == 1 and expected in errors[0], res.stderr[-2000:]
    assert res.stderr.strip().splitlines()[-1] == errors[0]  # the last thing said
    assert not (tmp_path / "out.hdf5").exists() and not (tmp_path / "analysis").exists()


@pytest.mark.parametrize("entry", ["train.py", "evaluate.py", "melmo.corpus", "melmo.corpus.udpipe",
                                   "melmo.encode.embed_cli", "melmo.analysis", "melmo.study",
                                   "melmo.datasets"])
def test_hydra_full_error_shows_the_traceback(entry, tmp_path):
    argv, expected = cases(tmp_path)[entry]
    res = call(argv, HYDRA_FULL_ERROR="1")
    assert res.returncode == 1, (entry, res.returncode, res.stderr[-2000:])
    assert "Traceback (most recent call last)" in res.stderr and expected in res.stderr, res.stderr[-2000:]


def test_a_bug_shows_its_traceback_and_a_distinct_status(tmp_path):
    # a task entry that raises IndexError: not the user's input, so the whole traceback, down to the bug
    res = call(["evaluate.py", "task=pos", "task.entry=bugs.run", f"encoder.path={tmp_path}",
                f"hydra.run.dir={tmp_path / 'run'}", f"paths.log_dir={tmp_path / 'logs'}"])
    assert res.returncode == INTERNAL_ERROR != USER_ERROR, (res.returncode, res.stderr[-2000:])
    assert "Traceback (most recent call last)" in res.stderr, res.stderr[-2000:]
    assert 'bugs.py", line' in res.stderr, res.stderr[-2000:]
    assert "IndexError: list index out of range" in res.stderr, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: internal error (a bug in mELMo") and "IndexError" in last


def test_a_config_naming_no_importable_entry_is_one_line(tmp_path):
    res = call(["evaluate.py", "task=pos", "task.entry=melmo.tasks.nosuch.run", f"encoder.path={tmp_path}",
                f"hydra.run.dir={tmp_path / 'run'}", f"paths.log_dir={tmp_path / 'logs'}"])
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert res.returncode == USER_ERROR and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert len(errors) == 1 and "task.entry=melmo.tasks.nosuch.run" in errors[0], res.stderr[-2000:]


def _instantiation_error(node: dict) -> BaseException:
    from hydra.utils import instantiate

    with pytest.raises(Exception) as err:
        instantiate(node)
    return err.value


def test_which_errors_are_the_users():
    from omegaconf import OmegaConf

    assert user_error(MelmoError("x")) and not user_error(KeyError("x")) and not user_error(TypeError("x"))
    with pytest.raises(Exception) as err:
        OmegaConf.create({"a": "???"}).a  # noqa: B018
    assert user_error(err.value)  # OmegaConf: a mandatory key not set
    # Hydra's instantiate: a key the target does not take is the config's fault; a bug inside it is not
    assert user_error(_instantiation_error({"_target_": "bugs.Broken", "size": 1, "colour": "red"}))
    assert user_error(_instantiation_error({"_target_": "bugs.NoSuchClass"}))
    assert not user_error(_instantiation_error({"_target_": "bugs.Broken", "size": 1}))


def test_every_error_class_of_the_package_is_a_melmo_error():
    import importlib
    import inspect
    import pkgutil

    import melmo

    found = {}
    for info in pkgutil.walk_packages(melmo.__path__, "melmo."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    assert len(found) >= 24, sorted(found)
    assert [name for name, cls in found.items() if not issubclass(cls, MelmoError)] == []
