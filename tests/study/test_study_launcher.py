"""study.evaluate.launcher: a model's evaluations as one Hydra multirun spread by a launcher plugin
(hydra-joblib-launcher here, two workers) give the rows the one-subprocess-per-task stages give."""

import csv
import shutil
from pathlib import Path

import pytest
from eval_helpers import first_lines

from melmo import study as S

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("hydra_plugins.hydra_joblib_launcher")


def _data(root: Path) -> Path:
    """The sample's Finnish Tatoeba pair, cut to 20 lines, and its Finnish treebank."""
    for side in ("fin", "eng"):
        first_lines(ROOT / "data" / "sample" / "tatoeba" / f"tatoeba.fin-eng.{side}.xz", 20,
                    root / "tatoeba" / f"tatoeba.fin-eng.{side}")
    shutil.copytree(ROOT / "data" / "sample" / "ud" / "fi", root / "ud" / "fi")
    return root


def _run(compose_study, tmp: Path, tiny_dir, data: Path, *extra) -> tuple[list, set]:
    out = tmp / "studies" / "sample"
    shutil.copytree(tiny_dir, out / "models" / "alpha04" / "model")
    (out / "models" / "alpha04" / "model" / "melmo.json").write_text("{}")
    ov = ["study.strategies=[alpha04]", "stages=[evaluate]", f"study.data_root={data}",
          f"paths.log_dir={tmp}", "~study.evaluate.tasks", "+study.evaluate.tasks={tatoeba:[fi],pos:[fi]}",
          "study.evaluate.seeds=[1,2]",
          "study.evaluate.extra_overrides=['encode.raw_tokenizer.kind=whitespace','threads=1','++task.trainer.max_epochs=2',"
          f"'paths.cache_dir={tmp / 'cache'}']", *extra]
    cfg = compose_study(*ov)
    stages = S.plan(cfg)
    for stage in stages:
        stage.argv = S.command(cfg, stage)   # as the study launches it
        assert S.subprocess_runner(stage, ROOT) == 0, Path(stage.log).read_text()[-3000:]
    with open(out / "results.csv") as fh:
        rows = {(r["encoder"], r["task"], r["metric"], r["language"], r["seed"], r["value"])
                for r in csv.DictReader(fh)}
    return stages, rows, compose_study(*ov)


def test_a_models_evaluations_as_one_joblib_multirun_give_the_sequential_rows(
        compose_study, tmp_path, tiny_dir):
    data = _data(tmp_path / "data")
    one_by_one, rows_seq, _ = _run(compose_study, tmp_path / "seq", tiny_dir, data)
    swept, rows_jl, cfg = _run(compose_study, tmp_path / "jl", tiny_dir, data,
                               "study.evaluate.launcher=joblib",
                               "study.evaluate.launcher_overrides=['hydra.launcher.n_jobs=2']")
    assert [s.name for s in one_by_one] == ["evaluate-alpha04-tatoeba", "evaluate-alpha04-pos"]
    assert [s.name for s in swept] == ["evaluate-alpha04"]
    argv = swept[0].argv
    assert argv[1:6] == ["-m", "melmo.tasks", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    assert "task=tatoeba,pos" in argv and swept[0].tasks == ["tatoeba", "pos"] and swept[0].multirun
    assert "Joblib.Parallel(n_jobs=2" in Path(swept[0].log).read_text()   # the plugin ran the jobs
    assert rows_jl == rows_seq and {r[1] for r in rows_jl} == {"tatoeba", "pos"}
    assert {r[4] for r in rows_jl if r[1] == "pos"} == {"1", "2"}
    assert S.plan(cfg)[0].done   # every row there: the stage is not launched again
