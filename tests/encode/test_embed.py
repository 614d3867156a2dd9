"""melmo.embed: the upstream fixtures under the stream policy; batch independence under the default."""

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from eval_helpers import FIXTURES, ROOT

import melmo

FIXTURE_SETS = {"allennlp": ("allennlp", "sentences.json"),
                "bilm-tf": ("bilm-tf", "lm_embeddings_sentences.json")}


def _fixture(name):
    sub, sents_file = FIXTURE_SETS[name]
    d = FIXTURES / sub
    sents = json.loads((d / sents_file).read_text())
    expected = {}
    for k in range(3):
        with h5py.File(d / f"lm_embeddings_{k}.hdf5", "r") as f:
            for i in range(10):
                e = f[str(i)][()]
                expected[(k, i)] = np.concatenate([e[0], e[1]], axis=-1)  # (n, 2P): forward | backward
    return d, sents, expected


@pytest.mark.parametrize("name", list(FIXTURE_SETS))
def test_stream_policy_reproduces_fixture(name):
    d, sents, expected = _fixture(name)
    # upstream order: batch i = [s[0][i], s[1][i], s[2][i]] -> a flat stream read in batches of 3
    stream = [sents[k][i].split() for i in range(10) for k in range(3)]
    vecs = melmo.embed(stream, d, layers=-1, policy="stream", batch_size=3)
    for j, v in enumerate(vecs):
        i, k = divmod(j, 3)
        np.testing.assert_allclose(v, expected[(k, i)], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", list(FIXTURE_SETS))
def test_stateless_policy_does_not_reproduce_stream_fixture(name):
    """Negative control: the fixtures depend on the state history, so stateless must differ."""
    d, sents, expected = _fixture(name)
    stream = [sents[k][i].split() for i in range(10) for k in range(3)]
    vecs = melmo.embed(stream, d, layers=-1, batch_size=3)
    assert max(np.abs(v - expected[divmod(j, 3)[::-1]]).max() for j, v in enumerate(vecs)) > 0.1


def test_default_policy_same_alone_and_in_any_batch(tiny_dir):
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "a", "mat", ".", "Ünïcödé", "日本", "x" * 60, "и", "är"]
    sents = [[words[j] for j in rng.integers(0, len(words), rng.integers(1, 12))] for _ in range(13)]
    alone = [melmo.embed([s], tiny_dir)[0] for s in sents]
    for bs in (2, 5, 13):
        batched = melmo.embed(sents, tiny_dir, batch_size=bs)
        for a, b in zip(alone, batched):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    # shuffled order and other neighbours
    perm = rng.permutation(len(sents))
    shuffled = melmo.embed([sents[p] for p in perm], tiny_dir, batch_size=4)
    for j, p in enumerate(perm):
        np.testing.assert_allclose(shuffled[j], alone[p], atol=1e-6, rtol=0)
    # and the stream policy does depend on the neighbours (the property is not trivially true)
    stream = melmo.embed(sents, tiny_dir, policy="stream", batch_size=4)
    assert max(np.abs(a - b).max() for a, b in zip(alone[4:], stream[4:])) > 1e-3


def test_layers_selection(tiny_dir):
    s = [["a", "b", "c"]]
    full = melmo.embed(s, tiny_dir)[0]
    assert full.shape == (3, 3, 16)
    np.testing.assert_array_equal(melmo.embed(s, tiny_dir, layers=-1)[0], full[2])
    np.testing.assert_allclose(melmo.embed(s, tiny_dir, layers="average")[0],
                               (full[0] + full[1] + full[2]) / 3, atol=1e-7)
    np.testing.assert_array_equal(melmo.embed(s, tiny_dir, layers=[0, 2])[0], full[[0, 2]])
    with pytest.raises(ValueError, match="3 layers"):
        melmo.embed(s, tiny_dir, layers=3)
    with pytest.raises(TypeError, match="lists of tokens"):
        melmo.embed(["a b c"], tiny_dir)


def test_import_melmo_is_light():
    code = ("import sys, melmo; assert 'torch' not in sys.modules, 'torch imported'; "
            "print(callable(melmo.embed))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_cli_writes_hdf5(tiny_dir, tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("a b c\nthe cat sat .\n", encoding="utf-8")
    out = tmp_path / "out.hdf5"
    r = subprocess.run([sys.executable, "-m", "melmo.encode.embed_cli", str(inp), str(out), "--model",
                        str(tiny_dir), "--layers", "top"], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    expect = melmo.embed([["a", "b", "c"], ["the", "cat", "sat", "."]], tiny_dir, layers="top")
    with h5py.File(out, "r") as f:
        np.testing.assert_allclose(f["0"][()], expect[0], atol=1e-6)
        np.testing.assert_allclose(f["1"][()], expect[1], atol=1e-6)
        assert json.loads(f["sentence_to_index"][0]) == {"a b c": 0, "the cat sat .": 1}


def test_cli_bad_inputs_one_line(tiny_dir, tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_text("a b\n\nc\n", encoding="utf-8")
    out = tmp_path / "out.hdf5"
    r = subprocess.run([sys.executable, "-m", "melmo.encode.embed_cli", str(inp), str(out), "--model",
                        str(tiny_dir)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert (r.returncode == 1 and f"{inp}:2: empty line" in r.stderr
            and len(r.stderr.strip().splitlines()) == 1)
    assert not out.exists() and not list(tmp_path.glob(".out.hdf5*"))
    inp.write_text("a b\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "melmo.encode.embed_cli", str(inp), str(out), "--model",
                        str(tmp_path / "nope")],
                       cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "no such model directory" in r.stderr and not out.exists()


def test_stateful_policy_is_stream_after_warmup(tiny_dir):
    import torch

    from melmo.encode.model_dir import ModelDir
    from melmo.model.chars import batch_to_ids

    rng = np.random.default_rng(3)
    words = ["the", "cat", "sat", "on", "a", "mat", ".", "и", "är"]
    sents = [[words[j] for j in rng.integers(0, len(words), rng.integers(1, 8))] for _ in range(10)]
    enc = ModelDir(tiny_dir).encoder
    batches = [sents[i : i + 3] for i in range(0, 10, 3)]
    state = None
    with torch.no_grad():
        for b in batches[:2]:  # warm-up: two batches read and discarded
            state = enc(batch_to_ids(b), state).state
        expected = []
        for b in batches:
            out = enc(batch_to_ids(b), state)
            state = out.state
            expected += [out.layers[-1][k, : len(s)].numpy() for k, s in enumerate(b)]
    got = melmo.embed(sents, tiny_dir, layers=-1, policy=melmo_policy("stateful", 3, 2))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-6)
    stream = melmo.embed(sents, tiny_dir, layers=-1, policy="stream", batch_size=3)
    no_warmup = melmo.embed(sents, tiny_dir, layers=-1, policy=melmo_policy("stateful", 3, 0))
    assert all(np.array_equal(a, b) for a, b in zip(stream, no_warmup))
    assert max(np.abs(a - b).max() for a, b in zip(stream, got)) > 1e-3


def melmo_policy(name, batch_size, warmup):
    from melmo.encode.policy import Policy

    return Policy(name, batch_size, warmup)
