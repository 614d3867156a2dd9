"""task=xnli at full scale, end to end on a stand-in MultiNLI 1.0 / XNLI 1.0 tree laid out by
python -m melmo.datasets layout: trains on multinli_1.0_train.jsonl (raw text through the model's
tokenizer), selects on dev_matched, reports XNLI 1.0 dev (acc) and test (acc_test) with their gold labels."""

import csv
import json
import logging

import pytest
from eval_helpers import ROOT
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from official_standin import XNLI_LANGS, mnli, xnli
from omegaconf import OmegaConf

from melmo.datasets.__main__ import main as datasets_main
from melmo.formats.nli import NLIFormatError
from melmo.tasks.run import run

FAST = ["task.head.hidden=8", "task.trainer.max_epochs=1", "task.data.max_train_pairs=60",
        "task.data.max_eval_pairs=20", "seeds=[1]",
        "encode.raw_tokenizer.kind=whitespace"]  # the tiny model records no tokenizer
# the stand-in's own sizes: the shipped slice's rows (2000 train, 500 val, 200 per XNLI language and split)
SIZES = [f"task.data.expected_rows.official.{k}={v}"
         for k, v in (("train", 2000), ("val", 500), ("dev", 200), ("test", 200))]


def evaluate(tmp_path, tiny_dir, root, *overrides):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("evaluate", overrides=[
                "task=xnli", f"encoder.path={tiny_dir}", "encoder.name=tiny", f"data.root={root}",
                f"results={tmp_path / 'res' / 'results.csv'}", f"encode.cache_dir={tmp_path / 'cache'}",
                "paths.root_dir=" + str(ROOT), "paths.log_dir=" + str(tmp_path / "logs"), *FAST, *overrides])
        return run(cfg)
    finally:
        GlobalHydra.instance().clear()


def _gold(path, lang):
    """Gold labels of one language, read from the XNLI 1.0 tsv independently (csv, no quoting)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["language"] == lang]
    return [r["gold_label"].replace("contradictory", "contradiction") for r in rows]


@pytest.fixture
def official_root(tmp_path):
    dl = tmp_path / "downloads"
    src = {"xnli": xnli(dl), "mnli": mnli(dl)}
    root = tmp_path / "melmo-data"
    assert datasets_main(["layout", str(root), "--xnli", str(src["xnli"]), "--mnli", str(src["mnli"])]) == 0
    return root, src


def test_xnli_trains_on_multinli_and_reports_xnli_1_0(tmp_path, tiny_dir, official_root, tokenized, caplog):
    root, src = official_root
    with caplog.at_level(logging.INFO, logger="melmo.tasks.xnli.task"):
        rows = evaluate(tmp_path, tiny_dir, root, *SIZES)
    assert {(r["language"], r["metric"]) for r in rows} == {(lang, m) for lang in XNLI_LANGS
                                                            for m in ("acc", "acc_test")}
    # MultiNLI 1.0 is raw text: its premises went through the model's tokenizer (train, then dev_matched)
    with open(src["mnli"] / "multinli_1.0_train.jsonl", encoding="utf-8") as fh:
        train = [json.loads(line) for line in fh]
    kept = [r["sentence1"] for r in train if r["gold_label"] != "-"]
    assert tokenized["en"][:60] == kept[:60]
    value = {(r["language"], r["metric"]): float(r["value"]) for r in rows}
    for lang in XNLI_LANGS:
        for split, task, metric in (("dev", "xnli", "acc"), ("test", "xnli_test", "acc_test")):
            written = tmp_path / "res" / "predictions" / task / "tiny" / f"{lang}.seed1.tsv"
            pred = written.read_text().splitlines()[1:]
            gold = [line.split("\t")[1] for line in pred]
            assert gold == _gold(src["xnli"] / f"xnli.{split}.tsv", lang)[:20]
            assert value[(lang, metric)] == pytest.approx(
                sum(line.split("\t")[1] == line.split("\t")[2] for line in pred) / 20, abs=1e-6)
    protocol = OmegaConf.load(tmp_path / "res" / "configs" / "xnli" / "tiny.yaml").protocol
    assert protocol.train.startswith(
        f"{root}/nli/multinli_1.0/multinli_1.0_train.jsonl (2000 pairs after dropping 0")
    assert protocol.select == f"{root}/nli/multinli_1.0/multinli_1.0_dev_matched.jsonl (20 pairs), accuracy"
    assert protocol.xnli == f"{root}/nli/XNLI-1.0 (layout official)"
    # the model's tokenizer, not the sample's whitespace split
    assert protocol.tokenizers.mnli == protocol.tokenizers.en


def test_official_sizes_are_checked_and_a_missing_part_is_named(tmp_path, tiny_dir, official_root):
    root, _ = official_root
    with pytest.raises(NLIFormatError, match=r"xnli.dev.tsv: 200 pairs, expected 2490"):
        evaluate(tmp_path, tiny_dir, root)  # the configured XNLI 1.0 sizes, not the stand-in's
    (root / "nli" / "multinli_1.0" / "multinli_1.0_dev_matched.jsonl").unlink()
    with pytest.raises(NLIFormatError, match=r"multinli_1.0_dev_matched.jsonl: file not found") as err:
        evaluate(tmp_path, tiny_dir, root, *SIZES)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "res" / "results.csv").exists()
