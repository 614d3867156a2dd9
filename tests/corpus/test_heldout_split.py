"""The held-out split, <UNK> counting and the shared vocabulary of corpus preparation."""

import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.readers import CorpusError
from melmo.corpus.sampling import AlphaSampling, MonoSampling, UniMaxSampling
from melmo.corpus.tokenized import LanguageSource
from melmo.data.heldout import HeldoutDataset, HeldoutOptions
from melmo.data.prepared import PreparedCorpus

UD = Path(__file__).resolve().parents[2] / "data" / "sample" / "ud"
LANGS = (("en", "en_ewt"), ("fi", "fi_tdt"), ("he", "he_htb"))


def _sources():
    return [LanguageSource(lang, [UD / lang / f"{tb}-ud-dev.conllu.xz"]) for lang, tb in LANGS]


def _opts(**kw):
    return PrepareOptions(
        **{"seed": 5, "vocab_size": 1500, "shard_tokens": 20_000, "workers": 1, "heldout_tokens": 900, **kw})


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _heldout_words(d: Path) -> dict[str, list[tuple[str, ...]]]:
    """Each language's held-out sentences as strings (ids differ between vocabularies)."""
    types = (d / "types.txt").read_text(encoding="utf-8").split("\n")[:-1]
    meta = json.loads((d / "metadata.json").read_text())
    out = {}
    for lang in meta["languages"]:
        toks = np.load(d / "heldout" / f"{lang}.tokens.npy")
        cuts = np.cumsum(np.load(d / "heldout" / f"{lang}.lengths.npy"))[:-1]
        out[lang] = [tuple(types[t] for t in s) for s in np.split(toks, cuts)]
    return out


SAMPLERS = {
    "alpha04": AlphaSampling(0.4, "alpha04"), "alpha02": AlphaSampling(0.2, "alpha02"),
    "trunc": AlphaSampling(0.0, "trunc"), "mono": MonoSampling("fi"),
    "unimax": UniMaxSampling(max_epochs=2, budget_fraction=0.5),
}


def test_heldout_sentences_identical_across_strategies(cache, tmp_path):
    held = {name: _heldout_words(prepare(_sources(), s, tmp_path, cache, _opts(), "ud"))
            for name, s in SAMPLERS.items()}
    ref = held["alpha04"]
    assert set(ref) == {"en", "fi", "he"}
    for lang, sents in ref.items():
        n = sum(len(s) for s in sents)
        assert 900 <= n < 900 + 200, (lang, n)  # sized in tokens: the budget, within one sentence
    for name, h in held.items():
        for lang in h:
            assert h[lang] == ref[lang], (name, lang)
    # and the training streams differ between strategies (the test compares something that could differ)
    metas = [json.loads((p / "metadata.json").read_text()) for p in tmp_path.glob("ud-*")
             if (p / "metadata.json").is_file()]
    assert len({json.dumps(m["target_tokens"], sort_keys=True) for m in metas}) == len(SAMPLERS)


def test_heldout_share_cap(cache, tmp_path):
    d = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path, cache,
                _opts(heldout_tokens=10**9, heldout_max_share=0.1), "ud")
    meta = json.loads((d / "metadata.json").read_text())
    for lang in meta["languages"]:
        held = meta["realised"][lang]["heldout_tokens"]
        total = meta["original_tokens"][lang]
        assert 0.1 * total <= held < 0.1 * total + 200, lang


def _conllu(sentences: list[list[str]]) -> str:
    out = []
    for i, words in enumerate(sentences):
        out.append(f"# sent_id = {i}")
        out += [f"{j + 1}\t{w}\t_\tX\t_\t_\t0\tdep\t_\t_" for j, w in enumerate(words)]
        out.append("")
    return "\n".join(out) + "\n"


def test_unk_tokens_on_a_corpus_with_a_known_unk_count(cache, tmp_path):
    # word w_k occurs 30 - k times (distinct frequencies: a fixed vocabulary rank); with
    # vocab_size 3 + 10 the words w_10 .. w_19 are <UNK>: sum over k = 10..19 of (30 - k) = 155 tokens.
    words = [f"w{k}" for k in range(20) for _ in range(30 - k)]
    rng = np.random.default_rng(0)
    rng.shuffle(words)
    sents = [words[i : i + 5] for i in range(0, len(words), 5)]
    for lang in ("en", "fi"):
        path = tmp_path / f"{lang}.conllu.xz"
        path.write_bytes(lzma.compress(_conllu(sents).encode()))
    srcs = [LanguageSource(lang, [tmp_path / f"{lang}.conllu.xz"]) for lang in ("en", "fi")]
    opts = PrepareOptions(seed=1, vocab_size=13, shard_tokens=100, workers=1, heldout_tokens=0)
    d = prepare(srcs, AlphaSampling(1.0, "full"), tmp_path / "out", cache, opts, "known")
    meta = json.loads((d / "metadata.json").read_text())
    for lang in ("en", "fi"):
        assert meta["realised"][lang]["tokens"] == len(words)
        assert meta["realised"][lang]["unk_tokens"] == 155, lang
    # and against the shards themselves: tokens whose string is outside vocab.txt, per language
    vocab = set((d / "vocab.txt").read_text().split("\n")[:-1]) - {"<UNK>"}
    types = (d / "types.txt").read_text().split("\n")[:-1]
    corpus = PreparedCorpus(d)
    for li, lang in enumerate(meta["languages"]):
        unk = 0
        for sh in corpus.shards:
            for i in np.flatnonzero(sh.langs == li):
                unk += sum(types[t] not in vocab for t in sh.sentence(int(i)))
        assert unk == meta["realised"][lang]["unk_tokens"] == 155


def test_unk_tokens_match_the_shards_of_a_real_corpus(cache, tmp_path):
    d = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path, cache, _opts(vocab_size=700), "ud")
    meta = json.loads((d / "metadata.json").read_text())
    vocab = set((d / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]) - {"<UNK>"}
    types = (d / "types.txt").read_text(encoding="utf-8").split("\n")[:-1]
    corpus = PreparedCorpus(d)
    for li, lang in enumerate(meta["languages"]):
        words = [types[t] for sh in corpus.shards for i in np.flatnonzero(sh.langs == li)
                 for t in sh.sentence(int(i))]
        unk = sum(w not in vocab for w in words)
        assert unk == meta["realised"][lang]["unk_tokens"] and unk > 0, lang
        held = [types[t] for t in corpus.heldout(lang).tokens]
        assert sum(w not in vocab for w in held) == meta["realised"][lang]["heldout_unk_tokens"] > 0


def _targets(d: Path) -> list[tuple[str, ...]]:
    """Every scored held-out target of a corpus, as strings, in scoring order."""
    corpus = PreparedCorpus(d)
    vocab = corpus.vocab
    out = []
    for batch in HeldoutDataset(
            corpus, HeldoutOptions(row_tokens=300, warmup_tokens=10, batch_rows=4, unroll_steps=20)):
        for dname in ("fwd", "bwd"):
            t = batch[f"{dname}_targets"]
            out.append(tuple(vocab[i] if i >= 0 else "-" for i in t.reshape(-1).tolist()))
    return out


def test_shared_vocabulary_gives_two_models_the_same_targets(cache, tmp_path):
    a = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path / "own", cache, _opts(vocab_size=700),
                "ud")
    b = prepare(_sources(), AlphaSampling(0.0, "trunc"), tmp_path / "own", cache, _opts(vocab_size=700), "ud")
    assert _targets(a) != _targets(b)  # own vocabularies: different <UNK>s, not comparable
    shared = str(a / "vocab.txt")
    a2 = prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path / "shared", cache,
                 _opts(vocab_size=700, vocab_file=shared), "ud")
    b2 = prepare(_sources(), AlphaSampling(0.0, "trunc"), tmp_path / "shared", cache,
                 _opts(vocab_size=700, vocab_file=str(a)), "ud")
    assert ((a2 / "vocab.txt").read_bytes() == (b2 / "vocab.txt").read_bytes()
            == (a / "vocab.txt").read_bytes())
    assert _targets(a2) == _targets(b2) == _targets(a)
    assert json.loads((b2 / "metadata.json").read_text())["vocab_file"]["sha256"]


def test_bad_shared_vocabulary(cache, tmp_path):
    bad = tmp_path / "vocab.txt"
    bad.write_text("a\nb\n")
    with pytest.raises(CorpusError, match=r"vocab\.txt: vocabulary lacks <S>, </S>, <UNK>"):
        prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path, cache, _opts(vocab_file=str(bad)), "ud")
    with pytest.raises(CorpusError,
                       match=r"missing\.txt: vocabulary file \(data\.prepare\.vocab_file\) not found"):
        prepare(_sources(), AlphaSampling(0.4, "alpha04"), tmp_path, cache,
                _opts(vocab_file=str(tmp_path / "missing.txt")), "ud")
