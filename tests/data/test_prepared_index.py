"""The compact stream index: sparse sentence starts and the bytes-backed type table."""

import numpy as np

from melmo.data import prepared
from melmo.data.prepared import PreparedCorpus, Shard, TypeTable


def test_sparse_index_gives_every_sentence_of_a_memmapped_shard(tmp_path, monkeypatch):
    monkeypatch.setattr(prepared, "_INDEX_CHUNK", 4 * prepared.INDEX_STRIDE)  # several build passes
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, size=1001).astype("<u4")  # not a multiple of the stride or the chunk
    tokens = np.arange(int(lengths.sum()), dtype="<u4")
    stem = tmp_path / "00000"
    np.save(f"{stem}.tokens.npy", tokens)
    np.save(f"{stem}.lengths.npy", lengths)
    np.save(f"{stem}.langs.npy", (np.arange(1001) % 3).astype("u1"))
    shard = Shard.load(stem)
    assert isinstance(shard.lengths, np.memmap) and isinstance(shard.langs, np.memmap)
    pos = 0  # brute force: walk the sentences in order
    for i, n in enumerate(lengths):
        assert shard.sentence(i).tolist() == list(range(pos, pos + int(n))), i
        pos += int(n)
    assert shard.index.nbytes == 8 * -(-1001 // prepared.INDEX_STRIDE)


def test_type_table_reads_types_txt_lines(tmp_path):
    words = ["<S>", "</S>", "<UNK>", "ä", "日本語", "x\u00a0y", "", "ok"]
    path = tmp_path / "types.txt"
    path.write_bytes("".join(w + "\n" for w in words).encode("utf-8"))
    table = TypeTable(path)
    assert len(table) == len(words)
    assert [table[i] for i in range(len(words))] == words
    assert table[2:5] == words[2:5] and list(table) == words and table[-1] == "ok"


def test_prepared_corpus_types_match_the_file(ud_corpus):
    corpus = PreparedCorpus(ud_corpus)
    lines = (ud_corpus / "types.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert list(corpus.types) == lines and corpus.vocab == lines[: corpus.vocab_size]


def test_char_ids_of_frequent_and_rare_types_are_their_spellings(ud_corpus):
    from melmo.model.chars import word_to_char_ids

    corpus = PreparedCorpus(ud_corpus)
    rng = np.random.default_rng(1)
    ids = np.concatenate(
        [rng.integers(0, corpus.vocab_size, 30), rng.integers(corpus.vocab_size, len(corpus.types), 30)])
    ids = np.concatenate([ids, ids[::-1]]).reshape(4, 30)  # repeats: the cache of rare spellings is used too
    for _ in range(2):
        got = corpus.char_ids(ids)
        assert got.shape == (4, 30, 50)
        for idx in np.ndindex(ids.shape):
            assert got[idx].tolist() == list(word_to_char_ids(corpus.types[int(ids[idx])], 50)), idx
