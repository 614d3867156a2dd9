"""CoNLL-U reader: ids, heads, tokens and units; one-line errors."""

import pytest

from melmo.formats.conllu import ConlluError, read_conllu
from melmo.tasks.common.ud import make_units, split_plan

GOLD = """\
# sent_id = 1
# text = Parlo della casa.
1\tParlo\tparlare\tVERB\t_\t_\t0\troot\t_\t_
2-3\tdella\t_\t_\t_\t_\t_\t_\t_\t_
2\tdi\tdi\tADP\t_\t_\t4\tcase\t_\t_
3\tla\til\tDET\t_\t_\t4\tdet\t_\t_
4\tcasa\tcasa\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No
5\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

# sent_id = 2
# text = Sue likes coffee and Bill tea.
1\tSue\tSue\tPROPN\t_\t_\t2\tnsubj\t2:nsubj\t_
2\tlikes\tlike\tVERB\t_\t_\t0\troot\t0:root\t_
3\tcoffee\tcoffee\tNOUN\t_\t_\t2\tobj\t2:obj\t_
4\tand\tand\tCCONJ\t_\t_\t6\tcc\t6:cc\t_
5\tBill\tBill\tPROPN\t_\t_\t3\tconj\t5.1:nsubj\t_
5.1\tlikes\tlike\tVERB\t_\t_\t_\t_\t2:conj\t_
6\ttea\ttea\tNOUN\t_\t_\t3\tconj\t5.1:obj\tSpaceAfter=No
7\t.\t.\tPUNCT\t_\t_\t2\tpunct\t2:punct\t_

# sent_id = 3
# text = Run!
1\tRun\trun\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No
2\t!\t!\tPUNCT\t_\t_\t1\tpunct\t_\t_

"""

def test_reader_keeps_ids_heads_tokens():
    import io  # noqa: F401

    sents = read_conllu_text(GOLD)
    s1, s2 = sents[0], sents[1]
    assert [w.form for w in s1.words] == ["Parlo", "di", "la", "casa", "."]
    assert [(t.first, t.last, t.form) for t in s1.tokens] == [
        (1, 1, "Parlo"), (2, 3, "della"), (4, 4, "casa"), (5, 5, ".")]
    assert [w.head for w in s1.words] == [0, 4, 4, 1, 1] and s1.words[2].deprel == "det"
    assert s2.empty == 1 and len(s2.words) == 7 and s1.text == "Parlo della casa."


def read_conllu_text(text, **kw):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.conllu"
        p.write_text(text, encoding="utf-8")
        return read_conllu(p, **kw)


def test_units_multiword_surface_words_and_xtreme():
    s = read_conllu_text(GOLD)[0]
    u = make_units(s, "surface", "ud_words")
    assert u.fed == ["Parlo", "della", "casa", "."]
    assert u.positions.tolist() == [0, 1, 1, 2, 3]  # di and la both read "della"
    assert u.items == [1, 2, 3, 4, 5]
    w = make_units(s, "words", "ud_words")
    assert w.fed == ["Parlo", "di", "la", "casa", "."] and w.positions.tolist() == [0, 1, 2, 3, 4]
    x = make_units(s, "surface", "xtreme_surface", lang="it")
    from melmo.formats.conllu import UPOS_TAGS

    # XTREME's Italian span-head order (VERB AUX ADV PRON ADP DET ...) keeps ADP for "della"
    assert ([UPOS_TAGS[t] for t in x.labels] == ["VERB", "ADP", "NOUN", "PUNCT"]
            and x.positions.tolist() == [0, 1, 2, 3])
    y = make_units(read_conllu_text(GOLD.replace("ADP", "PRON").replace("DET", "NOUN"))[0], "surface",
                   "xtreme_surface", lang="en")
    assert UPOS_TAGS[y.labels[1]] == "NOUN"  # default order: NOUN before PRON


@pytest.mark.parametrize("bad,line,msg", [
    (GOLD.replace("3\tla\til\tDET", "3\tla\til\tDETERMINER"), 6,
     "UPOS 'DETERMINER' is not one of the 17 universal tags"),
    (GOLD.replace("4\tcasa\tcasa\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No", "4\tcasa\tcasa\tNOUN\t_\t_\t1\tobl"),
     7, "expected 10 tab-separated columns, found 8"),
    (GOLD.replace("5\t.\t.\tPUNCT\t_\t_\t1", "6\t.\t.\tPUNCT\t_\t_\t1"), 8,
     "word ID 6 out of sequence (expected 5)"),
    (GOLD.replace("2-3\tdella", "2-x\tdella"), 4, "malformed ID '2-x'"),
    (GOLD.replace("4\tcasa\tcasa\tNOUN\t_\t_\t1", "4\tcasa\tcasa\tNOUN\t_\t_\tone"), 7,
     "malformed HEAD 'one'"),
    (GOLD.replace("4\tcasa\tcasa\tNOUN\t_\t_\t1", "4\tcasa\tcasa\tNOUN\t_\t_\t9"), 7,
     "HEAD 9 is not a word of this sentence"),
])
def test_malformed_lines_are_one_line_errors(tmp_path, bad, line, msg):
    p = tmp_path / "bad.conllu"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConlluError) as e:
        read_conllu(p)
    assert str(e.value).startswith(f"{p}:{line}: ") and msg in str(e.value) and "\n" not in str(e.value)


def test_split_plan_is_seeded_disjoint_and_falls_back():
    proto = {"train": ["train", "dev"], "report": "test", "select_fraction": 0.1, "test_only": "split",
             "test_only_report_fraction": 0.5}
    p = split_plan({"dev": 100, "test": 50}, proto, 0)
    assert (p["train"].split == "dev" and p["report"].split == "test"
            and p["report"].indices == list(range(50)))
    assert len(p["select"].indices) == 10 and not set(p["select"].indices) & set(p["train"].indices)
    assert sorted(p["select"].indices + p["train"].indices) == list(range(100))
    assert split_plan({"dev": 100, "test": 50}, proto, 0)["select"].indices == p["select"].indices
    assert split_plan({"dev": 100, "test": 50}, proto, 1)["select"].indices != p["select"].indices
    assert split_plan({"train": 80, "dev": 100, "test": 50}, proto, 0)["train"].split == "train"
    t = split_plan({"test": 100}, proto, 0)  # test-only treebank: seeded halves
    assert (len(t["report"].indices) == 50
            and not set(t["report"].indices) & set(t["train"].indices + t["select"].indices))
    with pytest.raises(ValueError, match="protocol needs"):
        split_plan({"test": 100}, {**proto, "test_only": "error"}, 0)


def test_split_plan_official_protocol_trains_on_train_selects_on_dev():
    proto = {"train": ["train", "dev"], "select": "dev", "report": "test", "select_fraction": 0.1,
             "test_only": "split", "test_only_report_fraction": 0.5}
    p = split_plan({"train": 80, "dev": 30, "test": 50}, proto, 0)
    assert (p["train"].split, p["train"].indices) == ("train", list(range(80)))
    assert (p["select"].split, p["select"].indices) == ("dev", list(range(30)))
    assert (p["report"].split, p["report"].indices) == ("test", list(range(50)))
    assert p["select"].note == "dev (all 30 sentences)"  # the split used, as recorded beside the results
    q = split_plan({"dev": 100, "test": 50}, proto, 0)  # no train file: dev trains, a seeded tenth selects
    assert q["train"].split == q["select"].split == "dev" and len(q["select"].indices) == 10
