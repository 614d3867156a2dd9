"""The package as a user installs it: a wheel (no ``-e``) in a fresh virtual environment, run from an empty
directory outside the repository. Its configs come with it (melmo/conf), its console scripts run the study's
dry run and an evaluation, and what they write lands in the working directory, not in the package."""

import csv
import json
import lzma
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "elmo" / "allennlp"   # vendored upstream model (README there)
SCRIPTS = ("melmo-train", "melmo-evaluate", "melmo-study", "melmo-datasets", "melmo-corpus")

pytestmark = pytest.mark.slow   # building and installing the wheel, then two runs: over a minute on 2 cores


def sh(cmd: list, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, (f"{' '.join(map(str, cmd))} -> {res.returncode}\n"
                                 f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, venv bin, the environment to run it in): the wheel built from this tree, installed with
    ``pip install --no-deps`` into a new venv that sees the project's dependencies (torch, Hydra, ...)
    through a path entry to this interpreter's site-packages."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    # built from a copy of what the wheel is made of: an in-tree build would reuse a stale build/ folder
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "melmo", src / "melmo", ignore=shutil.ignore_patterns("__pycache__"))
    sh([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp / "dist"], src, env)
    wheel = next((tmp / "dist").glob("melmo-*.whl"))
    # a venv made from a venv's interpreter sees the base interpreter's packages with --system-site-packages,
    # not the project venv's: those are added as a plain path entry (its .pth files, an editable melmo
    # among them, are not run), after the new venv's own site-packages where the wheel goes
    venv = tmp / "venv"
    sh([sys.executable, "-m", "venv", venv], tmp, env)
    py = venv / "bin" / "python"
    purelib = sh([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).stdout
    purelib = Path(purelib.strip())
    (purelib / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    sh([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], tmp, env)
    return py, venv / "bin", {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"}


def conllu_head(src: Path, n: int, out: Path) -> None:
    with lzma.open(src, "rt", encoding="utf-8") as fh:
        blocks = [b for b in fh.read().split("\n\n") if b.strip()][:n]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")


def test_the_installed_wheel_carries_its_configs_and_scripts(installed, tmp_path):
    py, bin_dir, env = installed
    probe = ("import json, melmo, melmo.conf as c; from melmo.encode.model_dir import ModelDir; "
             "print(json.dumps([melmo.__file__, str(c.conf_file('train.yaml')), "
             "ModelDir('random:elmo_tiny').options['lstm']['dim']]))")
    where = json.loads(sh([py, "-c", probe], tmp_path, env).stdout)
    site = str(Path(py).parents[1])
    assert all(w.startswith(site) for w in where[:2]), where   # the installed copy, not the source tree
    tiny = OmegaConf.load(ROOT / "conf" / "model" / "elmo_tiny.yaml")
    assert where[2] == tiny.lstm.dim   # random:elmo_tiny: conf/model/elmo_tiny.yaml, found inside the package
    wheel_confs = sorted(p.relative_to(Path(where[1]).parent).as_posix()
                         for p in Path(where[1]).parent.rglob("*.yaml"))
    assert wheel_confs == sorted(p.relative_to(ROOT / "melmo" / "conf").as_posix()
                                 for p in (ROOT / "melmo" / "conf").rglob("*.yaml"))
    for script in SCRIPTS:
        assert (bin_dir / script).is_file(), script
    helped = sh([bin_dir / "melmo-train", "--help"], tmp_path, env).stdout   # Hydra lists the shipped groups
    assert "== Configuration groups ==" in helped and "model: elmo_original, elmo_small, elmo_tiny" in helped


def test_from_an_empty_directory_the_study_dry_runs_and_the_fixture_model_is_evaluated(installed, tmp_path):
    py, bin_dir, env = installed
    data = tmp_path / "data"
    for split, n in (("dev", 40), ("test", 20)):
        conllu_head(ROOT / "data" / "sample" / "ud" / "en" / f"en_ewt-ud-{split}.conllu.xz", n,
                    data / "ud" / "en" / f"en_ewt-ud-{split}.conllu")
    model = shutil.copytree(FIXTURE, tmp_path / "model")
    work = tmp_path / "work"
    work.mkdir()
    package = Path(sh([py, "-c", "import melmo; print(melmo.__file__)"], work, env).stdout.strip()).parent
    before = sorted(str(p) for p in package.rglob("*") if "__pycache__" not in p.parts)

    res = sh([bin_dir / "melmo-study", "study=sample", "dry_run=true", f"study.data_root={data}",
              "study.languages=[en]", "study.strategies=[alpha04]"], work, env)
    would = [line for line in res.stdout.splitlines() if ": would run " in line]
    assert any(" -m melmo.pretrain " in w for w in would) and any(" -m melmo.tasks " in w for w in would)
    manifest = json.loads((work / "logs" / "studies" / "sample" / "study.json").read_text())
    assert manifest["stages"][0]["kind"] == "train" and manifest["stages"][0]["model"] == "alpha04"

    sh([bin_dir / "melmo-evaluate", "task=pos", f"encoder.path={model}", "encoder.name=fixture",
        f"data.root={data}", "language=en", "seeds=[1]", "task.trainer.max_epochs=1", "threads=1"], work, env)
    rows = list(csv.DictReader((work / "logs" / "results.csv").open()))
    keys = {(r["encoder"], r["task"], r["language"], r["seed"]) for r in rows}
    assert keys == {("fixture", "pos", "en", "1")}
    acc = [float(r["value"]) for r in rows if r["metric"] == "acc"]
    assert len(acc) == 1 and 0.0 <= acc[0] <= 1.0
    assert list((work / "logs" / "evaluate" / "runs").iterdir())   # Hydra's run dir: in the working directory
    after = sorted(str(p) for p in package.rglob("*") if "__pycache__" not in p.parts)
    assert after == before   # nothing written into the installed package
