"""encoder.path=random:<arch>[@seed]: an untrained biLM of the same architecture, the floor of every task."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from eval_helpers import ROOT, TINY_OPTIONS, tiny_model_dir

from melmo.encode.model_dir import ModelDir, ModelDirError, RandomModelDir
from melmo.model.encoder import BiLM


def test_random_conf_architecture_is_seeded_and_untrained():
    m = ModelDir("random:elmo_tiny@3")
    assert isinstance(m, RandomModelDir) and m.name == "random-elmo_tiny-s3"
    conf = yaml.safe_load((ROOT / "conf" / "model" / "elmo_tiny.yaml").read_text())
    assert m.options["lstm"] == conf["lstm"] and m.options["char_cnn"] == conf["char_cnn"]
    assert m.n_layers == conf["lstm"]["n_layers"] + 1 and m.dim == 2 * conf["lstm"]["projection_dim"]
    # independently: the constructor's initialisation under torch.manual_seed(3)
    torch.manual_seed(3)
    ref = BiLM(conf["char_cnn"], conf["lstm"]).state_dict()
    got = m.encoder.state_dict()
    assert set(got) == set(ref) and all(torch.equal(got[k], ref[k]) for k in ref)
    assert not any(p.requires_grad for p in m.encoder.parameters()) and not m.encoder.training
    same, other = ModelDir("random:elmo_tiny@3"), ModelDir("random:elmo_tiny@4")
    assert m.weights_sha256 == same.weights_sha256 != other.weights_sha256
    assert ModelDir("random:elmo_tiny").seed == 0
    assert m.describe()["strategy"] == "random" and m.describe()["path"] == "random:elmo_tiny@3"


def test_random_of_a_model_directory_keeps_its_architecture_and_tokenizers(tmp_path):
    meta = {"tokenizers": {"fi": {"path": "tokenizers/fi.udpipe", "sha256": None,
                                  "options": {"multiword": "words"}}}}
    d = tiny_model_dir(tmp_path / "m", meta=meta)
    m = ModelDir(f"random:{d}@1")
    assert m.options["lstm"] == TINY_OPTIONS["lstm"] and m.tokenizer_entry("fi") == meta["tokenizers"]["fi"]
    assert m.weights_sha256 != ModelDir(d).weights_sha256  # not the trained weights
    assert json.loads(json.dumps(m.describe()))["lm_seed"] == 1


@pytest.mark.parametrize("spec,match", [("random:no_such_arch", "neither a model directory nor a config"),
                                        ("random:elmo_tiny@x", "the seed after '@' must be an integer")])
def test_bad_spec_one_line(spec, match):
    with pytest.raises(ModelDirError, match=match) as e:
        ModelDir(spec)
    assert "\n" not in str(e.value)


def test_evaluate_reads_the_random_encoder_from_the_command_line(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.tasks.run import run

    root = tmp_path / "data" / "tatoeba"
    root.mkdir(parents=True)
    for side in ("fin", "eng"):
        (root / f"tatoeba.fin-eng.{side}").write_text(
            "".join(f"sana {i} {'x' * (i % 7)}\n" for i in range(12)), encoding="utf-8")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=["task=tatoeba", "encoder.path=random:elmo_tiny@2",
                                                 f"data.root={tmp_path / 'data'}",
                                                 f"results={tmp_path / 'r' / 'results.csv'}",
                                                 f"encode.cache_dir={tmp_path / 'c'}",
                                                 # chosen: the conf config has no tokenizer
                                                 "encode.raw_tokenizer.kind=whitespace",
                                                 f"paths.root_dir={ROOT}", f"paths.log_dir={tmp_path}"])
        rows = run(cfg)
    finally:
        GlobalHydra.instance().clear()
    assert {r["encoder"] for r in rows} == {"random-elmo_tiny-s2"}
    acc = {r["metric"]: float(r["value"]) for r in rows}
    assert acc["acc_layer0"] == 1.0  # identical sides: the context-free character layer retrieves every line
    enc = (tmp_path / "r" / "encoders.csv").read_text()
    assert "random:elmo_tiny@2" in enc and ",random," in enc
