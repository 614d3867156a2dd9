"""End to end on a tiny random model and small slices of the shipped sample: pos, pos_transfer,
tatoeba through melmo.tasks.run.run; frozen encoder; skip-if-done; bad inputs."""

import csv
import lzma
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from eval_helpers import ROOT, SAMPLE, tiny_model_dir

import melmo.tasks.common.context as context_mod
import melmo.tasks.pos as pos_mod
from melmo.formats.conllu import read_conllu
from melmo.model.io import bilm_tf_arrays, load_bilm


def _head(path: Path, n: int, out: Path):
    """The first ``n`` sentences of a (compressed) CoNLL-U file."""
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    blocks = [b for b in text.split("\n\n") if b.strip()][:n]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for lang, name, split, n in [("en", "en_ewt", "dev", 60), ("en", "en_ewt", "test", 30),
                                 ("fi", "fi_tdt", "dev", 50), ("fi", "fi_tdt", "test", 25),
                                 ("ar", "ar_pud", "test", 40), ("it", "it_isdt", "test", 25)]:
        _head(SAMPLE / "ud" / lang / f"{name}-ud-{split}.conllu.xz", n,
              root / "ud" / lang / f"{name}-ud-{split}.conllu")
    (root / "tatoeba").mkdir()
    for iso in ("fin", "ita"):
        for side in (iso, "eng"):
            with lzma.open(SAMPLE / "tatoeba" / f"tatoeba.{iso}-eng.{side}.xz", "rt", encoding="utf-8") as fh:
                lines = fh.read().split("\n")[:30]
            (root / "tatoeba" / f"tatoeba.{iso}-eng.{side}").write_text(
                "\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def evaluate(tmp_path, data_root, tiny_dir):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    def go(*overrides, model=tiny_dir):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                f"encoder.path={model}", "encoder.name=tiny", f"data.root={data_root}",
                f"results={tmp_path / 'res' / 'results.csv'}", f"encode.cache_dir={tmp_path / 'cache'}",
                "seeds=[1,2]", "paths.root_dir=" + str(ROOT), "paths.log_dir=" + str(tmp_path / "logs"),
                *overrides])
        return run(cfg)

    yield go
    GlobalHydra.instance().clear()


FAST = ["task.trainer.max_epochs=2", "task.batch_size=16"]


def _rows(tmp_path):
    with open(tmp_path / "res" / "results.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _pred_acc(path: Path) -> tuple[float, int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "item\tgold\tprediction"
    rows = [line.split("\t") for line in lines[1:]]
    return sum(g == p for _, g, p in rows) / len(rows), len(rows)


def test_pos_end_to_end_frozen_encoder_and_skip(evaluate, tmp_path, tiny_dir, data_root, monkeypatch):
    before = {k: v.clone() for k, v in bilm_tf_arrays(load_bilm(tiny_dir / "options.json",
                                                                tiny_dir / "weights.hdf5")).items()}
    made = []
    monkeypatch.setattr(context_mod, "ModelDir",
                        lambda p, _M=context_mod.ModelDir: made.append(_M(p)) or made[-1])
    rows = evaluate("task=pos", "language=[en,ar]", *FAST)
    assert {(r["language"], r["seed"], r["metric"]) for r in rows} == {
        (lang, s, m) for lang in ("en", "ar") for s in (1, 2) for m in ("acc", "acc_select")}
    # every encoder parameter bit-identical and gradient-free after the heads trained
    for m in made:
        enc = m.encoder
        assert all(not p.requires_grad and p.grad is None for p in enc.parameters())
        after = bilm_tf_arrays(enc)
        assert all(torch.equal(before[k], after[k]) for k in before)
    # the reported accuracy is the share of correct lines in the predictions file; en test: all of its words
    n_words = sum(len(s.words) for s in read_conllu(data_root / "ud" / "en" / "en_ewt-ud-test.conllu"))
    for r in _rows(tmp_path):
        if r["metric"] == "acc":
            acc, n = _pred_acc(
                tmp_path / "res" / "predictions" / "pos" / "tiny" / f"{r['language']}.seed{r['seed']}.tsv")
            assert float(r["value"]) == pytest.approx(acc, abs=1e-5)
            if r["language"] == "en":
                assert n == n_words
    enc_rows = list(csv.DictReader((tmp_path / "res" / "encoders.csv").open()))
    assert (enc_rows[0]["encoder"] == "tiny" and enc_rows[0]["policy"] == "stateless"
            and len(enc_rows[0]["weights_sha256"]) == 64)
    saved = (tmp_path / "res" / "configs" / "pos" / "tiny.yaml").read_text()
    assert "select:" in saved and "encoder_input: words" in saved and "convention: ud_words" in saved

    def no_training(*a, **k):
        raise AssertionError("an evaluation already in the CSV was rerun")

    monkeypatch.setattr(pos_mod, "fit_head", no_training)
    assert evaluate("task=pos", "language=[en,ar]", *FAST) == []
    monkeypatch.undo()
    assert len(evaluate("task=pos", "language=en", "seeds=[1]", "force=true", *FAST)) == 2
    after = _rows(tmp_path)  # force=true replaced the rows of (tiny, pos, en, 1): no duplicate key
    assert len(after) == 8 and len({(r["language"], r["seed"], r["metric"]) for r in after}) == 8


def test_pos_transfer_one_model_per_seed(evaluate, tmp_path, data_root, monkeypatch):
    calls = []
    real = pos_mod.fit_head
    monkeypatch.setattr(pos_mod, "fit_head", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows = evaluate("task=pos_transfer", *FAST)
    assert len(calls) == 2  # one English model per seed, applied to all
    assert {(r["language"], r["seed"]) for r in rows} == {(lang, s) for lang in ("ar", "en", "fi", "it")
                                                          for s in (1, 2)}
    _, n = _pred_acc(tmp_path / "res" / "predictions" / "pos_transfer" / "tiny" / "it.seed1.tsv")
    assert n == sum(len(s.words) for s in read_conllu(data_root / "ud" / "it" / "it_isdt-ud-test.conllu"))


def test_tatoeba_end_to_end(evaluate, tmp_path):
    # a model that records no tokenizer: a one-line error naming the option, no row, unless whitespace is
    # chosen
    with pytest.raises(ValueError, match=r"no tokenizer recorded for 'en'.*encode\.raw_tokenizer\.kind") as e:
        evaluate("task=tatoeba")
    assert "\n" not in str(e.value) and not (tmp_path / "res" / "results.csv").exists()
    rows = evaluate("task=tatoeba", "task.layer=1", "encode.raw_tokenizer.kind=whitespace")
    saved = (tmp_path / "res" / "configs" / "tatoeba" / "tiny.yaml").read_text()
    assert "kind: whitespace" in saved  # the choice is recorded beside the results
    # every layer, one encoding
    metrics = ("acc", "acc_reverse", "acc_layer0", "acc_layer1", "acc_layer2", "acc_average")
    assert {(r["language"], r["metric"]) for r in rows} == {(lang, m) for lang in ("fi", "it")
                                                            for m in metrics}
    got = {(r["language"], r["metric"]): r["value"] for r in rows}
    # acc: the configured layer
    assert all(got[(lang, "acc")] == got[(lang, "acc_layer1")] for lang in ("fi", "it"))
    assert all(0.0 <= float(r["value"]) <= 1.0 and r["seed"] == 0 for r in rows)
    pred = (tmp_path / "res" / "predictions" / "tatoeba" / "tiny" / "fi.seed0.tsv").read_text().splitlines()
    assert len(pred) == 31 and pred[1].split("\t")[:2] == ["0", "0"]


def test_unknown_language_and_bad_model_one_line(evaluate, tmp_path):
    with pytest.raises(ValueError,
                       match=r"task pos has no data for language\(s\) xx \(available: ar, en, fi, it\)"):
        evaluate("task=pos", "language=xx")
    with pytest.raises(ValueError, match="no such model directory"):
        evaluate("task=pos", model=tmp_path / "missing")
    broken = tiny_model_dir(tmp_path / "broken", seed=3)
    (broken / "options.json").unlink()
    with pytest.raises(ValueError, match=r"broken/options.json: missing"):
        evaluate("task=pos", model=broken)
    assert not (tmp_path / "res" / "results.csv").exists()


def test_cli_errors_are_one_line(tmp_path):
    r = subprocess.run([sys.executable, "evaluate.py", "task=pos", f"encoder.path={tmp_path / 'nope'}",
                        f"paths.log_dir={tmp_path}", "hydra.run.dir=" + str(tmp_path / "h")],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"{tmp_path / 'nope'}: no such model directory" in last
    r = subprocess.run([sys.executable, "evaluate.py", "task=nosuchtask", "encoder.path=x",
                        "hydra.run.dir=" + str(tmp_path / "h")],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "nosuchtask" in r.stderr


def test_logger_wandb_logs_the_rows_to_the_encoders_lm_group(evaluate, tmp_path, monkeypatch):
    from wandb_offline import offline_runs

    monkeypatch.setenv("WANDB_MODE", "offline")
    lm = {"run_label": "alpha03+model.lstm.n_layers=1",
          "run_tags": ["study", "sample", "alpha03", "elmo_tiny"]}
    model = tiny_model_dir(tmp_path / "exported", meta={"run": lm})
    rows = evaluate("task=tatoeba", "encode.raw_tokenizer.kind=whitespace", "logger=wandb",
                    f"logger.wandb.save_dir={tmp_path / 'wb'}", model=model)
    (run,) = offline_runs(tmp_path / "wb")
    assert (run.group, run.name, run.job_type) == (lm["run_label"], f"{lm['run_label']}-tatoeba", "evaluate")
    assert run.tags == [*lm["run_tags"], "evaluate", "tatoeba"]
    assert run.config["lm_run"] == lm and run.config["task"] == "tatoeba"
    logged = {(r["language"], r["metric"], r["seed"]): r["value"] for r in run.table("evaluation/rows")}
    assert logged == {(r["language"], r["metric"], int(r["seed"])): float(r["value"]) for r in rows}
    fi_acc = next(r["value"] for r in _rows(tmp_path) if (r["language"], r["metric"]) == ("fi", "acc"))
    assert run.summary["tatoeba/acc/fi"] == pytest.approx(float(fi_acc))


def test_without_a_logger_evaluation_imports_no_wandb(tmp_path):
    code = ("import sys, melmo.tasks.run, melmo.analysis.__main__; "
            "sys.exit('wandb' in sys.modules or 'lightning' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
