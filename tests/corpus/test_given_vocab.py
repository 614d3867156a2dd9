"""Preparation with a given vocabulary (data.prepare.vocab_file), as continued pre-training uses."""

import json
from pathlib import Path

import pytest

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.readers import CorpusError
from melmo.corpus.sampling import AlphaSampling
from melmo.corpus.tokenized import LanguageSource

UD = Path(__file__).resolve().parents[2] / "data" / "sample" / "ud"


def _prep(tmp_path, vocab_file, out="out"):
    srcs = [LanguageSource("en", [UD / "en" / "en_ewt-ud-dev.conllu.xz"])]
    opts = PrepareOptions(seed=1, vocab_size=50, shard_tokens=50_000, workers=1, vocab_file=str(vocab_file))
    return prepare(srcs, AlphaSampling(0.4), tmp_path / out, tmp_path / "cache", opts)


def test_given_vocabulary_is_the_softmax_vocabulary(tmp_path):
    words = ["the", "<UNK>", "zzz-not-in-corpus", "<S>", ".", "</S>", "of"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    out = _prep(tmp_path, path)
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    # specials first, then file order
    assert vocab == ["<S>", "</S>", "<UNK>", "the", "zzz-not-in-corpus", ".", "of"]
    types = (out / "types.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert types[:7] == vocab and len(types) > 1000 and len(set(types)) == len(types)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["vocab_size"] == 7 and meta["vocab_file"]["sha256"]
    # other content, same path: another corpus
    path.write_text("\n".join(words + ["and"]) + "\n", encoding="utf-8")
    assert _prep(tmp_path, path) != out


@pytest.mark.parametrize("words, problem", [
    (["<S>", "</S>", "the"], "vocabulary lacks <UNK>"),
    (["<S>", "</S>", "<UNK>", "a", "a"], "vocabulary token 'a' appears twice"),
])
def test_bad_vocabulary_file(tmp_path, words, problem):
    path = tmp_path / "v.txt"
    path.write_text("\n".join(words) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=f"v.txt: {problem}"):
        _prep(tmp_path, path)
    with pytest.raises(CorpusError, match="nope.txt: vocabulary file .* not found"):
        _prep(tmp_path, tmp_path / "nope.txt")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
