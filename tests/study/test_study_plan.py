"""melmo.study's planning and skipping, with fake stages (an injected runner that writes what each stage
would)."""

import csv
import json
from pathlib import Path

import pytest

import melmo  # noqa: F401
from melmo import study as S
from melmo.study.plan import app_overrides

ROOT = Path(__file__).resolve().parents[2]
LANGS = ["ar", "eu", "zh", "en", "fi", "he", "hi", "it", "ja", "ko", "ru", "sv", "tr"]
NOT_EN = [x for x in LANGS if x != "en"]
# the sample study's tasks and languages, written out here independently of conf/study/sample.yaml
# pos_transfer includes English: the paper's Table 1 averages it (M0.4 4.33 / 12)
TASKS = {"pos": LANGS, "parsing": LANGS, "pos_transfer": LANGS, "tatoeba": NOT_EN,
         "xnli": ["ar", "en", "hi", "ru", "tr", "zh"]}


def test_the_paper_languages_are_one_list_in_the_paper_order(compose_study, compose_train):
    """conf/ reads the paper's languages from one list (melmo.languages): the training data, the study, its
    MONO models and the tasks without an English row all agree, in the order the paper names them (§1)."""
    paper = compose_study("study=paper", "study.data_root=/d", "study.conll17_root=/c").study
    assert list(paper.languages) == LANGS and list(paper.mono) == LANGS
    assert {t: list(v) for t, v in paper.evaluate.tasks.items()} == TASKS
    assert list(compose_train().data.languages) == LANGS
    two = compose_study("study.languages=[en,fi]").study.evaluate.tasks
    assert {t: list(v) for t, v in two.items()} == {"pos": ["en", "fi"], "parsing": ["en", "fi"],
                                                   "pos_transfer": ["en", "fi"], "tatoeba": ["fi"],
                                                   "xnli": TASKS["xnli"]}


def arg(argv, key):
    """The value of override ``key`` in a command line, or in the Hydra overrides a stage's app gets, quotes
    removed."""
    if isinstance(argv, S.Stage):
        argv = argv.overrides if argv.kind == "analyse" else app_overrides(argv)
    hits = [a.split("=", 1)[1] for a in argv if a.startswith(key + "=")]
    return hits[0].strip("'") if hits else None


class Fake:
    """Stands in for the subprocesses: records what ran and writes the outputs each stage would."""

    def __init__(self, out: Path, fail: set[str] = frozenset()):
        self.out, self.fail, self.ran = out, set(fail), []

    def __call__(self, stage, cwd):
        self.ran.append(stage.name)
        if stage.name in self.fail:
            return 3
        if stage.kind == "train":
            corpus = self.out / "corpus"
            corpus.mkdir(parents=True, exist_ok=True)
            (corpus / "metadata.json").write_text("{}")
            model = Path(arg(stage.argv, "hydra.run.dir")) / "model"
            model.mkdir(parents=True)
            (model / "melmo.json").write_text(json.dumps({"corpus_dir": str(corpus)}))
        elif stage.kind == "evaluate":
            task, lang = arg(stage.argv, "task"), arg(stage.argv, "language")
            results = Path(arg(stage.argv, "results"))
            new = not results.exists()
            with open(results, "a", newline="") as fh:
                w = csv.writer(fh)
                if new:
                    w.writerow(["encoder", "task", "metric", "language", "seed", "value"])
                for x in ([lang] if lang else TASKS[task]):
                    # as evaluate.py writes: no head, seed 0
                    for seed in ((0,) if task == "tatoeba" else (1, 2, 3)):
                        w.writerow([arg(stage.argv, "encoder.name"), task, "acc", x, seed, 0.5])
        else:
            sizes = stage.argv[stage.argv.index("--sizes") + 1]
            assert Path(sizes) == self.out / "corpus" / "metadata.json"
            Path(stage.argv[stage.argv.index("--out") + 1]).mkdir(parents=True, exist_ok=True)
        return 0


def test_plan_trains_every_model_then_evaluates_each_task_then_analyses(compose_study, tmp_path):
    cfg = compose_study("study.strategies=[alpha04,trunc,alpha:0.3]", "study.mono=[fi]")
    stages = S.plan(cfg)
    out = tmp_path / "studies" / "sample"
    trains = [s for s in stages if s.kind == "train"]
    assert [s.name for s in trains] == ["train-alpha04", "train-trunc", "train-alpha03", "train-mono_fi"]
    for s, sampling, name in zip(trains, (["sampling=alpha04"], ["sampling=trunc"],
                                          ["sampling=alpha", "sampling.alpha=0.3"],
                                          ["sampling=mono", "sampling.language=fi"]),
                                 ("alpha04", "trunc", "alpha03", "mono_fi")):
        assert (s.model == name and s.argv is None
                and [a for a in s.overrides if a.startswith("sampling")] == sampling)
        assert s.out == str(out / "models" / name) and s.languages == LANGS
        assert arg(s, "resume") == "auto" and arg(s, "budget.tokens") == "64000.0"
        # the command line, built at launch from the record
        argv = S.command(cfg, s)
        assert argv[1:3] == ["-m", "melmo.pretrain"] and arg(argv, "hydra.run.dir") == s.out
        assert arg(argv, "data.languages") == "[" + ",".join(LANGS) + "]"
    evals = [s for s in stages if s.kind == "evaluate"]
    want = [(enc, t, None) for enc in ("M0.4", "TRUNC", "alpha03")
            for t in TASKS] + [("MONO", "pos", "fi"), ("MONO", "parsing", "fi")]
    got = [(arg(s, "encoder.name"), arg(s, "task"), arg(s, "language")) for s in evals]
    assert got == want and [s.tasks for s in evals] == [[t] for _, t, _ in want]
    assert [s.model for s in evals[-2:]] == ["mono_fi", "mono_fi"] and evals[-1].languages == ["fi"]
    assert all(arg(s, "seeds") == "[1,2,3]" and arg(s, "results") == str(out / "results.csv") for s in evals)
    assert arg(evals[0], "encoder.path") == str(out / "models" / "alpha04" / "model")
    assert S.command(cfg, evals[0])[1:3] == ["-m", "melmo.tasks"]
    assert [s.kind for s in stages][-1] == "analyse" and len(stages) == 4 + len(want) + 1
    analyse = stages[-1].overrides
    assert analyse[analyse.index("--cells") + 1] == "paper"   # Table 1 over the paper's cells


@pytest.mark.parametrize("study", ["sample", "small", "paper"])
def test_every_study_evaluates_every_cell_of_the_papers_table(compose_study, study):
    from melmo.analysis.paper import paper_cells

    cfg = compose_study(f"study={study}", "study.data_root=/eval", "study.conll17_root=/c17")
    tasks = {t: set(map(str, langs)) for t, langs in cfg.study.evaluate.tasks.items()}
    for (task, _metric), langs in paper_cells().items():
        assert set(langs) <= tasks.get(task, set()), (study, task,
                                                      sorted(set(langs) - tasks.get(task, set())))


def test_a_second_run_launches_nothing_and_a_new_row_only_reanalyses(compose_study, tmp_path):
    cfg = compose_study("study.mono=[fi]")
    out = tmp_path / "studies" / "sample"
    first, lines = Fake(out), []
    assert S.run(cfg, runner=first, echo=lines.append) == 0
    assert len(first.ran) == 4 + 3 * 5 + 2 + 1 and first.ran[-1] == "analyse"
    assert any(line.startswith("[1/22] train-alpha04: ok") for line in lines)
    again, lines = Fake(out), []
    assert S.run(compose_study("study.mono=[fi]"), runner=again, echo=lines.append) == 0
    assert again.ran == []
    assert sum("done before, skipped" in line for line in lines) == 22
    with open(out / "results.csv", "a") as fh:
        fh.write("M0.4,pos,acc,en,4,0.9\n")
    third = Fake(out)
    assert S.run(compose_study("study.mono=[fi]"), runner=third, echo=lambda _: None) == 0
    assert third.ran == ["analyse"]


def test_evaluations_whose_rows_are_all_there_are_not_launched(compose_study, tmp_path):
    out = tmp_path / "studies" / "sample"
    out.mkdir(parents=True)
    rows = [["encoder", "task", "metric", "language", "seed", "value"]]
    rows += [["M0.4", "pos", "acc", x, s, 0.9] for x in LANGS for s in (1, 2, 3)]
    rows += [["M0.4", "parsing", m, x, s, 0.9] for x in LANGS for s in (1, 2, 3) for m in ("uas", "las")
             if (x, s) != ("ko", 3)]   # one seed of one language missing
    with open(out / "results.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    cfg = compose_study("study.strategies=[alpha04]")
    done = {s.name: s.done for s in S.plan(cfg)}
    assert done["evaluate-alpha04-pos"] is True
    assert done["evaluate-alpha04-parsing"] is False and done["evaluate-alpha04-tatoeba"] is False
    fake = Fake(out)
    (out / "models" / "alpha04" / "model").mkdir(parents=True)   # trained already
    (out / "models" / "alpha04" / "model" / "melmo.json").write_text("{}")
    S.run(compose_study("study.strategies=[alpha04]", "stages=[train,evaluate]"), runner=fake,
          echo=lambda _: None)
    assert fake.ran == ["evaluate-alpha04-parsing", "evaluate-alpha04-pos_transfer",
                        "evaluate-alpha04-tatoeba", "evaluate-alpha04-xnli"]


def test_split_languages_launches_one_evaluation_per_language(compose_study):
    stages = S.plan(compose_study("study.strategies=[alpha04]", "study.evaluate.split_languages=true",
                                  "stages=[evaluate]"))
    assert [(arg(s, "task"), arg(s, "language")) for s in stages] == [
        (t, x) for t, xs in TASKS.items() for x in xs]
    assert [(s.tasks, s.languages) for s in stages] == [([t], [x]) for t, xs in TASKS.items() for x in xs]


def test_a_failed_training_blocks_its_evaluations_only(compose_study, tmp_path):
    out = tmp_path / "studies" / "sample"
    fake, lines = Fake(out, fail={"train-alpha02"}), []
    assert S.run(compose_study(), runner=fake, echo=lines.append) == 1
    assert "train-alpha02" in fake.ran and not any(n.startswith("evaluate-alpha02") for n in fake.ran)
    assert any(n.startswith("evaluate-trunc") for n in fake.ran) and fake.ran[-1] == "analyse"
    failed = [line for line in lines if line.startswith("study: stage")]
    assert failed == [
        f"study: stage train-alpha02 failed (exit 3), log: {out / 'logs' / 'train-alpha02.log'}"]
    manifest = json.loads((out / "study.json").read_text())
    status = {s["name"]: s["status"] for s in manifest["stages"]}
    assert (status["train-alpha02"] == "failed" and status["evaluate-alpha02-pos"] == "blocked"
            and status["train-trunc"] == "ok")
    assert (manifest["config"]["study"]["name"] == "sample"
            and manifest["config"]["study"]["max_tokens"] == 64000)


def test_training_length_tokens_or_paper_epochs(compose_study):
    def length(*ov):
        return {s.name: (arg(s, "budget.tokens"), arg(s, "budget.epochs"))
                for s in S.plan(compose_study("stages=[train]", "study.mono=[hi]", *ov))}

    assert set(length().values()) == {("64000.0", "null")}
    assert length("study.length=epochs") == {"train-alpha04": ("null", "2.0"),
                                             "train-alpha02": ("null", "3.0"),
                                             "train-trunc": ("64000.0", "null"),
                                             "train-mono_hi": ("64000.0", "null")}
    with pytest.raises(S.StudyError, match="study.length"):
        length("study.length=steps")


def test_small_study_runs_on_the_shipped_sample_with_one_vocabulary_and_budget(compose_study):
    stages = S.plan(compose_study("study=small", floors=True))   # study=small keeps floors: true
    trains = [s for s in stages if s.kind == "train"]
    assert [s.name for s in trains] == ["train-alpha04", "train-alpha02", "train-trunc", "train-mono_en",
                                        "train-mono_fi"]
    for s in trains:
        assert arg(s, "data.vocab_from") == "alpha04"
        assert arg(s, "budget.tokens") == str(2 * 176569.0)   # 2 epochs of the sample's alpha04 mixture
        assert arg(s, "data.corpus_pattern") == f"{ROOT}/data/sample/text/{{lang}}.txt*"
    evals = {(arg(s, "encoder.name"), arg(s, "task"), arg(s, "language")) for s in stages
             if s.kind == "evaluate" and s.name != "evaluate-floors"}
    # the five tasks and held-out perplexity (beyond the paper) for the M models, MONO its language's pos,
    # parsing, perplexity
    assert evals == {(e, t, None) for e in ("M0.4", "M0.2", "TRUNC", "RANDOM")
                     for t in [*TASKS, "perplexity"]} | \
        {("MONO", t, lang) for t in ("pos", "parsing", "perplexity") for lang in ("en", "fi")}
    assert all(arg(s, "seeds") == "[1,2,3]" for s in stages if s.kind == "evaluate")
    # the encoder-free floors, and RANDOM (random_floor:
    assert next(s for s in stages if s.name == "evaluate-floors")
    assert any(arg(s, "encoder.name") == "RANDOM" for s in stages)   # on by default in every study, issue 31)


def test_the_paper_study_needs_its_data_roots(compose_study):
    with pytest.raises(S.StudyError, match=r"study.conll17_root is not set"):
        S.plan(compose_study("study=paper", "study.data_root=/eval"))
    stages = S.plan(compose_study("study=paper", "study.data_root=/eval", "study.conll17_root=/c17"))
    t = app_overrides(stages[0])
    assert {"model=elmo_original", "data=conll17", "data.conll17_root='/c17'", "trainer=ddp"} <= set(t)
    assert arg(t, "budget.tokens") == "8000000000.0"
    assert sum(s.kind == "train" for s in stages) == 3 + 13
    assert "xnli" in {arg(s, "task") for s in stages if s.kind == "evaluate"}


def test_paper_heads_train_on_the_gpu_in_bf16(compose_study, monkeypatch):
    """study=paper's evaluate commands put every head's Lightning trainer on one GPU with bf16 autocast;
    the sample study keeps the CPU. (Composed and handed to the Trainer here; no GPU is needed.)"""
    from types import SimpleNamespace

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import melmo.tasks.common.head as head

    def head_trainer(stage):
        overrides = [a.replace("'", "") for a in app_overrides(stage)
                     if not a.startswith(("encoder.", "results"))]
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[f"paths.root_dir={ROOT}", *overrides])
        return cfg.task.trainer

    planned = S.plan(compose_study("study=paper", "study.data_root=/eval", "study.conll17_root=/c17"))
    paper = [s for s in planned if s.kind == "evaluate"]
    sample = [s for s in S.plan(compose_study("study=sample")) if s.kind == "evaluate"]
    for stage in paper:
        t = head_trainer(stage)
        assert (t.accelerator, t.precision) == ("gpu", "bf16-mixed"), stage.name
    assert {head_trainer(s).accelerator for s in sample if arg(s, "task") != "tatoeba"} == {"cpu"}
    seen = {}

    class Stop(Exception):
        pass

    def fake_trainer(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(head.L, "Trainer", fake_trainer)
    t = head_trainer(next(s for s in paper if s.tasks == ["pos"]))
    with pytest.raises(Stop):
        head.fit_head(SimpleNamespace(monitor="select/acc", fit_normalizer=lambda loader: None), None, None,
                      dict(t), seed=1)
    assert (seen["accelerator"], seen["precision"]) == ("gpu", "bf16-mixed")


def test_two_models_with_one_name_are_refused(compose_study):
    with pytest.raises(S.StudyError, match="alpha04"):
        S.plan(compose_study("study.strategies=[alpha04,alpha:0.4]"))


def test_extra_models_by_override_are_trained_and_evaluated(compose_study, tmp_path):
    cfg = compose_study("study.strategies=[alpha04]",
                        "+study.models.a4_1layer=['sampling=alpha04','model.lstm.n_layers=1','model=elmo_small']")
    stages = S.plan(cfg)
    train = next(s for s in stages if s.name == "train-a4_1layer")
    assert {"sampling=alpha04", "model.lstm.n_layers=1", "model=elmo_small"} <= set(train.overrides)
    # its own model replaces the study's
    assert "model=elmo_tiny" not in train.overrides and "model=elmo_tiny" in stages[0].overrides
    # the W&B label: only what this model changes
    assert arg(train, "changes") == "['model.lstm.n_layers=1','model=elmo_small']"
    assert arg(stages[0], "changes") == "[]"
    assert train.out == str(tmp_path / "studies" / "sample" / "models" / "a4_1layer")
    assert [s.tasks[0] for s in stages if s.needs == ["train-a4_1layer"]] == list(TASKS)
    assert {arg(s, "encoder.name") for s in stages if s.needs == ["train-a4_1layer"]} == {"a4_1layer"}


def test_a_results_file_of_another_format_is_named_in_one_line(compose_study, tmp_path):
    out = tmp_path / "studies" / "sample"
    out.mkdir(parents=True)
    (out / "results.csv").write_text("model,score\nx,1\n")
    with pytest.raises(S.StudyError,
                       match=r"results.csv: not a mELMo table \(header must be "
                             r"encoder,task,metric,language,seed,value\)"):
        S.plan(compose_study())


def test_floors_are_evaluated_beside_the_models(compose_study, tmp_path):
    out = tmp_path / "studies" / "sample"
    stages = S.plan(compose_study("study.strategies=[alpha04,trunc]", "study.random_floor=true", floors=True))
    rand = [s for s in stages if arg(s, "encoder.name") == "RANDOM"]
    assert [arg(s, "task") for s in rand] == list(TASKS)   # every task, like a model
    assert {arg(s, "encoder.path") for s in rand} == {f"random:{out / 'models' / 'alpha04' / 'model'}"}
    # its architecture and tokenizers come from alpha04
    assert all(s.needs == ["train-alpha04"] for s in rand)
    floors = next(s for s in stages if s.name == "evaluate-floors")
    assert (arg(floors, "task") == "baseline"
            and arg(floors, "task.floors") == "[pos,pos_transfer,tatoeba,xnli]")
    assert not floors.done
    # done once every floor row is there (encoders majority / classical / chance, every seed; tatoeba's seed
    # 0)
    rows = [("majority", t, x) for t in ("pos", "pos_transfer", "xnli") for x in TASKS[t]] + \
           [("classical", t, x) for t in ("pos", "pos_transfer") for x in TASKS[t]] + \
           [("chance", t, x) for t in ("xnli", "tatoeba") for x in TASKS[t]]
    out.mkdir(parents=True)
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["encoder", "task", "metric", "language", "seed", "value"])
        w.writerows([(e, t, "acc", x, s, 0.5) for e, t, x in rows
                     for s in ((0,) if t == "tatoeba" else (1, 2, 3))])
    assert next(s for s in S.plan(compose_study("study.strategies=[alpha04,trunc]", floors=True))
                if s.name == "evaluate-floors").done
    assert not any(s.name == "evaluate-floors" for s in S.plan(compose_study("study.strategies=[alpha04]")))


def test_floors_follow_the_first_model_unless_named(compose_study, tmp_path):
    without = S.plan(
        compose_study("study.strategies=[trunc,alpha02]", "study.random_floor=false", floors=True))
    assert "evaluate-floors" in [s.name for s in without] and not any(s.model == "random" for s in without)
    assert not any(arg(s, "encoder.name") == "RANDOM" for s in without)
    stages = S.plan(compose_study("study.strategies=[trunc,alpha02]", "study.random_floor=true", floors=True))
    rand = [s for s in stages if arg(s, "encoder.name") == "RANDOM"]
    assert rand and all(s.needs == ["train-trunc"] for s in rand)
    with pytest.raises(S.StudyError, match="study.floors_of: 'alpha04' is not a model"):
        S.plan(compose_study("study.strategies=[trunc]", "study.floors_of=alpha04", "study.random_floor=true",
                             floors=True))


def test_a_real_tatoeba_evaluation_counts_as_done(compose_study, tmp_path, tiny_dir):
    """The real evaluate stage (evaluate.py in a subprocess) writes what the study checks: no relaunch."""
    import shutil

    from eval_helpers import first_lines

    for side in ("fin", "eng"):
        first_lines(ROOT / "data" / "sample" / "tatoeba" / f"tatoeba.fin-eng.{side}.xz", 20,
                    tmp_path / "data" / "tatoeba" / f"tatoeba.fin-eng.{side}")
    out = tmp_path / "studies" / "sample"
    shutil.copytree(tiny_dir, out / "models" / "alpha04" / "model")
    (out / "models" / "alpha04" / "model" / "melmo.json").write_text("{}")
    ov = ["study.strategies=[alpha04]", "stages=[evaluate]", f"study.data_root={tmp_path / 'data'}",
          "study.evaluate.tasks.tatoeba=[fi]",
          "study.evaluate.extra_overrides=['encode.raw_tokenizer.kind=whitespace','paths.cache_dir="
          + str(tmp_path / 'cache') + "']"]
    cfg = compose_study(*ov)
    stage = next(s for s in S.plan(cfg) if s.name == "evaluate-alpha04-tatoeba")
    assert not stage.done
    stage.argv = S.command(cfg, stage)   # as the study launches it
    assert S.subprocess_runner(stage, ROOT) == 0, Path(stage.log).read_text()[-3000:]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {(r["encoder"], r["task"], r["language"]) for r in rows} == {("M0.4", "tatoeba", "fi")}
    assert next(s for s in S.plan(compose_study(*ov)) if s.name == "evaluate-alpha04-tatoeba").done


def test_paper_study_bundles_the_given_udpipe_models(compose_study):
    base = ("study=paper", "study.data_root=/eval", "study.conll17_root=/c17", "stages=[train]")
    assert all(arg(s, "data.conllu_udpipe_dir") is None for s in S.plan(compose_study(*base)))
    stages = S.plan(compose_study(*base, "study.udpipe_dir=/models/udpipe"))
    assert {arg(s, "data.conllu_udpipe_dir") for s in stages} == {"/models/udpipe"}


def test_logger_wandb_goes_to_every_train_and_evaluate_stage_and_the_analysis(compose_study, tmp_path):
    out = tmp_path / "studies" / "sample"
    stages = S.plan(compose_study("study.strategies=[alpha04,trunc]", "study.logger=wandb"))
    for s in stages:
        loggers = [a for a in s.overrides if a.startswith("logger=")]
        if s.kind == "analyse":
            assert loggers == []
            assert s.overrides[s.overrides.index("--wandb-dir") + 1] == str(out)
            assert s.overrides[s.overrides.index("--wandb-group") + 1] == "study-sample"
            assert s.overrides[s.overrides.index("--wandb-tags") + 1:] == ["study", "sample"]
        else:
            # the study's logger=csv replaced, not doubled
            assert loggers == ["logger=wandb"], (s.name, loggers)
    plain = S.plan(compose_study("study.strategies=[alpha04]"))
    assert [a for a in plain[0].overrides if a.startswith("logger=")] == ["logger=csv"]
    assert not any(a.startswith("logger=") for s in plain[1:] for a in s.overrides)
    assert "--wandb-dir" not in plain[-1].overrides


def test_jobs_run_stages_side_by_side_after_what_they_need(compose_study, tmp_path):
    """study.jobs=2: two stages at once, none before the stages it needs, the analysis after all, the
    same stages and rows as one at a time; each stage gets half the cores as torch threads."""
    import threading
    import time

    def run(jobs: int, out_root: Path):
        out = out_root / "studies" / "sample"
        fake, lock, spans, live = Fake(out), threading.Lock(), {}, []

        def runner(stage, cwd):
            with lock:
                live.append(stage.name)
                start = time.monotonic()
                peak = len(live)
            # others overtake MONO
            time.sleep(2.0 if stage.name == "train-mono_fi" else 0.3 if stage.kind == "train" else 0.01)
            with lock:  # the fake's CSV appends are not locked as evaluate.py's are
                rc = fake(stage, cwd)
                live.remove(stage.name)
                spans[stage.name] = (start, time.monotonic(), peak)
            return rc

        cfg = compose_study(f"study.jobs={jobs}", f"paths.log_dir={out_root}",
                            "study.strategies=[alpha04,trunc]", "study.mono=[fi]")
        assert S.run(cfg, runner=runner, echo=lambda _: None) == 0
        stages = S.plan(cfg)
        with open(out / "results.csv") as fh:
            rows = sorted(map(tuple, csv.reader(fh)))
        return stages, spans, rows

    stages, spans, rows = run(2, tmp_path / "two")
    _, spans_one, rows_one = run(1, tmp_path / "one")
    assert set(spans) == set(spans_one) and rows == rows_one
    assert max(p for *_, p in spans.values()) == 2 and max(p for *_, p in spans_one.values()) == 1
    for s in stages:
        for need in s.needs:
            assert spans[need][1] <= spans[s.name][0], f"{s.name} started before {need} ended"
    last = max(end for name, (_, end, _) in spans.items() if name != "analyse")
    assert spans["analyse"][0] >= last
    import os

    from melmo.study.run import _threads_env
    assert _threads_env(2)["OMP_NUM_THREADS"] == os.environ.get(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // 2)))
    assert _threads_env(1) == {}
