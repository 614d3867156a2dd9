"""Continued pre-training (init_from): the encoder starts as the source model, then trains."""

import json
import logging
from pathlib import Path

import pytest
import torch

import melmo.pretrain.module as lit
from melmo.model.chars import batch_to_ids
from melmo.model.io import find_weights, load_bilm_dir, load_softmax, read_vocab
from melmo.pretrain.run import run

ROOT = Path(__file__).resolve().parents[2]
ALLENNLP = ROOT / "tests" / "fixtures" / "elmo" / "allennlp"  # vendored (tests/fixtures/elmo/README.md)
SENTENCES = [["The", "cat", "sat", "on", "the", "mat", "."], ["Kissa", "istui", "matolla"], ["日本語", "ü"]]


def _top_layers(encoder) -> list[torch.Tensor]:
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        out = encoder(batch_to_ids(SENTENCES, encoder.options["char_cnn"]["max_characters_per_token"]))
    encoder.train(was)
    return [layer.clone() for layer in out.layers]


@pytest.fixture
def before_first_step(monkeypatch):
    """What the LitBiLM holds when training starts (after setup and any restore, before step 1)."""
    seen = {}
    real = lit.LitBiLM.on_train_start

    def spy(self):
        real(self)
        seen["layers"] = _top_layers(self.encoder)
        seen["softmax"] = (self.softmax.weight.detach().clone(), self.softmax.bias.detach().clone())
        seen["options"] = self.encoder.options

    monkeypatch.setattr(lit.LitBiLM, "on_train_start", spy)
    return seen


def _assert_same_encoder(seen: dict, source: Path) -> None:
    expected = _top_layers(load_bilm_dir(source))  # the source loaded on its own, as a user would
    assert len(seen["layers"]) == len(expected)
    for got, want in zip(seen["layers"], expected):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)


ONE_STEP = ["sampling=mono", "trainer.max_steps=1", "trainer.limit_val_batches=0", "~logger",
            "~callbacks.lr_monitor"]


def test_init_from_the_allennlp_fixture_fresh_softmax(compose_train, before_first_step, caplog):
    cfg = compose_train(*ONE_STEP, "sampling.language=fi", f"init_from={ALLENNLP}", "export=false")
    with caplog.at_level(logging.INFO):
        metrics = run(cfg)
    # the source's architecture, not elmo_tiny's
    assert before_first_step["options"]["lstm"]["projection_dim"] == 16
    _assert_same_encoder(before_first_step, ALLENNLP)
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))  # one step ran
    assert "softmax starts fresh over the new corpus's vocabulary" in caplog.text


def _reordered_copy(source: Path, dest: Path) -> list[str]:
    """A copy of ``source`` whose vocab.txt (and softmax rows, alike) put <S>, </S>, <UNK> last and
    reverse the rest, as a bilm-tf vocabulary may order them."""
    import shutil

    import h5py

    shutil.copytree(source, dest)
    words = read_vocab(source / "vocab.txt")
    order = list(range(len(words)))[3:][::-1] + [0, 1, 2]
    with h5py.File(dest / "weights.hdf5", "r+") as f:
        for name in ("softmax/W", "softmax/b"):
            data = f[name][()]
            f[name][...] = data[order]
    new_words = [words[i] for i in order]
    (dest / "vocab.txt").write_text("".join(w + "\n" for w in new_words), encoding="utf-8")
    return new_words


def _prepared_vocab(cfg, lang: str) -> tuple[list[str], dict]:
    dirs = [p for p in Path(cfg.data.prepared_dir).iterdir() if (p / "metadata.json").is_file()]
    metas = [(p, json.loads((p / "metadata.json").read_text())) for p in dirs]
    p, meta = max(((p, m) for p, m in metas if m["languages"] == [lang] and m.get("vocab_file")),
                  key=lambda pm: (pm[0] / "metadata.json").stat().st_mtime)
    return read_vocab(p / "vocab.txt"), meta


@pytest.mark.slow  # two continued runs after a short training: ~2 min on 2 shared cores
def test_init_from_an_exported_model_keeps_softmax_and_vocabulary(
        compose_train, before_first_step, tmp_path, caplog):
    src_cfg = compose_train(*ONE_STEP, "sampling.language=fi", "trainer.max_steps=2")
    run(src_cfg)
    source = Path(src_cfg.paths.output_dir) / "model"
    vocab = read_vocab(source / "vocab.txt")
    W, b = load_softmax(find_weights(source))

    cfg = compose_train(*ONE_STEP, "sampling.language=eu", f"init_from={source}", "export=false")
    cfg.paths.output_dir = str(tmp_path / "continued")
    with caplog.at_level(logging.INFO):
        metrics = run(cfg)
    _assert_same_encoder(before_first_step, source)
    got_W, got_b = before_first_step["softmax"]
    # our vocab.txt has <S>, </S>, <UNK> first: same rows
    assert torch.equal(got_W, W) and torch.equal(got_b, b)
    prepared, meta = _prepared_vocab(cfg, "eu")
    # the eu corpus prepared with the fi vocabulary
    assert prepared == vocab and meta["vocab_size"] == len(vocab)
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))  # one step ran
    assert "softmax and vocabulary" in caplog.text and "kept from the source" in caplog.text

    # a vocabulary in another order: every token keeps its own softmax row
    words = _reordered_copy(source, tmp_path / "reordered")
    W2, b2 = load_softmax(find_weights(tmp_path / "reordered"))
    cfg = compose_train(*ONE_STEP, "sampling.language=eu", f"init_from={tmp_path / 'reordered'}",
                        "export=false")
    cfg.paths.output_dir = str(tmp_path / "continued2")
    run(cfg)
    prepared, _ = _prepared_vocab(cfg, "eu")
    assert prepared[:3] == ["<S>", "</S>", "<UNK>"] and sorted(prepared) == sorted(words)
    got_W, got_b = before_first_step["softmax"]
    row = {w: i for i, w in enumerate(words)}
    for i, w in enumerate(prepared):
        assert torch.equal(got_W[i], W2[row[w]]) and got_b[i] == b2[row[w]], w
