"""A head's seed sets every random number it draws: the same (encoder, task, language, seed) row and
its predictions are bit-identical alone, after other languages and seeds, with a warm or a cold
activation cache, and split per language (issue 22, point 3)."""

import csv

import pytest
from eval_helpers import ROOT, SAMPLE, first_sentences


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for lang, name in (("en", "en_ewt"), ("fi", "fi_tdt")):
        for split, n in (("dev", 30), ("test", 12)):
            first_sentences(SAMPLE / "ud" / lang / f"{name}-ud-{split}.conllu.xz", n,
                            root / "ud" / lang / f"{name}-ud-{split}.conllu")
    return root


@pytest.fixture
def evaluate(tmp_path, data_root, tiny_dir):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    def go(out: str, cache: str, *overrides):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                f"encoder.path={tiny_dir}", "encoder.name=tiny", f"data.root={data_root}",
                f"results={tmp_path / out / 'results.csv'}", f"encode.cache_dir={tmp_path / cache}",
                "paths.root_dir=" + str(ROOT), "paths.log_dir=" + str(tmp_path / "logs"), *overrides])
        run(cfg)
        with open(tmp_path / out / "results.csv", encoding="utf-8") as fh:
            rows = {(r["task"], r["metric"], r["language"], r["seed"]): r["value"]
                    for r in csv.DictReader(fh)}
        return rows, tmp_path / out / "predictions"

    yield go
    GlobalHydra.instance().clear()


TASKS = {
    "pos": ["task=pos", "task.trainer.max_epochs=2", "task.batch_size=8"],
    "parsing": ["task=parsing", "task.trainer.max_epochs=2", "task.batch_tokens=150",
                "task.head.n_lstm_hidden=8", "task.head.n_lstm_layers=1", "task.head.n_arc_mlp=8",
                "task.head.n_rel_mlp=8"],
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_row_is_bit_identical_in_every_situation(evaluate, task):
    ov = TASKS[task]
    key = lambda rows: {k: v for k, v in rows.items() if k[2] == "fi" and k[3] == "2"}  # noqa: E731
    pred = f"{task}/tiny/fi.seed2.tsv"
    alone_cold, p1 = evaluate("alone_cold", "cache_a", *ov, "language=fi", "seeds=[2]")
    alone_warm, p2 = evaluate("alone_warm", "cache_a", *ov, "language=fi", "seeds=[2]")
    after_others, p3 = evaluate("after", "cache_b", *ov, "language=[en,fi]", "seeds=[1,2]")
    evaluate("split", "cache_c", *ov, "language=en", "seeds=[1,2]")
    split, p4 = evaluate("split", "cache_c", *ov, "language=fi", "seeds=[1,2]")
    want = key(alone_cold)
    assert want and all(k[0] == task for k in want)
    for name, rows, p in (("warm cache", alone_warm, p2), ("after en and seed 1", after_others, p3),
                          ("split per language", split, p4)):
        assert key(rows) == want, name
        assert (p / pred).read_bytes() == (p1 / pred).read_bytes(), name
    from omegaconf import OmegaConf  # each head's best epoch against its limit, beside the results (issue 31)

    heads = OmegaConf.load(p3.parent / "configs" / task / "tiny.yaml").heads
    assert sorted(heads) == ["en", "fi"] and sorted(heads.fi) == [1, 2]
    assert (heads.fi[2].max_epochs == 2 and 1 <= heads.fi[2].best_epoch <= 2
            and heads.fi[2].normalize == "standardize")


def test_xnli_row_is_the_same_alone_and_after_another_seed(evaluate, data_root):
    ov = ["task=xnli", f"data.root={SAMPLE}", "task.head.hidden=8", "task.trainer.max_epochs=1",
          "task.data.max_train_pairs=60", "task.data.max_eval_pairs=20",
          "encode.raw_tokenizer.kind=whitespace", "language=en"]
    alone, p1 = evaluate("x_alone", "xcache_a", *ov, "seeds=[2]")
    after, p2 = evaluate("x_after", "xcache_b", *ov, "seeds=[1,2]")
    want = {k: v for k, v in alone.items() if k[3] == "2"}
    assert want and {k: v for k, v in after.items() if k[3] == "2"} == want
    pred = "xnli/tiny/en.seed2.tsv"
    assert (p1 / pred).read_bytes() == (p2 / pred).read_bytes()
