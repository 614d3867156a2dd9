"""Slow: the model the default train.py exports (a few steps) evaluates on tatoeba and pos."""

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_train_export_then_evaluate(compose_train, tmp_path):
    from eval_helpers import ROOT
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.pretrain.run import run as train
    from melmo.tasks.run import run as evaluate

    metrics = train(compose_train("trainer.max_steps=4", "trainer.val_check_interval=4", "~callbacks"))
    export = Path(metrics["export_dir"])
    meta = json.loads((export / "melmo.json").read_text())
    assert set(meta["tokenizers"]) == set(meta["corpus"]["languages"])
    assert all((export / e["path"]).is_file() for e in meta["tokenizers"].values())
    moved = tmp_path / "copied" / "model"
    shutil.copytree(export, moved)  # a copied model keeps its tokenizers

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        common = [f"encoder.path={moved}", f"results={tmp_path / 'res' / 'results.csv'}",
                  f"encode.cache_dir={tmp_path / 'c'}", f"paths.root_dir={ROOT}", f"paths.log_dir={tmp_path}",
                  "language=fi", "seeds=[1]"]
        rows = evaluate(compose("evaluate", overrides=["task=tatoeba", *common]))
        rows += evaluate(compose("evaluate", overrides=["task=pos", "task.trainer.max_epochs=1", *common]))
    GlobalHydra.instance().clear()
    tatoeba = {("tatoeba", m)
               for m in ("acc", "acc_reverse", "acc_layer0", "acc_layer1", "acc_layer2", "acc_average")}
    assert {(r["task"], r["metric"]) for r in rows} == tatoeba | {("pos", "acc"), ("pos", "acc_select")}
    name = "alpha04-elmo_tiny-s1234-" + hashlib.sha256((moved / "weights.hdf5").read_bytes()).hexdigest()[:8]
    assert {r["encoder"] for r in rows} == {name}  # the run and a short weights hash
    enc = next(iter(csv.DictReader((tmp_path / "res" / "encoders.csv").open())))
    assert (enc["strategy"] == "alpha04" and enc["alpha"] == "0.4" and enc["lm_seed"] == "1234"
            and json.loads(enc["corpus_tokens"])["fi"] > 0)
    saved = (tmp_path / "res" / "configs" / "tatoeba" / f"{name}.yaml").read_text()
    assert "udpipe_sha256" in saved
