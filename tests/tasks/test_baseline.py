"""Floors that need no encoder (task=baseline): per-word majority, majority class, chance; the values
are computed here from the raw files, not by the code under test."""

from __future__ import annotations

import csv
import lzma
from collections import Counter
from pathlib import Path

import pytest
from eval_helpers import ROOT, SAMPLE

from melmo.tasks.baseline import MajorityTagger

CONLLU_TRAIN = """\
# text = the dog runs
1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\truns\trun\tVERB\t_\t_\t0\troot\t_\t_

"""
# "runs" is a NOUN here once, a VERB in every training sentence: the majority says VERB;
# "cat" is unseen: the most frequent training tag (DET, NOUN, VERB one each: the lowest index wins).
CONLLU_TEST = """\
# text = the cat runs
1\tthe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tcat\tcat\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\truns\trun\tNOUN\t_\t_\t0\troot\t_\t_

"""


def test_majority_tagger_ties_and_unseen_forms():
    t = MajorityTagger([("a", 3), ("a", 5), ("a", 5), ("b", 2), ("b", 1)])
    assert t.tag("a") == 5 and t.tag("b") == 1  # b: a tie, the lower tag index
    assert t.tag("zzz") == 5  # unseen: the most frequent tag overall (5: twice)
    with pytest.raises(ValueError):
        MajorityTagger([])


def test_classical_features_word_affixes_shape_neighbours():
    from melmo.tasks.classical import shape, unit_features

    assert shape("McDonald's") == "XxXx'x" and shape("1984") == "d" and shape("e-mail") == "x-x"
    f = unit_features(["The", "Dogs", "ran"], 1, affixes=3, window=1)
    want = {"w=Dogs", "low=dogs", "shape=Xx", "bias", "pre1=d", "pre2=do", "pre3=dog", "suf1=s", "suf2=gs",
            "suf3=ogs", "prev1=the", "next1=ran"}
    assert set(f) == want
    # one letter: one affix each
    assert {"prev1=<s>", "pre2=a"} - set(unit_features(["a"], 0, 3, 1)) == {"pre2=a"}


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / "data"
    for lang in ("en", "fi"):
        d = root / "ud" / lang
        d.mkdir(parents=True)
        (d / f"{lang}_x-ud-train.conllu").write_text(CONLLU_TRAIN * 10, encoding="utf-8")
        (d / f"{lang}_x-ud-test.conllu").write_text(CONLLU_TRAIN + CONLLU_TEST, encoding="utf-8")
    (root / "tatoeba").mkdir()
    for side, n in (("fin", 37), ("eng", 37)):
        (root / "tatoeba" / f"tatoeba.fin-eng.{side}").write_text(
            "".join(f"s{i}\n" for i in range(n)), encoding="utf-8")
    nli = root / "nli"
    (nli / "mnli").mkdir(parents=True)
    (nli / "xnli").mkdir()
    for name in ("mnli_train", "mnli_val"):
        with lzma.open(SAMPLE / "nli" / "mnli" / f"{name}.tsv.xz", "rt", encoding="utf-8") as fh:
            (nli / "mnli" / f"{name}.tsv").write_text(fh.read(), encoding="utf-8")
    for f in (SAMPLE / "nli" / "xnli").glob("*.xz"):
        with lzma.open(f, "rt", encoding="utf-8") as fh:
            (nli / "xnli" / f.name[:-3]).write_text(fh.read(), encoding="utf-8")
    return root


def _run(tmp_path, data_root, *overrides):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=["task=baseline", "encoder.path=none",
                                                 f"data.root={data_root}", f"results={tmp_path / 'res.csv'}",
                                                 "seeds=[1,2]", f"paths.root_dir={ROOT}",
                                                 f"paths.log_dir={tmp_path}", *overrides])
        return run(cfg)
    finally:
        GlobalHydra.instance().clear()


def test_every_floor_as_ordinary_rows(tmp_path, data_root):
    rows = _run(tmp_path, data_root)
    got = {(r["encoder"], r["task"], r["language"], r["seed"]): float(r["value"]) for r in rows}
    # deterministic, under the seeds the task's own rows carry (seeds_of): every seed, tatoeba's 0 (no head)
    assert ({s for _e, t, _l, s in got if t != "tatoeba"} == {1, 2}
            and {s for _e, t, _l, s in got if t == "tatoeba"} == {0})
    # pos: trained on train (all copies of one sentence); test "the dog runs" (3 of 3 right) and "the cat
    # runs": DET DET VERB against DET NOUN NOUN (1 of 3) -> 4 / 6 (one tag for every word would give 2 / 6)
    assert got[("majority", "pos", "en", 1)] == pytest.approx(4 / 6, abs=1e-6)
    # the English tagger on fi's test
    assert got[("majority", "pos_transfer", "fi", 1)] == pytest.approx(4 / 6, abs=1e-6)
    # classical: unseen "cat" sits between "the" and "runs" as "dog" did -> NOUN; "runs" is a VERB by its form
    # (gold NOUN): DET NOUN VERB, 2 of 3, and "the dog runs" 3 of 3 -> 5 / 6
    assert got[("classical", "pos", "en", 1)] == pytest.approx(5 / 6, abs=1e-6)
    assert got[("classical", "pos_transfer", "fi", 2)] == pytest.approx(5 / 6, abs=1e-6)
    assert got[("chance", "tatoeba", "fi", 0)] == pytest.approx(1 / 37, abs=1e-6)
    # xnli: the most frequent MultiNLI training label, its share of each XNLI dev file (raw files read here)
    with open(data_root / "nli" / "mnli" / "mnli_train.tsv", encoding="utf-8") as fh:
        labels = Counter(r["label"] for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    majority = labels.most_common(1)[0][0]
    assert labels.most_common(2)[1][1] < labels[majority]  # no tie in the shipped slice
    for lang in ("ar", "en", "hi", "ru", "tr", "zh"):
        lines = (data_root / "nli" / "xnli" / f"dev-{lang}.tsv").read_text(encoding="utf-8").splitlines()
        dev = [line.split("\t")[2] for line in lines]
        assert got[("majority", "xnli", lang, 1)] == pytest.approx(dev.count(majority) / len(dev), abs=1e-6)
        assert got[("chance", "xnli", lang, 1)] == pytest.approx(1 / 3, abs=1e-6)
    assert _run(tmp_path, data_root) == []  # done: a rerun writes nothing
    assert Path(tmp_path / "res.csv").read_text().count("\n") == 1 + len(rows)
