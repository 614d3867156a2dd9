"""NLI readers on small files in each format, on the team's data when present, and on the shipped slice."""

import json
import lzma
from pathlib import Path

import pytest

from melmo.formats.nli import (
    LABELS,
    NLIFormatError,
    drop_premise_overlap,
    read_mnli_jsonl,
    read_mnli_sample,
    read_xnli_tsv,
    read_xtreme,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED_NLI = ROOT.parent / "shared" / "data" / "nli"
SAMPLE_NLI = ROOT / "data" / "sample" / "nli"


def write(path, lines, xz=False):
    text = "".join(line + "\n" for line in lines)
    if xz:
        path = path.with_name(path.name + ".xz")
        path.write_bytes(lzma.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def xtreme_dir(tmp_path, dev=None, test=None, labels=None, xz=False):
    d = tmp_path / "xtreme"
    d.mkdir(exist_ok=True)
    write(d / "dev-en.tsv", dev or ["A man sleeps.\tA person rests.\tentailment",
                                    "A man sleeps.\tA man runs.\tcontradiction",
                                    "A man sleeps.\tHe dreams.\tneutral"], xz)
    write(d / "test-en.tsv", test or ["It rains.\tIt is wet.", "It rains.\tIt is dry."], xz)
    write(d / "test-labels.txt", labels or ["entailment", "contradiction"], xz)
    return d


@pytest.mark.parametrize("xz", [False, True])
def test_xtreme_dev_and_test_with_labels_beside(tmp_path, xz):
    d = xtreme_dir(tmp_path, xz=xz)
    dev = read_xtreme(d, "en", "dev", expected_rows=3)
    assert dev.label_counts() == {"entailment": 1, "neutral": 1, "contradiction": 1}
    assert dev.pairs[1].hypothesis == "A man runs." and LABELS[dev.pairs[1].label] == "contradiction"
    test = read_xtreme(d, "en", "test")
    assert [LABELS[p.label] for p in test.pairs] == ["entailment", "contradiction"]
    assert test.pairs[1].premise == "It rains."


def test_xtreme_counts_checked(tmp_path):
    d = xtreme_dir(tmp_path, labels=["entailment"])
    with pytest.raises(NLIFormatError, match=r"test-en.tsv: 2 rows but .*test-labels.txt has 1 labels"):
        read_xtreme(d, "en", "test")
    with pytest.raises(NLIFormatError, match=r"dev-en.tsv: 3 pairs, expected 2490"):
        read_xtreme(d, "en", "dev", expected_rows=2490)


@pytest.mark.parametrize(
    "row, message",
    [
        ("A man sleeps.\tA person rests.", r"dev-en.tsv:2: expected 3 tab-separated columns, got 2"),
        ("A man sleeps.\tA person rests.\tentailment\textra", r"dev-en.tsv:2: expected 3 .* got 4"),
        ("A man sleeps.\tA person rests.\tmaybe", r"dev-en.tsv:2: unknown label 'maybe'"),
    ],
)
def test_xtreme_bad_row_names_file_and_line(tmp_path, row, message):
    d = xtreme_dir(tmp_path, dev=["A\tB\tneutral", row, "C\tD\tentailment"])
    with pytest.raises(NLIFormatError, match=message) as err:
        read_xtreme(d, "en", "dev")
    assert "\n" not in str(err.value)


def test_xtreme_bad_test_label_line(tmp_path):
    d = xtreme_dir(tmp_path, labels=["entailment", "entails"])
    with pytest.raises(NLIFormatError, match=r"test-labels.txt:2: unknown label 'entails'"):
        read_xtreme(d, "en", "test")


XNLI_HEADER = ("language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\tgenre\tlabel1\tlabel2\tlabel3\t"
               "label4\tlabel5\tsentence1_tokenized\tsentence2_tokenized\tmatch")


def xnli_row(lang, label, s1, s2):
    cols = [lang, label, "", "", "", "", s1, s2, "1", "2", "facetoface", label, label, label, label, label,
            s1, s2, "True"]
    return "\t".join(cols)


def test_official_xnli_tsv(tmp_path):
    p = write(tmp_path / "xnli.dev.tsv", [XNLI_HEADER, xnli_row("ar", "neutral", "x", "y"),
                                          xnli_row("en", "contradictory", "P1", "H1"),
                                          xnli_row("en", "entailment", "P2", "H2")])
    data = read_xnli_tsv(p, "en", expected_rows=2)
    assert [(q.premise, LABELS[q.label]) for q in data.pairs] == [
        ("P1", "contradiction"), ("P2", "entailment")]
    assert len(read_xnli_tsv(p, "ar")) == 1
    with pytest.raises(NLIFormatError, match=r"xnli.dev.tsv: 1 pairs, expected 5010"):
        read_xnli_tsv(p, "ar", expected_rows=5010)
    bad = write(tmp_path / "bad.tsv", [XNLI_HEADER, xnli_row("en", "neutral", "a", "b")[:-5]])
    with pytest.raises(NLIFormatError, match=r"bad.tsv:2: expected 19 tab-separated columns, got 18"):
        read_xnli_tsv(bad, "en")
    unknown = write(tmp_path / "unk.tsv", [XNLI_HEADER, xnli_row("en", "unsure", "a", "b")])
    with pytest.raises(NLIFormatError, match=r"unk.tsv:2: unknown label 'unsure'"):
        read_xnli_tsv(unknown, "en")


def test_mnli_jsonl_drops_dash_and_maps_contradictory(tmp_path):
    recs = [{"gold_label": "neutral", "sentence1": "a", "sentence2": "b", "genre": "fiction"},
            {"gold_label": "-", "sentence1": "c", "sentence2": "d"},
            {"gold_label": "contradictory", "sentence1": "e", "sentence2": "f"},
            {"gold_label": "-", "sentence1": "g", "sentence2": "h"}]
    p = write(tmp_path / "m.jsonl", [json.dumps(r) for r in recs])
    data = read_mnli_jsonl(p, expected_rows=2)
    assert data.dropped == 2
    assert [LABELS[q.label] for q in data.pairs] == ["neutral", "contradiction"]
    bad = write(tmp_path / "bad.jsonl", [json.dumps(recs[0]), "{not json"])
    with pytest.raises(NLIFormatError, match=r"bad.jsonl:2: not a MultiNLI record"):
        read_mnli_jsonl(bad)
    unk = write(tmp_path / "unk.jsonl", [json.dumps({**recs[0], "gold_label": "hidden"})])
    with pytest.raises(NLIFormatError, match=r"unk.jsonl:1: unknown label 'hidden'"):
        read_mnli_jsonl(unk)


def test_mnli_sample_format(tmp_path):
    p = write(tmp_path / "mnli_train.tsv", ["sentence1\tsentence2\tlabel\tgenre", "a\tb\tneutral\tslate",
                                            "c\td\tentailment\ttravel"])
    data = read_mnli_sample(p, expected_rows=2)
    assert data.label_counts() == {"entailment": 1, "neutral": 1, "contradiction": 0}
    bad = write(tmp_path / "bad.tsv", ["sentence1\tsentence2\tlabel\tgenre", "a\tb\tneutral"])
    with pytest.raises(NLIFormatError, match=r"bad.tsv:2: expected 4 tab-separated columns, got 3"):
        read_mnli_sample(bad)
    hdr = write(tmp_path / "hdr.tsv", ["premise\thypothesis\tlabel", "a\tb\tneutral"])
    with pytest.raises(NLIFormatError, match=r"hdr.tsv:1: header"):
        read_mnli_sample(hdr)


def test_premise_overlap_across_tokenizations(tmp_path):
    train = read_mnli_sample(write(tmp_path / "t.tsv", [
        "sentence1\tsentence2\tlabel\tgenre",
        "It 's raining , he said .\tx\tneutral\tfiction",  # = XNLI dev premise once tokenization is undone
        "Something else .\ty\tentailment\tfiction",
        "it's RAINING, he said.\tz\tcontradiction\tfiction",
    ]))
    d = xtreme_dir(tmp_path, dev=["It's raining, he said.\tH\tneutral"])
    kept, n = drop_premise_overlap(train, [read_xtreme(d, "en", "dev"), read_xtreme(d, "en", "test")])
    assert n == 2 and [p.premise for p in kept.pairs] == ["Something else ."]


@pytest.mark.skipif(not SHARED_NLI.is_dir(), reason="the team's shared/data/nli is not beside the checkout")
def test_team_data_counts_and_known_overlap():
    xtreme = SHARED_NLI / "xnli" / "xtreme"
    evals = []
    for lang in ("ar", "en", "hi", "ru", "tr", "zh"):
        dev = read_xtreme(xtreme, lang, "dev", expected_rows=2490)
        assert dev.label_counts() == {lab: 830 for lab in LABELS}
        test = read_xtreme(xtreme, lang, "test", expected_rows=5010)
        assert test.label_counts() == {lab: 1670 for lab in LABELS}
        evals += [dev, test]
    train = read_mnli_sample(SHARED_NLI / "mnli" / "mnli_train.tsv", expected_rows=20000)
    assert train.label_counts() == {"entailment": 6709, "neutral": 6646, "contradiction": 6645}
    assert len(read_mnli_sample(SHARED_NLI / "mnli" / "mnli_val.tsv", expected_rows=5000)) == 5000
    _, n = drop_premise_overlap(train, evals)
    assert n == 2  # SOURCES.md: two MultiNLI sample premises are XNLI en premises


def test_shipped_slice_reads():
    if not SAMPLE_NLI.is_dir():
        pytest.fail(f"{SAMPLE_NLI}: the shipped NLI slice is missing")
    for lang in ("ar", "en", "hi", "ru", "tr", "zh"):
        assert len(read_xtreme(SAMPLE_NLI / "xnli", lang, "dev", expected_rows=200)) == 200
        assert len(read_xtreme(SAMPLE_NLI / "xnli", lang, "test", expected_rows=200)) == 200
    assert len(read_mnli_sample(SAMPLE_NLI / "mnli" / "mnli_train.tsv", expected_rows=2000)) == 2000
    assert len(read_mnli_sample(SAMPLE_NLI / "mnli" / "mnli_val.tsv", expected_rows=500)) == 500


def test_xtreme_files_written_by_csv_writer_are_read_back(tmp_path):
    """XTREME writes its TSVs with csv.writer(delimiter='\\t'): a field with a quote is quoted and its quotes
    doubled. The reader gives back exactly the fields written; test files of three columns carry their
    labels."""
    import csv

    rows = [['He said "hi".', 'Someone spoke "quietly".', "entailment"],
            ['"Quoted" start', "plain", "neutral"], ["a\tb", 'x "" y', "contradiction"]]
    d = tmp_path / "xtreme"
    d.mkdir()
    for split in ("dev", "test"):
        with open(d / f"{split}-en.tsv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, delimiter="\t").writerows(rows)
    assert '"He said ""hi""."' in (d / "dev-en.tsv").read_text()  # what the file really holds
    for split in ("dev", "test"):  # no test-labels.txt here: the test file's third column is the label
        data = read_xtreme(d, "en", split, expected_rows=3)
        assert [(p.premise, p.hypothesis, LABELS[p.label]) for p in data.pairs] == [tuple(r) for r in rows]
    (d / "test-en.tsv").write_text('"bad\tquote\n', encoding="utf-8")
    with pytest.raises(NLIFormatError, match=r"test-en.tsv:1: "):
        read_xtreme(d, "en", "test")
