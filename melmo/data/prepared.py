"""Read-only view of a prepared corpus directory (written by melmo.corpus.prepare).

Shards are .npy files opened as memmaps (tokens, lengths and languages alike) and read sentence by
sentence with pread(2), so a multi-billion-token stream costs no process memory (the page cache
holds the files, once for all ranks); a shard's sentence index
is a sparse table of one int64 start per ``INDEX_STRIDE`` sentences, built on first use (a 1B-token
corpus of ~40M sentences: ~5 MB, instead of 480 MB of full offsets + lengths + languages in RAM).
``types.txt`` is held as its UTF-8 bytes plus uint32/64 line starts (``TypeTable``), not as a list
of Python strings (~70 bytes per type). Character ids for the most frequent types come from one
table built once; rarer types are spelled on demand (bilm-tf gives every word its full spelling,
bilm-tf bilm/training.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from melmo.corpus.readers import CorpusError

BOS_ID, EOS_ID, UNK_ID = 0, 1, 2  # vocab.txt starts <S>, </S>, <UNK> (bilm-tf bilm/data.py Vocabulary)
INDEX_STRIDE = 64  # sentences per sparse index entry: a lookup sums at most 63 lengths
_INDEX_CHUNK = 1 << 20  # lengths read per pass while building the index (4 MB)
_FDS: dict[str, int] = {}  # open read-only descriptors of shard files, by path (pread needs no shared offset)


@dataclass
class Shard:
    """Sentences stored back to back: sentence i is ``tokens[start(i) : start(i) + lengths[i]]``."""

    tokens: np.ndarray  # (n_tokens,) uint32 type ids (memmap)
    lengths: np.ndarray  # (n_sentences,) uint32 (memmap)
    langs: np.ndarray  # (n_sentences,) uint8, index into metadata["languages"] (memmap)
    # (ceil(n / INDEX_STRIDE),) int64 start of every INDEX_STRIDE-th sentence
    _index: np.ndarray | None = None

    @property
    def index(self) -> np.ndarray:
        """Start of sentences 0, S, 2S, ... (S = INDEX_STRIDE), built in bounded chunks on first use."""
        if self._index is None:
            n = len(self.lengths)
            index = np.empty(-(-n // INDEX_STRIDE), np.int64)
            total = 0
            for a in range(0, n, _INDEX_CHUNK):  # _INDEX_CHUNK is a multiple of INDEX_STRIDE
                chunk = self._read_lengths(a, min(n, a + _INDEX_CHUNK)).astype(np.int64)
                ends = np.cumsum(chunk)
                starts = total + np.concatenate([[0], ends[:-1]])
                index[a // INDEX_STRIDE : (a + len(chunk) - 1) // INDEX_STRIDE + 1] = starts[::INDEX_STRIDE]
                total += int(ends[-1])
            self._index = index
        return self._index

    def _read(self, array: np.ndarray, a: int, b: int) -> np.ndarray:
        """array[a:b] read with pread(2) when ``array`` is a file memmap: nothing of the file becomes
        resident in this process (a map would keep every touched page, and the kernel maps ~64 KB
        around each, in its RSS); the page cache holds the file once for all ranks."""
        if isinstance(array, np.memmap) and array.filename:
            fd = _FDS.get(array.filename)
            if fd is None:
                fd = _FDS[array.filename] = os.open(array.filename, os.O_RDONLY)
            item = array.dtype.itemsize
            return np.frombuffer(os.pread(fd, (b - a) * item, array.offset + a * item), dtype=array.dtype)
        return np.asarray(array[a:b])

    def _read_lengths(self, a: int, b: int) -> np.ndarray:
        return self._read(self.lengths, a, b)

    def start(self, i: int) -> int:
        block = i // INDEX_STRIDE
        first = block * INDEX_STRIDE
        within = int(self._read_lengths(first, i).sum(dtype=np.int64)) if i > first else 0
        return int(self.index[block]) + within

    def lang(self, i: int) -> int:
        return int(self._read(self.langs, i, i + 1)[0])

    @property
    def offsets(self) -> np.ndarray:
        """(n_sentences,) int64 start of every sentence (the whole array: for tests and small shards)."""
        if not len(self.lengths):
            return np.zeros(0, np.int64)
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)[:-1]])

    def sentence(self, i: int) -> np.ndarray:
        """(lengths[i],) uint32 type ids of sentence ``i`` (two small reads: its index block's lengths, its
        tokens)."""
        block = i // INDEX_STRIDE
        lengths = self._read_lengths(block * INDEX_STRIDE, i + 1).astype(np.int64)
        start = int(self.index[block]) + int(lengths[:-1].sum())
        return self._read(self.tokens, start, start + int(lengths[-1]))

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def load(cls, stem: Path) -> Shard:
        try:
            return cls(
                np.load(f"{stem}.tokens.npy", mmap_mode="r"),
                np.load(f"{stem}.lengths.npy", mmap_mode="r"),
                np.load(f"{stem}.langs.npy", mmap_mode="r"),
            )
        except (OSError, ValueError) as err:
            raise CorpusError(f"{stem}.*.npy: cannot read prepared shard ({err})") from None


class TypeTable:
    """The lines of ``types.txt`` as one bytes buffer and line starts: ``table[i]`` -> str, slices -> list."""

    def __init__(self, path: Path):
        try:
            self._data = path.read_bytes()
        except OSError as err:
            raise CorpusError(f"{path}: cannot read the type list ({err.strerror})") from None
        ends = np.flatnonzero(np.frombuffer(self._data, np.uint8) == 10)  # one type per "\n"-terminated line
        dtype = np.uint32 if len(self._data) < (1 << 32) else np.uint64
        self._starts = np.concatenate([[0], ends + 1]).astype(dtype)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            a, b, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(a, b, step)]
            if a >= b:
                return []
            return self._data[int(self._starts[a]) : int(self._starts[b]) - 1].decode("utf-8").split("\n")
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"type id {i} out of range ({len(self)} types)")
        return self._data[int(self._starts[i]) : int(self._starts[i + 1]) - 1].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


class PreparedCorpus:
    """``metadata``, ``vocab`` (softmax classes), ``types`` (every stored id) and the shards."""

    def __init__(self, directory: str | Path, max_chars: int = 50):
        self.directory = Path(directory)
        meta_path = self.directory / "metadata.json"
        if not meta_path.is_file():
            raise CorpusError(f"{meta_path}: not a prepared corpus (run python -m melmo.corpus prepare)")
        self.metadata = json.loads(meta_path.read_text())
        self.languages: list[str] = self.metadata["languages"]
        self.types = TypeTable(self.directory / "types.txt")
        self.vocab_size = self.metadata["vocab_size"]
        self.max_chars = max_chars
        self.shards = [Shard.load(self.directory / "shards" / name) for name in self.metadata["shards"]]
        self._char_table: np.ndarray | None = None
        self._char_cache: dict[int, np.ndarray] = {}
        self._remap: np.ndarray | None = None

    @property
    def vocab(self) -> list[str]:
        return list(self.types[: self.vocab_size])

    def heldout(self, lang: str) -> Shard:
        return Shard.load(self.directory / "heldout" / lang)

    def targets(self, ids: np.ndarray) -> np.ndarray:
        """Softmax targets: ids past the vocabulary become <UNK> (their spelling is kept as input)."""
        if self._remap is not None:
            return self._remap[ids]
        return np.where(ids < self.vocab_size, ids, UNK_ID).astype(np.int64)

    def use_vocab(self, vocab: list[str]) -> None:
        """Score against another vocabulary (a model's own vocab.txt): targets become its ids."""
        index = {w: i for i, w in enumerate(vocab)}
        self._remap = np.fromiter((index.get(t, UNK_ID) for t in self.types), dtype=np.int64,
                                  count=len(self.types))

    def char_ids(self, ids: np.ndarray) -> np.ndarray:
        """ELMo character ids (+1 convention) of type ids: shape ids.shape + (max_chars,)."""
        from melmo.model.chars import words_to_char_array

        if self._char_table is None:
            self._char_table = np.asarray(words_to_char_array(self.vocab, self.max_chars), dtype=np.int16)
        flat = np.asarray(ids).reshape(-1)
        out = np.empty((len(flat), self.max_chars), dtype=np.int64)
        known = flat < len(self._char_table)
        out[known] = self._char_table[flat[known]]
        rare = np.flatnonzero(~known)
        if len(rare):
            if len(self._char_cache) > 50_000:  # bound the cache of rare spellings (~10 MB)
                self._char_cache.clear()
            new = [int(t) for t in np.unique(flat[rare]) if int(t) not in self._char_cache]
            if new:  # spelled together: one call for all of this batch's new rare types
                rows = np.asarray(words_to_char_array([self.types[t] for t in new], self.max_chars),
                                  dtype=np.int16)
                self._char_cache.update(zip(new, rows))
            out[rare] = np.stack([self._char_cache[int(t)] for t in flat[rare]])
        return out.reshape(*np.shape(ids), self.max_chars)
