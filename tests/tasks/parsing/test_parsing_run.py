"""task=parsing end to end through melmo.tasks.run.run on a tiny random model and slices of the shipped
UD sample: rows, CoNLL-U beside the results (scored by the official CoNLL 2018 scorer as oracle),
per-item predictions, unseen relations, bad gold trees."""

import csv
import lzma
from pathlib import Path

import pytest
from eval_helpers import ROOT, SAMPLE

from melmo.formats.conllu import ConlluError, read_conllu

udeval = pytest.importorskip("udtools.udeval")

METRICS = ("uas", "las", "uas_nopunct", "las_nopunct", "las_select")
TINY = ["task.head.n_lstm_hidden=16", "task.head.n_lstm_layers=1", "task.head.n_arc_mlp=16",
        "task.head.n_rel_mlp=8", "task.trainer.max_epochs=2", "task.batch_tokens=400"]


def _blocks(path: Path) -> list[str]:
    text = (lzma.decompress(path.read_bytes()).decode("utf-8") if path.suffix == ".xz"
            else path.read_text(encoding="utf-8"))
    return [b for b in text.split("\n\n") if b.strip()]


def _write(blocks, out: Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for lang, name, split, n in [("en", "en_ewt", "dev", 40), ("en", "en_ewt", "test", 20),
                                 ("fi", "fi_tdt", "dev", 30), ("fi", "fi_tdt", "test", 15),
                                 ("ar", "ar_pud", "test", 24)]:
        _write(_blocks(SAMPLE / "ud" / lang / f"{name}-ud-{split}.conllu.xz")[:n],
               root / "ud" / lang / f"{name}-ud-{split}.conllu")
    return root


@pytest.fixture
def evaluate(tmp_path, tiny_dir):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    def go(root, *overrides):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                "task=parsing", f"encoder.path={tiny_dir}", "encoder.name=tiny", f"data.root={root}",
                f"results={tmp_path / 'res' / 'results.csv'}", f"encode.cache_dir={tmp_path / 'cache'}",
                "paths.root_dir=" + str(ROOT), "paths.log_dir=" + str(tmp_path / "logs"), *TINY, *overrides])
        return run(cfg)

    yield go
    GlobalHydra.instance().clear()


def _items(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "item\tgold\tprediction"
    return [line.split("\t") for line in lines[1:]]


def _uas_las(items):
    """From the predictions TSV alone, by COMMON's rule: uas = heads match, las = heads and stripped
    deprels."""
    uas = sum(g.split("|")[0] == p.split("|")[0] for _, g, p in items)
    las = sum(g.split("|")[0] == p.split("|")[0]
              and g.split("|")[1].split(":")[0] == p.split("|")[1].split(":")[0]
              for _, g, p in items)
    return uas / len(items), las / len(items)


def test_parsing_end_to_end_three_seeds(evaluate, tmp_path, data_root):
    rows = evaluate(data_root)
    assert {(r["language"], r["seed"], r["metric"]) for r in rows} == {
        (lang, s, m) for lang in ("ar", "en", "fi") for s in (1, 2, 3) for m in METRICS}
    with open(tmp_path / "res" / "results.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
    value = {(r["language"], r["seed"], r["metric"]): float(r["value"]) for r in rows}
    conllu = tmp_path / "res" / "conllu" / "parsing" / "tiny"
    for lang in ("ar", "en", "fi"):
        gold = conllu / f"{lang}.gold.conllu"
        for s in (1, 2, 3):
            pred = conllu / f"{lang}.seed{s}.conllu"
            official = udeval.evaluate(udeval.load_conllu_file(str(gold)), udeval.load_conllu_file(str(pred)))
            assert value[(lang, s, "uas")] == pytest.approx(official["UAS"].f1, abs=1e-6)
            assert value[(lang, s, "las")] == pytest.approx(official["LAS"].f1, abs=1e-6)
            items = _items(tmp_path / "res" / "predictions" / "parsing" / "tiny" / f"{lang}.seed{s}.tsv")
            uas, las = _uas_las(items)
            assert value[(lang, s, "uas")] == pytest.approx(uas, abs=1e-6)
            assert value[(lang, s, "las")] == pytest.approx(las, abs=1e-6)
            # no-punctuation pair: the same counts without the gold PUNCT words (UPOS from the gold file)
            upos = {f"{k}:{w.id}": w.upos for k, sent in enumerate(read_conllu(gold)) for w in sent.words}
            # ar_pud is test-only: its report sentences are a seeded subset (ids are split indices)
            if lang != "ar":
                nopunct = [it for it in items if upos[it[0]] != "PUNCT"]
                assert len(nopunct) < len(items)
                assert value[(lang, s, "uas_nopunct")] == pytest.approx(_uas_las(nopunct)[0], abs=1e-6)
                assert value[(lang, s, "las_nopunct")] == pytest.approx(_uas_las(nopunct)[1], abs=1e-6)
            assert 0.0 <= value[(lang, s, "las")] <= value[(lang, s, "uas")] <= 1.0
    # en: the whole test slice is reported, every word once
    en_test = read_conllu(data_root / "ud" / "en" / "en_ewt-ud-test.conllu")
    assert [w.form for s in read_conllu(conllu / "en.gold.conllu") for w in s.words] == [
        w.form for s in en_test for w in s.words]
    assert len(_items(tmp_path / "res" / "predictions" / "parsing" / "tiny" / "en.seed1.tsv")) == sum(
        len(s.words) for s in en_test)
    # ar_pud (test only): half of the sentences reported, the others trained and selected on
    assert len(read_conllu(conllu / "ar.gold.conllu")) == 12
    assert evaluate(data_root) == []  # all done: skipped


def test_unseen_relation_counts_wrong(evaluate, tmp_path, data_root):
    root = tmp_path / "unseen"
    dev = _blocks(data_root / "ud" / "en" / "en_ewt-ud-dev.conllu")
    test = [b.replace("\tdet\t", "\tzzunseen\t")
            for b in _blocks(data_root / "ud" / "en" / "en_ewt-ud-test.conllu")]
    _write(dev, root / "ud" / "en" / "en_ewt-ud-dev.conllu")
    _write(test, root / "ud" / "en" / "en_ewt-ud-test.conllu")
    rows = evaluate(root, "seeds=[1]", "task.trainer.max_epochs=1")
    items = _items(tmp_path / "res" / "predictions" / "parsing" / "tiny" / "en.seed1.tsv")
    unseen = [it for it in items if it[1].endswith("|zzunseen")]
    assert len(unseen) > 5 and all(not p.endswith("|zzunseen") for _, _, p in unseen)
    las = {r["metric"]: float(r["value"]) for r in rows}["las"]
    assert las == pytest.approx(_uas_las(items)[1], abs=1e-6)
    assert "zzunseen: " in (tmp_path / "res" / "configs" / "parsing" / "tiny.yaml").read_text()


@pytest.mark.parametrize("what, message", [
    ("range", r"en_ewt-ud-dev.conllu:(\d+): HEAD 99 is not a word of this sentence"),
    ("cycle", r"en_ewt-ud-dev.conllu:(\d+): HEAD cycle through word"),
])
def test_bad_gold_tree_is_one_line_error(evaluate, tmp_path, data_root, what, message):
    root = tmp_path / "bad"
    dev = _blocks(data_root / "ud" / "en" / "en_ewt-ud-dev.conllu")
    b = next(j for j, blk in enumerate(dev) if blk.count("\n") > 8)
    lines = dev[b].split("\n")
    word = {line.split("\t")[0]: j for j, line in enumerate(lines) if line.split("\t")[0].isdigit()}
    head = {w: lines[j].split("\t")[6] for w, j in word.items()}
    if what == "range":
        target, value = "2", "99"
    else:  # w -> h and h -> w: a 2-cycle, the root untouched
        w = next(w for w, h in head.items() if h != "0" and head[h] != "0")
        target, value = head[w], w
    cols = lines[word[target]].split("\t")
    cols[6] = value
    lines[word[target]] = "\t".join(cols)
    dev[b] = "\n".join(lines)
    bad = _write(dev, root / "ud" / "en" / "en_ewt-ud-dev.conllu")
    _write(_blocks(data_root / "ud" / "en" / "en_ewt-ud-test.conllu"),
           root / "ud" / "en" / "en_ewt-ud-test.conllu")
    with pytest.raises(ConlluError, match=message) as err:
        evaluate(root, "seeds=[1]")
    assert str(err.value).startswith(str(bad)) and "\n" not in str(err.value)
    line_no = int(__import__("re").search(message, str(err.value)).group(1))
    assert bad.read_text(encoding="utf-8").split("\n")[line_no - 1].split("\t")[0] in (target, value)
    assert not (tmp_path / "res" / "results.csv").exists()
