"""The results CSV under concurrent appenders, the encoders table, the predictions files."""

import csv
import multiprocessing as mp

import pytest

from melmo.results.predictions import write_predictions
from melmo.results.table import append_results, done_keys, read_results, update_encoders


def _appender(path, who, n):
    for i in range(n):
        append_results(path, [{"encoder": f"e{who}", "task": "pos", "metric": "acc", "language": "fi",
                               "seed": i, "value": f"{who}.{i}"}, {"encoder": f"e{who}", "task": "pos",
                                                       "metric": "acc_select", "language": "fi", "seed": i,
                                                                   "value": "x" * 3000}])


def test_concurrent_appenders_lose_no_row(tmp_path):
    path = tmp_path / "results.csv"
    ctx = mp.get_context("spawn")  # two fresh interpreters, as two evaluate.py runs would be
    procs = [ctx.Process(target=_appender, args=(path, w, 60)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open(path, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    assert lines[0] == "encoder,task,metric,language,seed,value" and lines[-1] == ""
    rows = list(csv.DictReader(lines[0:-1]))
    assert len(rows) == 2 * 60 * 2
    assert {(r["encoder"], r["seed"], r["metric"]) for r in rows} == {
        (f"e{w}", str(i), m) for w in range(2) for i in range(60) for m in ("acc", "acc_select")}
    assert all(r["value"] in ("x" * 3000, f"{r['encoder'][1]}.{r['seed']}") for r in rows)


def test_rewrite_whole_file_writer_would_lose_rows(tmp_path):
    """The bite of the test above: the old read-rewrite-rename writer, run by two processes."""
    import os
    import time

    def old_append(path, rows):  # what melmo/results/table.py did before (no lock)
        old = path.read_text() if path.is_file() else "encoder,task,metric,language,seed,value\n"
        time.sleep(0.001)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.time_ns()}")
        tmp.write_text(old + "".join(",".join(str(r[c]) for c in ("encoder", "task", "metric", "language",
                                                                  "seed", "value")) + "\n" for r in rows))
        tmp.replace(path)

    import threading

    path = tmp_path / "r.csv"
    threads = [threading.Thread(target=lambda w=w: [
        old_append(path, [{"encoder": w, "task": "t", "metric": "m", "language": "l", "seed": i, "value": 1}])
        for i in range(40)]) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(path.read_text().splitlines()) - 1 < 80


def test_header_checked_and_done_keys(tmp_path):
    path = tmp_path / "results.csv"
    append_results(
        path, [{"encoder": "a", "task": "pos", "metric": "acc", "language": "fi", "seed": 1, "value": "0.5"}])
    assert done_keys(path) == {("a", "pos", "fi", "1")}
    assert read_results(path)[0]["value"] == "0.5"
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="other.csv: not a mELMo table"):
        append_results(bad, [{"encoder": "a", "task": "pos", "metric": "acc", "language": "fi", "seed": 1,
                              "value": "0.5"}])
    assert bad.read_text() == "a,b\n1,2\n"


def test_encoders_table_upsert_and_name_clash(tmp_path):
    path = tmp_path / "encoders.csv"
    update_encoders(
        path, {"encoder": "alpha04-s1", "policy": "stateless", "weights_sha256": "aa", "path": "/m1"}, ["fi"])
    update_encoders(
        path, {"encoder": "alpha04-s1", "policy": "stream-b3", "weights_sha256": "aa", "path": "/m1"}, ["fi"])
    update_encoders(path, {"encoder": "alpha04-s1", "policy": "stateless", "weights_sha256": "aa",
                           "path": "/m1b"}, ["fi"])
    rows = list(csv.DictReader(path.open()))
    assert [(r["policy"], r["path"]) for r in rows] == [("stream-b3", "/m1"), ("stateless", "/m1b")]
    with pytest.raises(ValueError,
                       match="encoder name 'alpha04-s1' already names another model for language fi"):
        update_encoders(path, {"encoder": "alpha04-s1", "policy": "stateless", "weights_sha256": "bb",
                               "path": "/m2"}, ["en", "fi"])
    # MONO: one encoder made of one model per language
    update_encoders(path, {"encoder": "MONO", "policy": "stateless", "weights_sha256": "m_en", "path": "/en"},
                    ["en"])
    update_encoders(path, {"encoder": "MONO", "policy": "stateless", "weights_sha256": "m_fi", "path": "/fi"},
                    ["fi"])
    mono = [(r["language"], r["weights_sha256"]) for r in csv.DictReader(path.open())
            if r["encoder"] == "MONO"]
    assert mono == [("en", "m_en"), ("fi", "m_fi")]


def test_predictions_format(tmp_path):
    p = write_predictions(tmp_path / "predictions" / "pos" / "enc" / "fi.seed1.tsv", ["0:1", "0:2"],
                          ["NOUN", "VERB"], ["NOUN", "ADJ"])
    assert p.read_text(encoding="utf-8") == "item\tgold\tprediction\n0:1\tNOUN\tNOUN\n0:2\tVERB\tADJ\n"
    with pytest.raises(ValueError, match="holds a tab"):
        write_predictions(tmp_path / "x.tsv", ["a\tb"], ["1"], ["2"])
    assert not (tmp_path / "x.tsv").exists()
