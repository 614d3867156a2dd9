"""load_bilm / save_bilm (melmo.model.io) against the bilm-tf layout (bilm-tf bin/train_elmo.py options;
AllenNLP tests/modules/elmo_test.py; bilm-tf tests/test_model.py)."""

import json
import shutil

import h5py
import numpy as np
import pytest
import torch
from bilm_helpers import (  # noqa: F401 (single_thread: autouse fixture)
    ALLENNLP,
    BILM_TF,
    SMALL_OPTIONS,
    fixture_batches,
    fixture_expected,
    options_with,
    random_model,
    random_sentences,
    single_thread,
    top_layer_error,
)

from melmo.model.chars import batch_to_ids
from melmo.model.io import (
    BilmFormatError,
    find_weights,
    load_bilm,
    load_bilm_dir,
    load_softmax,
    read_vocab,
    save_bilm,
)

RNN = "RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/{n}"


def read_h5(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        attrs = sum(len(obj.attrs) for obj in [f] + [f[n] for n in out])
    return out, attrs


def outputs(encoder, stream):
    state, res = None, []
    with torch.no_grad():
        for batch in stream:
            out = encoder(batch_to_ids(batch), state)
            state = out.state
            res.append(out.layers)
    return res


@pytest.mark.parametrize("directory", [ALLENNLP, BILM_TF], ids=["allennlp", "bilm-tf"])
def test_round_trip_is_bit_identical_and_passes_fixtures(tmp_path, directory):
    encoder = load_bilm(directory / "options.json", directory / "lm_weights.hdf5")
    assert not encoder.training
    saved = save_bilm(encoder, tmp_path / "model")
    assert sorted(p.name for p in saved.iterdir()) == ["options.json", "weights.hdf5"]

    original, _ = read_h5(directory / "lm_weights.hdf5")
    written, n_attrs = read_h5(saved / "weights.hdf5")
    assert sorted(written) == sorted(original) and len(written) == 33  # §6 dataset count
    assert n_attrs == 0
    for name, value in original.items():
        assert written[name].dtype == np.float32 and written[name].shape == value.shape, name
        assert np.array_equal(written[name], value), name  # bit-identical: gate order, +1 bias, orientation
    assert written["char_embed"].shape == (261, 4)  # zero row removed again (§9.7)

    options = json.loads((saved / "options.json").read_text())
    source = json.loads((directory / "options.json").read_text())
    assert options["char_cnn"]["n_characters"] == 262
    assert options["char_cnn"] == source["char_cnn"] and options["lstm"] == source["lstm"]

    again = load_bilm(saved / "options.json", saved / "weights.hdf5")
    sentences = "sentences.json" if directory == ALLENNLP else "lm_embeddings_sentences.json"
    stream = fixture_batches(directory, sentences)
    for a, b in zip(outputs(encoder, stream[:3]), outputs(again, stream[:3])):
        assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert top_layer_error(again, stream, fixture_expected(directory)) < 2e-6


@pytest.mark.parametrize("variant", ["F_eq_P", "H_eq_P", "tanh_C10"])
def test_round_trip_of_models_without_projections(tmp_path, variant):
    """bilm-tf has no CNN_proj when F == P and no W_P_0 when H == P (bilm-tf#79)."""
    options = {
        "F_eq_P": options_with(char_cnn__filters=[[1, 2], [2, 6]]),
        "H_eq_P": options_with(lstm__dim=8),
        "tanh_C10": options_with(char_cnn__activation="tanh", char_cnn__max_characters_per_token=10,
                                 char_cnn__n_characters=261),
    }[variant]
    encoder, arrays = random_model(options)
    save_bilm(encoder, tmp_path / "m")
    written, _ = read_h5(tmp_path / "m" / "weights.hdf5")
    assert sorted(written) == sorted(arrays)
    assert ("CNN_proj/W_proj" in written) == (variant != "F_eq_P")
    assert (RNN.format(d=0, l=0, n="W_P_0") in written) == (variant != "H_eq_P")
    for name, value in arrays.items():
        assert np.array_equal(written[name], value), name
    again = load_bilm_dir(tmp_path / "m")
    C = options["char_cnn"]["max_characters_per_token"]
    with torch.no_grad():
        ids = batch_to_ids(random_sentences(3, 5), max_chars=C)
        assert all(torch.equal(a, b) for a, b in zip(encoder(ids).layers, again(ids).layers))
    assert json.loads((tmp_path / "m" / "options.json").read_text())["char_cnn"]["n_characters"] == 262


def test_options_with_261_characters_load(tmp_path):
    options = json.loads((ALLENNLP / "options.json").read_text())
    options["char_cnn"]["n_characters"] = 261  # a training options file (§5)
    (tmp_path / "options.json").write_text(json.dumps(options))
    encoder = load_bilm(tmp_path / "options.json", ALLENNLP / "lm_weights.hdf5")
    assert encoder.token_encoder.char_embed.weight.shape == (262, 4)
    assert float(encoder.token_encoder.char_embed.weight[0].detach().abs().max()) == 0.0


def test_allennlp_weights_have_no_softmax():
    assert load_softmax(ALLENNLP / "lm_weights.hdf5") is None


def test_vocab_and_softmax_are_written_and_ignored_by_the_loader(tmp_path):
    encoder, _ = random_model()
    vocab = ["<S>", "</S>", "<UNK>", "the", "ja", "日本"]
    W, b = torch.randn(len(vocab), 8), torch.randn(len(vocab))
    save_bilm(encoder, tmp_path / "m", vocab=vocab, softmax=(W, b))
    assert (tmp_path / "m" / "vocab.txt").read_text(encoding="utf-8") == "".join(w + "\n" for w in vocab)
    assert read_vocab(tmp_path / "m" / "vocab.txt") == vocab
    sW, sb = load_softmax(tmp_path / "m" / "weights.hdf5")
    assert torch.equal(sW, W) and torch.equal(sb, b)
    again = load_bilm_dir(tmp_path / "m")  # extra softmax datasets are ignored (§6)
    ids = batch_to_ids(random_sentences(2, 6))
    with torch.no_grad():
        assert torch.equal(encoder(ids).layers[-1], again(ids).layers[-1])
    with pytest.raises(ValueError, match="6 tokens"):
        save_bilm(encoder, tmp_path / "x", vocab=vocab, softmax=(W[:5], b[:5]))
    with pytest.raises(ValueError, match="one per line"):
        save_bilm(encoder, tmp_path / "x", vocab=["a b\n"])


# -- bad input: one line naming the file and the problem ---------------------------------------------

def one_line_error(excinfo, path):
    msg = str(excinfo.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


@pytest.fixture
def saved_model(tmp_path):
    encoder, _ = random_model()
    return save_bilm(encoder, tmp_path / "model")


def test_missing_files(saved_model, tmp_path):
    with pytest.raises(BilmFormatError) as e:
        load_bilm(tmp_path / "nope.json", saved_model / "weights.hdf5")
    assert "no such options file" in one_line_error(e, tmp_path / "nope.json")
    with pytest.raises(BilmFormatError) as e:
        load_bilm(saved_model / "options.json", tmp_path / "nope.hdf5")
    assert "no such weight file" in one_line_error(e, tmp_path / "nope.hdf5")
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(tmp_path / "nowhere")
    one_line_error(e, tmp_path / "nowhere")


def test_missing_dataset(saved_model):
    name = RNN.format(d=1, l=1, n="B")
    with h5py.File(saved_model / "weights.hdf5", "a") as f:
        del f[name]
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    msg = one_line_error(e, saved_model / "weights.hdf5")
    assert name in msg and "missing dataset" in msg and "(64,)" in msg


def test_options_and_weights_disagree(saved_model):
    options = json.loads((saved_model / "options.json").read_text())
    options["lstm"]["dim"] = 32
    (saved_model / "options.json").write_text(json.dumps(options))
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    msg = one_line_error(e, saved_model / "weights.hdf5")
    assert RNN.format(d=0, l=0, n="W_0") in msg and "(16, 64)" in msg and "(16, 128)" in msg


def test_truncated_and_corrupt_hdf5(saved_model):
    path = saved_model / "weights.hdf5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    assert "HDF5" in one_line_error(e, path)
    path.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    one_line_error(e, path)


def test_bad_options(saved_model):
    path = saved_model / "options.json"
    path.write_text("{not json")
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    assert "JSON" in one_line_error(e, path)
    path.write_text(json.dumps({"lstm": {}}))
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    one_line_error(e, path)
    path.write_text(json.dumps({"char_cnn": SMALL_OPTIONS["char_cnn"], "lstm": {"dim": 4}}))
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    assert "projection_dim" in one_line_error(e, path)
    path.write_text(json.dumps(options_with(char_cnn__n_characters=300)))
    with pytest.raises(BilmFormatError) as e:
        load_bilm_dir(saved_model)
    assert "n_characters" in one_line_error(e, path)


def test_weight_file_discovery(tmp_path, saved_model):
    assert find_weights(saved_model).name == "weights.hdf5"
    nlpl = tmp_path / "nlpl"
    nlpl.mkdir()
    shutil.copy(saved_model / "options.json", nlpl)
    shutil.copy(saved_model / "weights.hdf5", nlpl / "any_name.hdf5")
    assert find_weights(nlpl).name == "any_name.hdf5"
    load_bilm_dir(nlpl)
    shutil.copy(saved_model / "weights.hdf5", nlpl / "model.hdf5")
    assert find_weights(nlpl).name == "model.hdf5"  # simple_elmo's name wins over other files
    (nlpl / "model.hdf5").unlink()
    shutil.copy(saved_model / "weights.hdf5", nlpl / "other.hdf5")
    with pytest.raises(BilmFormatError, match="several"):
        find_weights(nlpl)


# -- atomic writes ------------------------------------------------------------------------------------

class Boom(RuntimeError):
    pass


def fail_after(monkeypatch, n):
    """Make the n-th HDF5 dataset creation raise, midway through writing weights.hdf5."""
    real = h5py.Group.create_dataset
    calls = {"n": 0}

    def create_dataset(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise Boom("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    encoder, _ = random_model()
    fail_after(monkeypatch, 10)
    with pytest.raises(Boom):
        save_bilm(encoder, tmp_path / "out" / "model", vocab=["a", "b"])
    assert list((tmp_path / "out").iterdir()) == []  # no model dir, no temporary left


def test_failed_save_keeps_the_previous_model(tmp_path, monkeypatch):
    first, _ = random_model(seed=1)
    second, _ = random_model(seed=2)
    target = save_bilm(first, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    fail_after(monkeypatch, 20)
    with pytest.raises(Boom):
        save_bilm(second, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    monkeypatch.undo()
    save_bilm(second, target)  # overwriting an existing model works
    again = load_bilm_dir(target)
    ids = batch_to_ids([["a", "b"]])
    with torch.no_grad():
        assert torch.equal(again(ids).layers[-1], second(ids).layers[-1])
