"""conllu_scores against the official CoNLL 2018 scorer (udtools.udeval, GPL: a test oracle only),
the prediction writer, and bad gold files."""

import pytest

from melmo.formats.conllu import ConlluError, read_conllu, write_conllu
from melmo.tasks.parsing import conllu_scores
from melmo.tasks.parsing.prediction_items import prediction_items

udeval = pytest.importorskip("udtools.udeval")

ROWS_GOLD = [
    "# sent_id = 1",
    "# text = The cat was seen.",
    "1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_",
    "2\tcat\tcat\tNOUN\t_\t_\t4\tnsubj:pass\t_\t_",
    "3\twas\tbe\tAUX\t_\t_\t4\taux:pass\t_\t_",
    "4\tseen\tsee\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No",
    "5\t.\t.\tPUNCT\t_\t_\t4\tpunct\t_\t_",
    "",
    "# sent_id = 2",
    "# text = Vengo del mercado, y tú.",
    "1\tVengo\tvenir\tVERB\t_\t_\t0\troot\t_\t_",
    "2-3\tdel\t_\t_\t_\t_\t_\t_\t_\t_",
    "2\tde\tde\tADP\t_\t_\t4\tcase\t_\t_",
    "3\tel\tel\tDET\t_\t_\t4\tdet\t_\t_",
    "4\tmercado\tmercado\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No",
    "5\t,\t,\tPUNCT\t_\t_\t7\tpunct\t_\t_",
    "6\ty\ty\tCCONJ\t_\t_\t7\tcc\t_\t_",
    "6.1\tvengo\tvenir\tVERB\t_\t_\t_\t_\t1:conj\t_",
    "7\ttú\ttú\tPRON\t_\t_\t1\tconj\t_\tSpaceAfter=No",
    "8\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_",
    "",
]

# (line index in ROWS_GOLD, column, new value): the prediction's differences from gold
EDITS = [
    (3, 7, "nsubj"),  # relation subtype mismatch: still correct for LAS
    (6, 6, "2"),  # wrong head on punctuation: lowers UAS (punctuation counts)
    (2, 3, "PRON"),  # wrong UPOS
    (4, 7, "cop"),  # right head, wrong relation
    (13, 6, "1"),  # wrong head inside the multiword token
    (14, 7, "obl:arg"),  # subtype added on the prediction side
    (16, 6, "1"),  # wrong head on "y"
]


def write(path, rows):
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def predicted_rows(edits=EDITS):
    rows = list(ROWS_GOLD)
    for k, col, val in edits:
        cols = rows[k].split("\t")
        cols[col] = val
        rows[k] = "\t".join(cols)
    return rows


def official(gold, pred):
    r = udeval.evaluate(udeval.load_conllu_file(str(gold)), udeval.load_conllu_file(str(pred)))
    return {"uas": r["UAS"].f1, "las": r["LAS"].f1, "upos": r["UPOS"].f1}


def test_equals_official_scorer(tmp_path):
    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    pred = write(tmp_path / "pred.conllu", predicted_rows())
    got = conllu_scores(gold, pred)
    want = official(gold, pred)
    for key in ("uas", "las", "upos"):
        assert got[key] == pytest.approx(want[key], abs=1e-12), key
    # 13 words; wrong heads: ".", "el", "y"; right head, wrong relation: "was"
    assert want["uas"] == pytest.approx(10 / 13) and want["las"] == pytest.approx(9 / 13)
    # without the 3 PUNCT words: 10 words, wrong heads "el" and "y", wrong relation "was"
    assert got["uas_nopunct"] == pytest.approx(8 / 10)
    assert got["las_nopunct"] == pytest.approx(7 / 10)


@pytest.mark.parametrize("k", range(len(EDITS)))
def test_each_difference_alone_equals_official_scorer(tmp_path, k):
    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    pred = write(tmp_path / "pred.conllu", predicted_rows([EDITS[k]]))
    got, want = conllu_scores(gold, pred), official(gold, pred)
    assert [got[m] for m in ("uas", "las", "upos")] == pytest.approx(
        [want[m] for m in ("uas", "las", "upos")])


def test_writer_round_trip_and_unseen_relation_counts_wrong(tmp_path):
    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    sents = read_conllu(gold)
    heads = [s.heads for s in sents]
    rels = [list(s.deprels) for s in sents]
    rels[1][6] = "obj"  # gold "conj" was unseen in training: the parser can only say something else
    out = tmp_path / "out" / "pred.conllu"
    write_conllu(out, read_conllu(gold, check_upos=False), heads, rels)  # as the parsing task writes it
    assert conllu_scores(gold, out) == pytest.approx(
        {"uas": 1.0, "las": 12 / 13, "upos": 1.0, "uas_nopunct": 1.0, "las_nopunct": 9 / 10})
    assert official(gold, out)["las"] == pytest.approx(12 / 13)
    written = out.read_text().splitlines()
    assert written[11] == ROWS_GOLD[11] and written[17] == ROWS_GOLD[17]  # MWT range and empty node kept
    assert [p.name for p in out.parent.iterdir()] == ["pred.conllu"]  # no temporary left
    items = prediction_items(sents, heads, rels)
    assert items[0] == ("0:1", "2|det", "2|det") and items[11] == ("1:7", "1|conj", "1|obj")


def test_writer_length_mismatch_writes_nothing(tmp_path):
    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    sents = read_conllu(gold)
    with pytest.raises(ConlluError, match=r"p.conllu: sentence 0 \(line 1\) has 5 words, got 4 heads"):
        write_conllu(tmp_path / "p.conllu", sents, [s.heads[:-1] for s in sents], [s.deprels for s in sents])
    assert not (tmp_path / "p.conllu").exists()


@pytest.mark.parametrize(
    "k, col, val, message",
    [
        (4, 6, "9", r"gold.conllu:5: HEAD 9 is not a word of this sentence"),
        (4, 6, "-1", r"gold.conllu:5: malformed HEAD '-1'"),
        (4, 6, "x", r"gold.conllu:5: malformed HEAD 'x'"),
        # 1 -> 3 -> 4 -> ROOT is fine; make 4 -> 1 below
        (2, 6, "3", r"gold.conllu:3: HEAD cycle through word 1"),
        (5, 6, "4", r"gold.conllu:3: sentence has no root"),
        (6, 6, "0", r"gold.conllu:3: sentence has 2 roots \(line 7 is the second\)"),
        (6, 6, "_", r"gold.conllu:7: HEAD '_' \(a tree needs every head\)"),
    ],
)
def test_bad_gold_is_a_one_line_error(tmp_path, k, col, val, message):
    rows = list(ROWS_GOLD)
    cols = rows[k].split("\t")
    cols[col] = val
    rows[k] = "\t".join(cols)
    if "cycle" in message:  # 1 -> 3 -> 4 -> 1, and 4 no longer the root: make 2 the root instead
        rows[5] = rows[5].replace("\t0\troot", "\t1\tacl")
        rows[3] = rows[3].replace("\t4\tnsubj:pass", "\t0\troot")
    gold = write(tmp_path / "gold.conllu", rows)
    pred = write(tmp_path / "pred.conllu", ROWS_GOLD)
    with pytest.raises(ConlluError, match=message) as err:
        conllu_scores(gold, pred)
    assert "\n" not in str(err.value)


def test_wrong_column_count_and_other_words(tmp_path):
    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    bad = list(ROWS_GOLD)
    bad[3] = bad[3].replace("\t", " ", 1)
    with pytest.raises(ConlluError, match=r"pred.conllu:4: expected 10 tab-separated columns"):
        conllu_scores(gold, write(tmp_path / "pred.conllu", bad))
    other = [r.replace("\tcat\t", "\tdog\t") for r in ROWS_GOLD]
    with pytest.raises(ConlluError, match=r"pred.conllu:4: words differ"):
        conllu_scores(gold, write(tmp_path / "pred.conllu", other))


def test_reads_xz(tmp_path):
    import lzma

    gold = write(tmp_path / "gold.conllu", ROWS_GOLD)
    gz = tmp_path / "gold.conllu.xz"
    gz.write_bytes(lzma.compress(gold.read_bytes()))
    assert conllu_scores(gz, gold)["las"] == 1.0
