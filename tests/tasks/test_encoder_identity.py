"""Encoder identity in the results (issue 22, point 5): MONO is one encoder made of one model per
language; another model under a name for a language it already has is refused before any row is
written; default names differ between models."""

import csv

import pytest
from eval_helpers import ROOT, SAMPLE, first_sentences, tiny_model_dir


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for lang, name in (("en", "en_ewt"), ("fi", "fi_tdt")):
        for split, n in (("dev", 12), ("test", 6)):
            first_sentences(SAMPLE / "ud" / lang / f"{name}-ud-{split}.conllu.xz", n,
                            root / "ud" / lang / f"{name}-ud-{split}.conllu")
    return root


@pytest.fixture
def evaluate(tmp_path, data_root):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    def go(model, *overrides):
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                "task=pos", f"encoder.path={model}", f"data.root={data_root}",
                f"results={tmp_path / 'res' / 'results.csv'}", f"encode.cache_dir={tmp_path / 'cache'}",
                "seeds=[1]", "task.trainer.max_epochs=1", f"paths.root_dir={ROOT}",
                f"paths.log_dir={tmp_path / 'logs'}", *overrides])
        return run(cfg)

    yield go
    GlobalHydra.instance().clear()


def test_mono_is_one_encoder_and_a_second_model_for_a_language_is_refused_first(evaluate, tmp_path):
    en = tiny_model_dir(tmp_path / "m_en" / "model", seed=1)
    fi = tiny_model_dir(tmp_path / "m_fi" / "model", seed=2)
    assert evaluate(en, "encoder.name=MONO", "language=en")
    # the same name, another language: one MONO encoder
    assert evaluate(fi, "encoder.name=MONO", "language=fi")
    enc = [(r["encoder"], r["language"], r["path"])
           for r in csv.DictReader((tmp_path / "res" / "encoders.csv").open())]
    assert enc == [("MONO", "en", str(en.resolve())), ("MONO", "fi", str(fi.resolve()))]
    before = (tmp_path / "res" / "results.csv").read_bytes()
    with pytest.raises(ValueError,
                       match=r"encoders\.csv: encoder name 'MONO' already names another model "
                             r"for language fi"):
        evaluate(en, "encoder.name=MONO", "language=[en,fi]", "force=true")  # en is its own, fi is not
    assert (tmp_path / "res" / "results.csv").read_bytes() == before  # refused before any row was written


def test_default_names_differ_and_a_skip_is_logged(evaluate, tmp_path, caplog):
    a, b = tiny_model_dir(tmp_path / "a" / "model", seed=1), tiny_model_dir(tmp_path / "b" / "model", seed=2)
    for m in (a, b):  # the same run description: only the weights differ
        (m / "melmo.json").write_text(
            '{"corpus": {"sampling": {"name": "alpha04"}}, "run": {"model": "elmo_tiny", "seed": 1}}')
    ra, rb = evaluate(a, "language=fi"), evaluate(b, "language=fi")
    na, nb = {r["encoder"] for r in ra}, {r["encoder"] for r in rb}
    assert (len(na) == len(nb) == 1 and na != nb
            and all(n.startswith("alpha04-elmo_tiny-s1-") for n in na | nb))
    with caplog.at_level("INFO"):
        assert evaluate(b, "language=fi") == []
    assert any("already in" in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
