"""A real tiny study, every stage for real: `python -m melmo.study study=small` at a few LM steps, on slices
of the shipped sample, with W&B offline; every stage runs, the analysis writes every table and figure,
and the W&B runs hold the evaluation rows (in their model's group) and the analysis tables and figures."""

from __future__ import annotations

import csv
import hashlib
import json
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wandb_offline import offline_runs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
LANGS = ["en", "fi"]
TASKS = {"pos": LANGS, "parsing": LANGS, "tatoeba": ["fi"]}
SEEDS = [1, 2]
ANALYSIS = [f"{t}.{x}" for t in ("table1", "table4") for x in ("md", "csv", "tex")] + \
    ["correlations.md", "correlations.csv", "significance.md", "significance.csv",
     "figure1.png", "figure2.png", "figure3.png"]


def _head(src: Path, n: int, dst: Path, conllu: bool) -> None:
    """The first ``n`` sentences (CoNLL-U) or lines of a shipped .xz file."""
    with lzma.open(src, "rt", encoding="utf-8") as fh:
        text = fh.read()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if conllu:
        dst.write_text("\n\n".join([b for b in text.split("\n\n") if b.strip()][:n]) + "\n\n",
                       encoding="utf-8")
    else:
        dst.write_text("\n".join(text.split("\n")[:n]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """The sample's layout with its en and fi text whole and small slices of its evaluation data."""
    root = tmp_path_factory.mktemp("data")
    (root / "text").mkdir()
    for lang in LANGS:
        (root / "text" / f"{lang}.txt.xz").symlink_to(SAMPLE / "text" / f"{lang}.txt.xz")
    for lang, tb, n in (("en", "en_ewt", 40), ("fi", "fi_tdt", 40)):
        for split in ("dev", "test"):
            _head(SAMPLE / "ud" / lang / f"{tb}-ud-{split}.conllu.xz", n,
                  root / "ud" / lang / f"{tb}-ud-{split}.conllu", True)
    for side in ("fin", "eng"):
        _head(SAMPLE / "tatoeba" / f"tatoeba.fin-eng.{side}.xz", 40,
              root / "tatoeba" / f"tatoeba.fin-eng.{side}", False)
    return root


def _list(items) -> str:
    return "[" + ",".join(f"'{x}'" for x in items) + "]"


def _results(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_a_real_tiny_study_runs_every_stage_and_logs_to_wandb(tmp_path, session_cache, data_root):
    train = ["data.module.batch_size=8", "data.module.unroll_steps=10", "heldout.batch_rows=8",
             "data.prepare.heldout_tokens=300", "lm.n_negative_samples=256",
             "trainer.enable_progress_bar=false", "trainer.val_check_interval=1000", "data.prepare.workers=1",
             f"paths.cache_dir={session_cache}"]
    evaluate = ["threads=1", "++task.trainer.max_epochs=2", "++task.batch_size=16",
                f"paths.cache_dir={session_cache}"]
    tasks = "{" + ",".join(f"{t}:[{','.join(langs)}]" for t, langs in TASKS.items()) + "}"
    cmd = [sys.executable, "-m", "melmo.study", "study=small", f"paths.log_dir={tmp_path}",
           f"study.data_root={data_root}", f"study.languages=[{','.join(LANGS)}]",
           "study.strategies=[alpha04,trunc]", "study.mono=[fi]",
           "study.max_tokens=400",  # 5 steps of 8 x 10
           f"study.evaluate.seeds=[{','.join(map(str, SEEDS))}]", "~study.evaluate.tasks",
           f"+study.evaluate.tasks={tasks}", "study.evaluate.mono_tasks=[pos,parsing]",
           f"study.train.extra_overrides={_list(train)}", f"study.evaluate.extra_overrides={_list(evaluate)}",
           "study.logger=wandb",
           "study.random_floor=true", "study.jobs=2"]   # RANDOM too (off by default), two stages at a time
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
                         env={**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"})
    out = tmp_path / "studies" / "small"
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted((out / "logs").glob("*.log"))) \
        if (out / "logs").is_dir() else ""
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:] + logs

    # every stage ran, and ran ok
    manifest = json.loads((out / "study.json").read_text())
    names = [s["name"] for s in manifest["stages"]]
    want = ["train-alpha04", "train-trunc", "train-mono_fi"] + \
        [f"evaluate-{m}-{t}" for m in ("alpha04", "trunc") for t in TASKS] + \
        ["evaluate-mono_fi-pos-fi", "evaluate-mono_fi-parsing-fi"] + \
        [f"evaluate-random-{t}" for t in TASKS] + ["evaluate-floors", "analyse"]   # study=small's floors
    assert names == want
    assert {s["status"] for s in manifest["stages"]} == {"ok"}, [
        (s["name"], s["status"]) for s in manifest["stages"]]
    # the three models share the alpha04 corpus's vocabulary (study=small: data.vocab_from=alpha04)
    vocabs = {m: (out / "models" / m / "model" / "vocab.txt").read_bytes()
              for m in ("alpha04", "trunc", "mono_fi")}
    assert vocabs["alpha04"] == vocabs["trunc"] == vocabs["mono_fi"]

    rows = _results(out / "results.csv")
    got = {(r["encoder"], r["task"], r["language"]) for r in rows}
    assert got == {(e, t, lang) for e in ("M0.4", "TRUNC", "RANDOM") for t, langs in TASKS.items()
                   for lang in langs} | \
        {("MONO", "pos", "fi"), ("MONO", "parsing", "fi")} | \
        {(floor, "pos", lang) for floor in ("majority", "classical") for lang in LANGS} | \
        {("chance", "tatoeba", "fi")}   # the floors
    assert {r["seed"] for r in rows if r["task"] == "pos"} == {str(s) for s in SEEDS}
    written = {p.name for p in (out / "analysis").iterdir() if not p.name.startswith(".")}
    assert set(ANALYSIS) <= written, sorted(set(ANALYSIS) - written)

    # W&B: each evaluation in the group of the LM run that made its encoder, with its tags, holding its rows
    for model, encoder in (("alpha04", "M0.4"), ("trunc", "TRUNC")):
        (lm,) = offline_runs(out / "models" / model)
        assert lm.group == model and lm.job_type != "evaluate"
        for task in TASKS:
            (ev,) = offline_runs(out / "evaluations" / f"{model}-{task}")
            assert ev.group == lm.group and ev.tags == [*lm.tags, "evaluate", task], (ev.tags, lm.tags)
            logged = {(r["metric"], r["language"], r["seed"], r["value"])
                      for r in ev.table("evaluation/rows")}
            assert logged == {(r["metric"], r["language"], int(r["seed"]), float(r["value"])) for r in rows
                              if (r["encoder"], r["task"]) == (encoder, task)}
    (analysis,) = offline_runs(out)
    assert (analysis.group, analysis.job_type) == ("study-small", "analysis")
    with open(out / "analysis" / "table1.csv", encoding="utf-8") as fh:
        assert [r["encoder"] for r in analysis.table("analysis/table1")] == [
            r["encoder"] for r in csv.DictReader(fh)]
    assert {(r["task"], r["encoder"]) for r in analysis.table("analysis/table4")} >= {("PoS", "MONO"),
                                                                                      ("Tatoeba", "TRUNC")}
    for fig in ("figure1", "figure2", "figure3"):
        logged = hashlib.sha256(analysis.image(f"analysis/{fig}").read_bytes()).hexdigest()
        assert logged == hashlib.sha256((out / "analysis" / f"{fig}.png").read_bytes()).hexdigest()
