"""Table 1 over a choice of cells (ours / the paper's) and the paper's metrics only; helper metrics apart."""

from __future__ import annotations

import pandas as pd
import pytest

from melmo.analysis import make_report, paper_table4, summary_table
from melmo.analysis.__main__ import main
from melmo.analysis.tables import language_table, to_markdown

LANGS = ["ar", "eu", "zh", "en", "fi", "he", "hi", "it", "ja", "ko", "ru", "sv", "tr"]


def _value(task: str, lang: str) -> float:
    # distinct per (task, language), so that a wrong set of averaged cells changes the mean
    return round(0.1 + 0.05 * LANGS.index(lang) + {"pos": 0.0, "pos_transfer": 0.01, "tatoeba": 0.02,
                                                   "parsing": 0.03}[task], 4)


def _ours() -> pd.DataFrame:
    """Every task on all 13 languages (the cells the study makes beyond the paper's), plus a helper metric."""
    rows = []
    for task, metrics in (("pos", ["acc", "acc_select"]), ("pos_transfer", ["acc"]),
                          ("tatoeba", ["acc", "acc_reverse"]), ("parsing", ["uas", "las", "las_select"])):
        for lang in LANGS:
            for m in metrics:
                rows.append({"encoder": "M0.4", "task": task, "metric": m, "language": lang, "seed": 1,
                             "value": _value(task, lang)})
    return pd.DataFrame(rows)


def _mean(task, langs):
    return sum(_value(task, lang) for lang in langs) / len(langs)


def test_the_paper_cells_reproduce_the_papers_transfer_average():
    # typed from the paper's Table 4, M0.4 PoS transfer incl. English (0.89): 4.33 / 12 = 0.361 = Table 1's
    # 0.36
    m04 = [0.28, 0.89, 0.28, 0.39, 0.37, 0.29, 0.50, 0.22, 0.16, 0.49, 0.26, 0.20]
    assert sum(m04) == pytest.approx(4.33)
    t1 = summary_table(paper_table4(), cells="paper")
    assert t1.loc["M0.4", ("PoS (trf.)", "mean")] == pytest.approx(4.33 / 12)


def test_paper_cells_leave_out_what_the_paper_lacks_and_keep_english_transfer():
    df = _ours()
    no_sv = [x for x in LANGS if x != "sv"]
    paper = summary_table(df, cells="paper")
    assert paper.loc["M0.4", ("PoS", "mean")] == pytest.approx(_mean("pos", no_sv))
    assert paper.loc["M0.4", ("UAS", "mean")] == pytest.approx(
        _mean("parsing", [x for x in LANGS if x != "ru"]))
    # en in, sv out
    assert paper.loc["M0.4", ("PoS (trf.)", "mean")] == pytest.approx(_mean("pos_transfer", no_sv))
    assert paper.loc["M0.4", ("Tatoeba", "mean")] == pytest.approx(
        _mean("tatoeba", [x for x in LANGS if x not in ("en", "hi")]))
    ours = summary_table(df)  # default: every cell of ours
    assert ours.loc["M0.4", ("PoS", "mean")] == pytest.approx(_mean("pos", LANGS))
    assert ours.loc["M0.4", ("Tatoeba", "mean")] == pytest.approx(_mean("tatoeba", LANGS))
    # the table says which cells it averages, in every format that is not plain CSV
    md = to_markdown(paper)
    assert "Cells averaged (paper cells):" in md
    assert "- PoS: 12 languages (ar en eu fi he hi it ja ko ru tr zh)" in md.splitlines()
    assert "- Tatoeba: 11 languages (ar eu fi he it ja ko ru sv tr zh)" in md.splitlines()
    assert "- PoS: 13 languages (ar en eu fi he hi it ja ko ru sv tr zh)" in to_markdown(ours).splitlines()
    t4 = language_table(df, cells="paper")
    # NaN: not a paper cell
    assert t4.loc[("PoS", "M0.4"), ("sv", "mean")] != t4.loc[("PoS", "M0.4"), ("sv", "mean")]


def test_a_missing_cell_is_named_under_the_table():
    df = _ours()
    df = df[~((df["task"] == "pos") & (df["language"] == "ja"))]
    t1 = summary_table(pd.concat([df, _ours().query("task == 'pos'").assign(encoder="M0.2")]), cells="paper")
    assert "M0.4 lacks ja" in to_markdown(t1)


def test_helper_metrics_are_not_columns_of_tables_1_and_4():
    df = _ours()
    t1, t4 = summary_table(df), language_table(df)
    assert list(dict.fromkeys(t1.columns.get_level_values(0))) == [
        "PoS", "UAS", "LAS", "PoS (trf.)", "Tatoeba"]
    assert set(t4.index.get_level_values(0)) == {"PoS", "UAS", "LAS", "PoS (trf.)", "Tatoeba"}
    report = make_report(df, cells="paper")
    helpers = report.helpers["table1_helpers"]
    assert set(helpers.columns.get_level_values(0)) == {"pos/acc_select", "parsing/las_select",
                                                        "tatoeba/acc_reverse"}
    assert set(report.beside_paper) == {"table1_paper", "table1_minus_paper"}
    diff = report.beside_paper["table1_minus_paper"]
    paper_pos = summary_table(paper_table4(), cells="paper").loc["M0.4", ("PoS", "mean")]
    assert diff.loc["M0.4", ("PoS", "mean")] == pytest.approx(
        _mean("pos", [x for x in LANGS if x != "sv"]) - paper_pos)


def test_cli_cells_option(tmp_path):
    csv = tmp_path / "results.csv"
    _ours().to_csv(csv, index=False)
    assert main([str(csv), "--out", str(tmp_path / "a"), "--cells", "paper"]) == 0
    assert ((tmp_path / "a" / "table1_minus_paper.md").is_file()
            and (tmp_path / "a" / "table1_helpers.md").is_file())
    assert "12 languages (ar en eu fi he hi it ja ko ru tr zh)" in (tmp_path / "a" / "table1.md").read_text()
    assert main([str(csv), "--out", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "table1_minus_paper.md").exists()
    assert "13 languages" in (tmp_path / "b" / "table1.md").read_text()


def test_floors_are_rows_of_the_tables_and_bars_of_figure3():
    df = _ours()
    floors = pd.concat([df[df["task"] == "tatoeba"].assign(encoder="chance", value=0.001),
                        df[df["task"] == "pos"].assign(encoder="majority", value=0.7),
                        df.assign(encoder="RANDOM", value=0.2)])
    report = make_report(pd.concat([df, floors]), cells="paper")
    # the paper's encoders first
    assert list(report.table1.index) == ["M0.4", "RANDOM", "chance", "majority"]
    assert report.table1.loc["chance", ("Tatoeba", "mean")] == pytest.approx(0.001)
    assert ("PoS", "majority") in report.table4.index
    fig = report.figures["figure3"]
    labels = [c.get_label() for ax in fig.axes for c in ax.containers]
    assert {"M0.4", "RANDOM", "chance"} <= set(labels)
