"""Corpus preparation on the shipped 13-language sample, and its failure modes."""

import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.readers import CorpusError
from melmo.corpus.sampling import AlphaSampling, MonoSampling, SamplingError, UniMaxSampling
from melmo.corpus.sources import language_sources
from melmo.errors import FormatError
from melmo.formats.conllu import ConlluError
from melmo.languages import PAPER_LANGUAGES, UnknownLanguageError

ROOT = Path(__file__).resolve().parents[2]
TEXT = str(ROOT / "data" / "sample" / "text" / "{lang}.txt.xz")
UDPIPE = str(ROOT / "data" / "udpipe")


def _sources(langs=PAPER_LANGUAGES, **kw):
    return language_sources(list(langs), TEXT, None, UDPIPE, None, kw or None)


def _opts(**kw):
    base = dict(seed=11, vocab_size=5000, shard_tokens=50_000, workers=2, heldout_tokens=600)
    base.update(kw)
    return PrepareOptions(**base)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("tokenized-cache")  # tokenization shared by every test here


@pytest.fixture(scope="module")
def alpha04(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    return prepare(_sources(), AlphaSampling(0.4, "alpha04"), out, cache, _opts(), name="sample")


def _shard_bytes(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted((d / "shards").glob("*.npy"))}


def test_all_13_languages_within_one_sentence_of_target(alpha04):
    meta = json.loads((alpha04 / "metadata.json").read_text())
    assert meta["languages"] == list(PAPER_LANGUAGES)
    counts = meta["available_tokens"]
    n_min = min(counts.values())
    for lang in PAPER_LANGUAGES:
        target, got = meta["target_tokens"][lang], meta["realised"][lang]["tokens"]
        assert target == min(counts[lang], round(n_min * (counts[lang] / n_min) ** 0.4))
        assert target <= got < target + meta["options"]["max_sentence_tokens"], lang
    # the stream itself holds exactly the realised sizes, and the languages are interleaved in every shard
    langs = np.concatenate([np.load(alpha04 / "shards" / f"{s}.langs.npy") for s in meta["shards"]])
    lens = np.concatenate([np.load(alpha04 / "shards" / f"{s}.lengths.npy") for s in meta["shards"]])
    for i, lang in enumerate(meta["languages"]):
        assert int(lens[langs == i].sum()) == meta["realised"][lang]["tokens"]
    first = np.load(alpha04 / "shards" / f"{meta['shards'][0]}.langs.npy")
    assert len(set(first[:200].tolist())) >= 10
    vocab = (alpha04 / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert vocab[:3] == ["<S>", "</S>", "<UNK>"] and len(vocab) == 5000
    assert meta["sources"]["en"]["udpipe_model_sha256"] and meta["sources"]["zh"]["source_sha256"]


def test_same_seed_same_output_other_seed_differs_and_reuse(alpha04, cache, tmp_path):
    again = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path / "a", cache, _opts(), name="sample")
    assert _shard_bytes(again) == _shard_bytes(alpha04)
    assert (again / "vocab.txt").read_bytes() == (alpha04 / "vocab.txt").read_bytes()
    other = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path / "a", cache, _opts(seed=12),
                    name="sample")
    assert other != again and _shard_bytes(other) != _shard_bytes(alpha04)
    # a second run with the same config reuses the directory without rewriting it
    mtime = (again / "metadata.json").stat().st_mtime_ns
    assert prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path / "a", cache, _opts(),
                   name="sample") == again
    assert (again / "metadata.json").stat().st_mtime_ns == mtime


def test_trunc_mono_unimax(cache, tmp_path):
    trunc = json.loads((prepare(_sources(), AlphaSampling(0.0, "trunc"), tmp_path, cache, _opts(),
                                "s") / "metadata.json").read_text())
    assert len(set(trunc["target_tokens"].values())) == 1
    mono = json.loads((prepare(_sources(), MonoSampling("fi"), tmp_path, cache, _opts(),
                               "s") / "metadata.json").read_text())
    assert mono["languages"] == ["fi"] and mono["realised"]["fi"]["tokens"] == mono["available_tokens"]["fi"]
    uni = prepare(_sources(), UniMaxSampling(max_epochs=2, budget_fraction=0.5), tmp_path, cache, _opts(),
                  "s")
    meta = json.loads((uni / "metadata.json").read_text())
    small = min(meta["available_tokens"], key=meta["available_tokens"].get)
    assert meta["realised"][small]["tokens"] == 2 * meta["available_tokens"][small]  # repeated twice, capped


def _assert_nothing_written(root: Path):
    leftovers = [p for p in root.rglob("*")
                 if p.is_file() and "tokenized" not in p.parts and p.name != "sha256.json"]
    assert leftovers == [], leftovers


@pytest.mark.parametrize("alpha", [-0.5, 1.5])
def test_alpha_out_of_range(tmp_path, cache, alpha):
    with pytest.raises(SamplingError, match="alpha must be in"):
        prepare(_sources(["eu", "hi"]), AlphaSampling(alpha), tmp_path / "out", cache, _opts())
    _assert_nothing_written(tmp_path)


def test_unknown_language(tmp_path, cache):
    with pytest.raises(UnknownLanguageError, match="unknown language code 'xx'"):
        prepare(_sources(["eu", "xx"]), AlphaSampling(0.4), tmp_path / "out", cache, _opts())
    _assert_nothing_written(tmp_path)


def test_missing_and_empty_corpus(tmp_path, cache):
    with pytest.raises(CorpusError, match=r"nope\.txt: corpus file for language 'eu' not found"):
        prepare(language_sources(["eu"], str(tmp_path / "nope.txt"), None, UDPIPE), AlphaSampling(0.4),
                tmp_path / "out", cache, _opts())
    empty = tmp_path / "eu.txt"
    empty.write_text("")
    with pytest.raises(CorpusError, match=r"eu\.txt: corpus file for language 'eu' is empty"):
        prepare(language_sources(["eu"], str(empty), None, UDPIPE), AlphaSampling(0.4), tmp_path / "out",
                cache, _opts())
    blank = tmp_path / "hi.txt.xz"
    blank.write_bytes(lzma.compress(b"\n  \n\n"))
    with pytest.raises(CorpusError, match=r"hi\.txt\.xz: corpus for language 'hi' has no tokens"):
        prepare(language_sources(["hi"], str(blank), None, UDPIPE), AlphaSampling(0.4), tmp_path / "out",
                cache, _opts())
    _assert_nothing_written(tmp_path / "out")


def test_invalid_utf8_in_corpus(tmp_path, cache):
    bad = tmp_path / "fi.txt"
    bad.write_bytes("Hyvää päivää.\n".encode() + b"Rikki \xc3\x28 tavu.\n")  # 19 + 6 bytes before the bad one
    with pytest.raises(FormatError, match=r"fi\.txt: invalid UTF-8 at byte offset 25"):
        prepare(language_sources(["fi"], str(bad), None, UDPIPE), AlphaSampling(0.4), tmp_path / "out", cache,
                _opts())
    _assert_nothing_written(tmp_path / "out")
    assert not list((cache / "tokenized").glob(".fi-*")), "no half-written tokenization left behind"


def test_malformed_conllu(tmp_path, cache):
    bad = tmp_path / "tr.conllu"
    bad.write_text("1\tBir\tbir\tDET\t_\t_\t0\troot\t_\t_\n2\tiki\n\n", encoding="utf-8")
    with pytest.raises(ConlluError, match=r"tr\.conllu:2: malformed CoNLL-U line"):
        prepare(language_sources(["tr"], str(bad)), AlphaSampling(0.4), tmp_path / "out", cache, _opts())
    _assert_nothing_written(tmp_path / "out")


def test_missing_udpipe_model(tmp_path, cache):
    with pytest.raises(CorpusError, match=r"ko\.udpipe: UDPipe model for language 'ko' not found"):
        prepare(language_sources(["ko"], TEXT, None, str(tmp_path / "models")), AlphaSampling(0.4),
                tmp_path / "out", cache, _opts())
    _assert_nothing_written(tmp_path / "out")


def test_model_free_tokenizer_only_when_named(tmp_path, cache):
    srcs = language_sources(["hi"], TEXT, None, str(tmp_path / "no-models"), None,
                            {"builtin": "generic_tokenizer"})
    out = prepare(srcs, AlphaSampling(0.4), tmp_path / "out", cache, _opts())
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["realised"]["hi"]["tokens"] > 1000 and meta["sources"]["hi"]["udpipe_model"] is None
    assert meta["sources"]["hi"]["tokenizer"]["builtin"] == "generic_tokenizer"


def test_output_does_not_depend_on_the_write_buffer_size(alpha04, cache, tmp_path, monkeypatch):
    import melmo.corpus.prepare_workers as prep

    monkeypatch.setattr(prep, "FLUSH_TOKENS", 500)  # many small pieces per language and bucket
    small = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path, cache, _opts(workers=1),
                    name="sample")
    assert _shard_bytes(small) == _shard_bytes(alpha04)
