"""The activation cache: key per component, bit-identical rebuilds, truncation detected and rebuilt."""

import hashlib
import shutil

import numpy as np
import pytest

import melmo
from melmo.encode.cache import ACTS_NAME, ActivationCache, cache_key, data_sha256
from melmo.encode.model_dir import ModelDir
from melmo.encode.policy import Policy

SENTS = [["the", "cat", "sat"], ["a", "mat", ".", "Ünïcödé"], ["日本"], ["x" * 60, "and", "y" * 49, "z" * 48]]
TOK = {"source": "test", "multiword": "surface"}


def _files(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def test_key_changes_with_each_component(tiny_dir, tmp_path):
    from eval_helpers import tiny_model_dir

    other = ModelDir(tiny_model_dir(tmp_path / "other", seed=1))
    m = ModelDir(tiny_dir)
    base = cache_key(m.weights_sha256, data_sha256(SENTS), TOK, Policy())
    assert base == cache_key(m.weights_sha256, data_sha256([list(s) for s in SENTS]), dict(TOK), Policy())
    variants = [
        cache_key(other.weights_sha256, data_sha256(SENTS), TOK, Policy()),                 # weights
        cache_key(m.weights_sha256, data_sha256(SENTS[:-1]), TOK, Policy()),                # data
        # boundaries
        cache_key(m.weights_sha256, data_sha256([["thecat", "sat"]] + SENTS[1:]), TOK, Policy()),
        # tokenization
        cache_key(m.weights_sha256, data_sha256(SENTS), {**TOK, "multiword": "split"}, Policy()),
        cache_key(m.weights_sha256, data_sha256(SENTS), TOK, Policy("stream", 3)),         # policy
        cache_key(m.weights_sha256, data_sha256(SENTS), TOK, Policy("stream", 4)),
        cache_key(m.weights_sha256, data_sha256(SENTS), TOK, Policy("stateful", 3, 2)),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # batch size does not change stateless vectors, so it is not part of that key
    assert base == cache_key(m.weights_sha256, data_sha256(SENTS), TOK, Policy("stateless", 7))


def test_cache_contents_bit_identical_and_correct(tiny_dir, tmp_path):
    a = ActivationCache(tmp_path / "a").get(ModelDir(tiny_dir), SENTS, tokenization=TOK, language="en")
    b = ActivationCache(tmp_path / "b").get(ModelDir(tiny_dir), SENTS, tokenization=TOK, language="en")
    assert a.directory.name == b.directory.name
    assert _files(a.directory) == _files(b.directory)
    expected = melmo.embed(SENTS, tiny_dir)  # (L, n, D) float32
    for i, e in enumerate(expected):
        got = a.sentence(i)
        assert got.dtype == np.float16 and got.shape == (len(SENTS[i]), 3, 16)
        np.testing.assert_array_equal(got, e.transpose(1, 0, 2).astype(np.float16))
    # two of the 12 tokens are longer than 48 UTF-8 bytes (x*60, y*49); z*48 just fits
    assert a.meta["tokens_cut"] == 2 and a.meta["tokens_cut_share"] == {"en": 2 / 12}


def test_cache_reused_not_reencoded(tiny_dir, tmp_path, monkeypatch):
    cache = ActivationCache(tmp_path)
    first = cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    import melmo.encode.cache as mod

    def boom(*a, **k):
        raise AssertionError("re-encoded a cached dataset")

    monkeypatch.setattr(mod, "encode", boom)
    again = cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    assert again.directory == first.directory


@pytest.mark.parametrize("damage", ["truncate", "delete_meta"])
def test_truncated_cache_detected_and_rebuilt(tiny_dir, tmp_path, damage):
    cache = ActivationCache(tmp_path)
    first = cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    good = _files(first.directory)
    acts = first.directory / ACTS_NAME
    del first
    if damage == "truncate":
        data = acts.read_bytes()
        acts.chmod(0o644)
        acts.write_bytes(data[: len(data) // 2])
    else:
        (acts.parent / "meta.json").unlink()
    again = cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    assert _files(again.directory) == good


def test_verify_catches_corruption_of_same_size(tiny_dir, tmp_path):
    cache = ActivationCache(tmp_path)
    first = cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    good = _files(first.directory)
    acts = first.directory / ACTS_NAME
    data = bytearray(acts.read_bytes())
    data[10] ^= 0xFF
    acts.chmod(0o644)
    acts.write_bytes(bytes(data))
    # size ok: not checked
    assert _files(cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK).directory) != good
    assert _files(cache.get(ModelDir(tiny_dir), SENTS, tokenization=TOK, verify=True).directory) == good


def test_no_temporary_left_on_failure(tiny_dir, tmp_path, monkeypatch):
    import melmo.encode.cache as mod

    def fail(*a, **k):
        yield 0, np.zeros((3, 3, 16), np.float32)
        raise RuntimeError("interrupted")

    monkeypatch.setattr(mod, "encode", fail)
    with pytest.raises(RuntimeError):
        ActivationCache(tmp_path).get(ModelDir(tiny_dir), SENTS, tokenization=TOK)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    shutil.rmtree(tmp_path)


def test_a_cache_larger_than_the_free_disk_is_refused_before_encoding(tiny_dir, tmp_path, monkeypatch):
    """The rule for MultiNLI-sized sets: a cache that would not fit is a one-line error naming the
    directory, the size and the options, before any encoding or file; one that fits is built."""
    import collections

    import melmo.encode.cache as mod

    model = ModelDir(tiny_dir)
    need = sum(map(len, SENTS)) * model.n_layers * model.dim * 2   # float16, every layer
    usage = collections.namedtuple("usage", "total used free")
    encoded = []
    real_encode = mod.encode
    monkeypatch.setattr(mod, "encode", lambda *a, **k: encoded.append(1) or real_encode(*a, **k))
    # 5 % margin: too little
    monkeypatch.setattr(mod.shutil, "disk_usage", lambda p: usage(10 * need, 9 * need, need))
    with pytest.raises(mod.CacheSpaceError) as err:
        ActivationCache(tmp_path / "c").get(model, SENTS, tokenization=TOK, label="en/dev")
    msg = str(err.value)
    assert "\n" not in msg and str(tmp_path / "c") in msg and "en/dev" in msg and "encode.cache_dir" in msg
    assert f"{need / 1e9:.2f} GB" in msg
    assert not encoded and [p for p in (tmp_path / "c").rglob("*") if p.is_file()] == []
    monkeypatch.setattr(mod.shutil, "disk_usage", lambda p: usage(10 * need, 8 * need, 2 * need))
    assert ActivationCache(tmp_path / "c").get(model, SENTS, tokenization=TOK).meta["bytes"] == need
