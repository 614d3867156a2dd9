"""Bad results files give one-line errors naming the file and the row."""

from __future__ import annotations

import pandas as pd
import pytest

from melmo.analysis import ResultsError, load_results, summary_table
from melmo.analysis.__main__ import main

GOOD = ("encoder,task,metric,language,seed,value\n"
        "M0.4,pos,acc,ar,1,0.81\nM0.4,pos,acc,en,1,0.89\nM0.2,pos,acc,ar,1,0.86\n")


def _write(tmp_path, text, name="results.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _one_line_error(path, *needles):
    with pytest.raises(ResultsError) as e:
        load_results(path)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_good_file_loads(tmp_path):
    df = load_results(_write(tmp_path, "# a comment line\n" + GOOD))
    assert list(df.columns) == ["encoder", "task", "metric", "language", "seed", "value"]
    assert df["value"].tolist() == [0.81, 0.89, 0.86] and df["seed"].tolist() == [1, 1, 1]


def test_missing_column(tmp_path):
    p = _write(tmp_path, GOOD.replace(",seed,", ",run,"))
    _one_line_error(p, "missing column", "seed")


def test_non_numeric_value(tmp_path):
    p = _write(tmp_path, GOOD.replace("0.89", "0.8x9"))
    _one_line_error(p, "row 2 (line 3)", "'0.8x9'", "not a number")


@pytest.mark.parametrize("bad", ["", "nan", "inf"])
def test_empty_or_non_finite_value(tmp_path, bad):
    p = _write(tmp_path, GOOD.replace("0.86", bad))
    _one_line_error(p, "row 3 (line 4)")


def test_duplicated_key(tmp_path):
    p = _write(tmp_path, GOOD + "M0.4,pos,acc,en,1,0.90\n")
    _one_line_error(p, "row 4 (line 5)", "duplicated", "row 2", "M0.4, pos, acc, en, 1")


def test_other_bad_fields(tmp_path):
    _one_line_error(_write(tmp_path, GOOD.replace("ar,1,0.81", "xx,1,0.81")), "row 1 (line 2)", "xx")
    _one_line_error(_write(tmp_path, GOOD.replace("ar,1,0.81", "ar,1.5,0.81")), "row 1 (line 2)", "seed")
    _one_line_error(_write(tmp_path, GOOD.replace("ar,1,0.81", "ar,1,0.81,extra")), "row 1 (line 2)",
                    "fields")
    _one_line_error(tmp_path / "absent.csv", "no such")


def test_dataframe_rows_named():
    df = pd.read_csv(__import__("io").StringIO(GOOD))
    df["value"] = df["value"].astype(object)
    df.loc[1, "value"] = "abc"
    with pytest.raises(ResultsError, match=r"^my table: row 2: value 'abc' is not a number"):
        load_results(df, name="my table")
    with pytest.raises(ResultsError, match="duplicated"):
        summary_table(pd.concat([df.iloc[[0]], df.iloc[[0]]]))


def test_cli_bad_input_one_line_nonzero_nothing_written(tmp_path, capsys):
    p = _write(tmp_path, GOOD + "M0.4,pos,acc,en,1,0.90\n")
    out = tmp_path / "out"
    assert main([str(p), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(p) in err[0] and "row 4 (line 5)" in err[0]
    assert not out.exists()
