"""The per-item predictions format: path, atomic write, checked read, correctness per metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from melmo.analysis import ResultsError
from melmo.results.predictions import (
    clusters,
    item_correct,
    predictions_path,
    read_predictions,
    write_predictions,
)


def test_path_layout(tmp_path):
    p = predictions_path(tmp_path, "parsing", "M0.4", "fi", 2)
    assert p == tmp_path / "predictions" / "parsing" / "M0.4" / "fi.seed2.tsv"
    with pytest.raises(ValueError):
        predictions_path(tmp_path, "pos", "../x", "fi", 1)


def test_round_trip_and_exact_bytes(tmp_path):
    p = predictions_path(tmp_path, "pos", "MONO", "ar", 1)
    write_predictions(p, ["0:0", "0:1", "1:0"], ["NOUN", "VERB", "ADJ"], ["NOUN", "NOUN", "ADJ"])
    assert p.read_bytes() == b"item\tgold\tprediction\n0:0\tNOUN\tNOUN\n0:1\tVERB\tNOUN\n1:0\tADJ\tADJ\n"
    assert list(p.parent.iterdir()) == [p]  # no temporary file left
    df = read_predictions(p)
    assert df["item"].tolist() == ["0:0", "0:1", "1:0"]
    assert item_correct(df, "acc").tolist() == [True, False, True]
    assert clusters(df["item"]).tolist() == ["0", "0", "1"]


def test_write_refuses_bad_input_and_leaves_nothing(tmp_path):
    p = tmp_path / "x.tsv"
    with pytest.raises(ValueError, match="tab"):
        write_predictions(p, ["0"], ["a\tb"], ["a"])
    with pytest.raises(ValueError, match="twice"):
        write_predictions(p, ["0", "0"], ["a", "b"], ["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_parsing_metrics():
    import pandas as pd

    df = pd.DataFrame({"item": ["0:1", "0:2", "0:3", "0:4"],
                       "gold": ["2|nsubj:pass", "0|root", "2|obj", "2|obl"],
                       "prediction": ["2|nsubj", "0|root", "2|iobj", "3|obl"]})
    # uas: heads equal; las: heads and deprel before ':' equal (CoNLL 2018 LAS ignores subtypes)
    assert item_correct(df, "uas").tolist() == [True, True, True, False]
    assert item_correct(df, "las").tolist() == [True, True, False, False]
    bad = df.assign(prediction=["2", "0|root", "2|obj", "2|obl"])
    with pytest.raises(ResultsError, match="not <head>|<deprel>"):
        item_correct(bad, "las")


@pytest.mark.parametrize("text,needle", [
    ("item\tgold\n0\ta\n", "line 1: the header"),
    ("item\tgold\tprediction\n0\ta\ta\n1\ta\n", "line 3: 2 tab-separated fields"),
    ("item\tgold\tprediction\n0\ta\ta\n0\tb\tb\n", "line 3: item '0' already on line 2"),
])
def test_read_errors_name_file_and_line(tmp_path, text, needle):
    p = Path(tmp_path) / "p.tsv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ResultsError) as e:
        read_predictions(p)
    assert str(p) in str(e.value) and needle in str(e.value) and "\n" not in str(e.value)
