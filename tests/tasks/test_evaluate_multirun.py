"""The ``python evaluate.py task=pos,tatoeba encoder.path=A,B -m`` of docs/evaluation.md composes and runs:
one job per (task, encoder), each in a sweep subdir named by its task and encoder (issue 22, point 7)."""

import csv
import re
import shlex
import shutil
import subprocess
import sys

from eval_helpers import ROOT, SAMPLE, first_lines, first_sentences


def _docs_line() -> list[str]:
    text = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    (line,) = [m.group(1) for m in re.finditer(r"^(python evaluate\.py [^#\n]* -m)\s", text, re.MULTILINE)]
    return shlex.split(line)


def test_readme_multirun_line_runs_every_job(tmp_path, tiny_dir):
    argv = _docs_line()
    assert "encoder.path=A,B" in argv
    data = tmp_path / "data"
    for lang, name in (("en", "en_ewt"), ("fi", "fi_tdt")):
        for split, n in (("dev", 12), ("test", 6)):
            first_sentences(SAMPLE / "ud" / lang / f"{name}-ud-{split}.conllu.xz", n,
                            data / "ud" / lang / f"{name}-ud-{split}.conllu")
    for side in ("fin", "eng"):
        first_lines(SAMPLE / "tatoeba" / f"tatoeba.fin-eng.{side}.xz", 10,
                    data / "tatoeba" / f"tatoeba.fin-eng.{side}")
    models = {}
    for run in ("runA", "runB"):
        models[run] = tmp_path / "runs" / run / "model"
        shutil.copytree(tiny_dir, models[run])
    paths = ",".join(str(p) for p in models.values())
    argv = [a.replace("encoder.path=A,B", f"encoder.path={paths}") for a in argv]
    extra = [f"data.root={data}", "seeds=[1]", "++task.trainer.max_epochs=1",
           "encode.raw_tokenizer.kind=whitespace", f"paths.log_dir={tmp_path / 'logs'}",
           f"encode.cache_dir={tmp_path / 'cache'}", f"results={tmp_path / 'results.csv'}", "threads=1"]
    cmd = [sys.executable, *argv[1:-1], *extra, argv[-1]]  # the test's own settings before -m
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "evaluate" / "multiruns").iterdir()
    subdirs = {re.sub(r"^\d+_", "", p.name) for p in sweep.iterdir() if p.is_dir()}
    assert subdirs == {"pos_runA", "pos_runB", "tatoeba_runA", "tatoeba_runB"}
    with open(tmp_path / "results.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    short = {run: r for run in models for r in {row["encoder"] for row in rows} if r.startswith(run + "-")}
    assert {(r["task"], r["encoder"]) for r in rows} == {(t, short[run]) for t in ("pos", "tatoeba")
                                                         for run in models}
