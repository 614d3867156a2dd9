"""Analytic FLOPs per token (the table of docs/full-scale.md) and the throughput metric's FLOP/s and share of
the device's dense peak (Lightning's ThroughputMonitor reading LitBiLM.flops_per_batch)."""

import csv
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.data.datamodule import LMDataModule
from melmo.data.heldout import HeldoutOptions
from melmo.model.flops import forward_flops_per_token, train_flops_per_token

CONF = Path(__file__).resolve().parents[2] / "conf"


def options(name: str) -> dict:
    model = OmegaConf.to_container(OmegaConf.load(CONF / "model" / f"{name}.yaml"))
    return {"char_cnn": model["char_cnn"], "lstm": model["lstm"]}


def test_elmo_original_matches_the_readme_table():
    # docs/full-scale.md: char CNN 17.6 + highway 33.6 + projection 2.1 + LSTM 75.5 + sampled softmax 8.4 =
    # 137.2 MFLOP
    assert forward_flops_per_token(options("elmo_original"), 8192 + 1) / 1e6 == pytest.approx(137.2, abs=0.1)
    assert train_flops_per_token(options("elmo_original"), 8192 + 1) / 1e6 == pytest.approx(823, abs=1)


def tiny_train_flops(n_classes: int) -> float:
    """elmo_tiny by hand: C=50, d=8, filters (1,32) (2,32) (3,64) (4,128), F=256, 1 highway, P=128, H=512, 2
    layers."""
    cnn = 2 * 8 * (50 * 1 * 32 + 49 * 2 * 32 + 48 * 3 * 64 + 47 * 4 * 128)
    fwd = (cnn + 2 * 2 * 256 * 256 + 2 * 256 * 128 + 2 * (2 * 256 * 4 * 512 + 2 * 512 * 128)
           + 2 * 128 * n_classes)
    return 3 * 2 * fwd


def test_throughput_logs_flops_per_second_and_the_share_of_peak(ud_corpus, tmp_path, monkeypatch):
    import lightning.pytorch.callbacks.throughput_monitor as tm

    peak = 1.0e12  # a stand-in dense peak for this device (Lightning knows the peaks of GPUs, not of CPUs)
    monkeypatch.setattr(tm, "get_available_flops", lambda device, dtype: peak)
    torch.manual_seed(0)
    dm = LMDataModule(batch_size=2, unroll_steps=5, heldout=HeldoutOptions(batch_rows=4),
                      corpus_dir=ud_corpus)
    corpus = dm.load_corpus()
    lm = OmegaConf.load(CONF / "lm" / "default.yaml")
    module = instantiate(lm, encoder=instantiate(OmegaConf.load(CONF / "model" / "elmo_tiny.yaml")),
                         vocab_size=corpus.vocab_size, languages=corpus.languages, n_negative_samples=63)
    callbacks = OmegaConf.load(CONF / "callbacks" / "default.yaml")
    monitor = instantiate(callbacks.throughput, window_size=2)
    trainer = L.Trainer(accelerator="cpu", max_steps=4, log_every_n_steps=1, callbacks=[monitor],
                        limit_val_batches=0, logger=L.pytorch.loggers.CSVLogger(tmp_path),
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=dm)
    with open(Path(trainer.logger.log_dir) / "metrics.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("train/device/flops_per_sec")]
    assert rows
    for r in rows:
        fps, items = float(r["train/device/flops_per_sec"]), float(r["train/device/items_per_sec"])
        assert fps / items == pytest.approx(tiny_train_flops(64), rel=1e-6)  # FLOPs per token (per direction)
        assert float(r["train/device/mfu"]) == pytest.approx(fps / peak, rel=1e-6)
