"""task=xnli end to end through melmo.tasks.run.run on a tiny random model and the shipped NLI slice:
acc (dev) and acc_test rows for the six XNLI languages, 3 seeds, one model per seed, XNLI tokenized
with the model's tokenizer, premise overlap dropped, languages without XNLI skipped; bad rows."""

import csv
import logging
import lzma
import shutil
from pathlib import Path

import pytest
from eval_helpers import ROOT, SAMPLE

import melmo.tasks.xnli.task as xnli_task
from melmo.formats.nli import NLIFormatError

LANGS = ("ar", "en", "hi", "ru", "tr", "zh")
FAST = ["task.head.hidden=8", "task.trainer.max_epochs=2", "task.data.max_train_pairs=120",
        "task.data.max_eval_pairs=30"]


@pytest.fixture
def evaluate(tmp_path, tiny_dir):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    def go(*overrides, root=SAMPLE):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                "task=xnli", f"encoder.path={tiny_dir}", "encoder.name=tiny", f"data.root={root}",
                f"results={tmp_path / 'res' / 'results.csv'}", f"encode.cache_dir={tmp_path / 'cache'}",
                "paths.root_dir=" + str(ROOT), "paths.log_dir=" + str(tmp_path / "logs"),
                # a random model records no tokenizer
                "encode.raw_tokenizer.kind=whitespace", *FAST, *overrides])
        return run(cfg)

    yield go
    GlobalHydra.instance().clear()


def _pred(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "item\tgold\tprediction"
    return [line.split("\t") for line in lines[1:]]


def _xnli_lines(name):
    return lzma.decompress((SAMPLE / "nli" / "xnli" / f"{name}.xz").read_bytes()).decode("utf-8").splitlines()


def test_xnli_end_to_end(evaluate, tmp_path, monkeypatch, tokenized, caplog):
    fits = []
    real_fit = xnli_task.fit_head
    monkeypatch.setattr(xnli_task, "fit_head", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    with caplog.at_level(logging.INFO, logger="melmo.tasks.xnli.task"):
        rows = evaluate("language=[ar,en,eu,hi,ru,tr,zh]")
    assert {(r["language"], r["seed"], r["metric"]) for r in rows} == {
        (lang, s, m) for lang in LANGS for s in (1, 2, 3) for m in ("acc", "acc_test")}
    assert len(fits) == 3  # one English model per seed
    assert "xnli: no XNLI data for eu, skipped" in caplog.text
    # the slice's overlap lies beyond its first rows
    assert "xnli: 0 MultiNLI training pairs dropped" in caplog.text
    # XNLI raw text went through the model's tokenizer (dev and test premises and hypotheses), MultiNLI did
    # not
    for lang in LANGS:
        dev = [line.split("\t") for line in _xnli_lines(f"dev-{lang}.tsv")][:30]
        assert [d[0] for d in dev] == tokenized[lang][:30]
    # rows equal the share of correct lines in the per-item files; gold is the file's label
    value = {(r["language"], r["seed"], r["metric"]): float(r["value"]) for r in rows}
    labels = _xnli_lines("test-labels.txt")[:30]
    for lang in LANGS:
        for s in (1, 2, 3):
            dev = _pred(tmp_path / "res" / "predictions" / "xnli" / "tiny" / f"{lang}.seed{s}.tsv")
            test = _pred(tmp_path / "res" / "predictions" / "xnli_test" / "tiny" / f"{lang}.seed{s}.tsv")
            assert [g for _, g, _ in dev] == [line.split("\t")[2]
                                              for line in _xnli_lines(f"dev-{lang}.tsv")[:30]]
            assert [g for _, g, _ in test] == labels
            assert value[(lang, s, "acc")] == pytest.approx(sum(g == p for _, g, p in dev) / 30, abs=1e-6)
            assert value[(lang, s, "acc_test")] == pytest.approx(
                sum(g == p for _, g, p in test) / 30, abs=1e-6)
    with open(tmp_path / "res" / "results.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 36
    assert evaluate() == []  # all done


def test_premise_overlap_dropped_and_counted(evaluate, tmp_path, caplog):
    root = tmp_path / "data"
    shutil.copytree(SAMPLE / "nli", root / "nli")
    train = lzma.decompress((root / "nli" / "mnli" / "mnli_train.tsv.xz").read_bytes()).decode(
        "utf-8").splitlines()
    en = _xnli_lines("dev-en.tsv")
    # three training premises become XNLI en dev premises, tokenized MultiNLI-style ("it 's")
    for k in (1, 5, 9):
        cols = train[k].split("\t")
        cols[0] = " ".join(en[k * 3].split("\t")[0].replace("'", " '").split()).upper()
        train[k] = "\t".join(cols)
    (root / "nli" / "mnli" / "mnli_train.tsv.xz").write_bytes(
        lzma.compress(("\n".join(train) + "\n").encode()))
    with caplog.at_level(logging.INFO, logger="melmo.tasks.xnli.task"):
        evaluate("seeds=[1]", "language=en", "task.trainer.max_epochs=1", root=root)
    assert "xnli: 3 MultiNLI training pairs dropped" in caplog.text
    saved = (tmp_path / "res" / "configs" / "xnli" / "tiny.yaml").read_text()
    assert "(1997 pairs after dropping 3 whose premise" in saved


@pytest.mark.parametrize("name, edit, message", [
    ("dev-hi.tsv", lambda ls: ls[:6] + [ls[6] + "\textra"] + ls[7:],
     r"dev-hi.tsv.xz:7: expected 3 tab-separated columns, got 4"),
    ("dev-tr.tsv", lambda ls: ls[:11] + [ls[11].rsplit("\t", 1)[0] + "\tmaybe"] + ls[12:],
     r"dev-tr.tsv.xz:12: unknown label 'maybe'"),
    ("test-labels.txt", lambda ls: ls[:3] + ["contradictory", "nonsense"] + ls[5:],
     r"test-labels.txt.xz:5: unknown label 'nonsense'"),
])
def test_bad_xnli_rows_are_one_line_errors(evaluate, tmp_path, name, edit, message):
    root = tmp_path / "data"
    shutil.copytree(SAMPLE / "nli", root / "nli")
    path = root / "nli" / "xnli" / f"{name}.xz"
    path.write_bytes(lzma.compress(("\n".join(edit(_xnli_lines(name))) + "\n").encode()))
    with pytest.raises(NLIFormatError, match=message) as err:
        evaluate("seeds=[1]", root=root)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)
    assert not (tmp_path / "res" / "results.csv").exists()
