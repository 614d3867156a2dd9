"""Read-only view of a prepared corpus directory (written by melmo.corpus.prepare).

Shards are numpy arrays opened as memmaps, so a multi-billion-token stream costs no memory
beyond the pages being read. Character ids for the most frequent types come from one table built
once; rarer types are spelled on demand (bilm-tf gives every word its full spelling, elmo-spec §7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from melmo.corpus.readers import CorpusError

BOS_ID, EOS_ID, UNK_ID = 0, 1, 2  # vocab.txt starts <S>, </S>, <UNK> (bilm-tf, elmo-spec §7)


@dataclass
class Shard:
    """Sentences stored back to back: ``tokens[offsets[i]:offsets[i] + lengths[i]]``."""

    tokens: np.ndarray  # (n_tokens,) uint32 type ids
    lengths: np.ndarray  # (n_sentences,) uint32
    langs: np.ndarray  # (n_sentences,) uint8, index into metadata["languages"]

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.lengths, dtype=np.int64)[:-1]]) if len(self.lengths) else np.zeros(0, np.int64)

    def sentence(self, i: int) -> np.ndarray:
        start = int(self.offsets[i])
        return np.asarray(self.tokens[start : start + int(self.lengths[i])])

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def load(cls, stem: Path) -> "Shard":
        try:
            return cls(
                np.load(f"{stem}.tokens.npy", mmap_mode="r"),
                np.load(f"{stem}.lengths.npy"),
                np.load(f"{stem}.langs.npy"),
            )
        except (OSError, ValueError) as err:
            raise CorpusError(f"{stem}.*.npy: cannot read prepared shard ({err})") from None


class PreparedCorpus:
    """``metadata``, ``vocab`` (softmax classes), ``types`` (every stored id) and the shards."""

    def __init__(self, directory: str | Path, max_chars: int = 50):
        self.directory = Path(directory)
        meta_path = self.directory / "metadata.json"
        if not meta_path.is_file():
            raise CorpusError(f"{meta_path}: not a prepared corpus (run python -m melmo.corpus prepare)")
        self.metadata = json.loads(meta_path.read_text())
        self.languages: list[str] = self.metadata["languages"]
        self.types = (self.directory / "types.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self.vocab_size = self.metadata["vocab_size"]
        self.max_chars = max_chars
        self.shards = [Shard.load(self.directory / "shards" / name) for name in self.metadata["shards"]]
        self._char_table: np.ndarray | None = None
        self._char_cache: dict[int, np.ndarray] = {}
        self._remap: np.ndarray | None = None

    @property
    def vocab(self) -> list[str]:
        return self.types[: self.vocab_size]

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
        self._remap = np.fromiter((index.get(t, UNK_ID) for t in self.types), dtype=np.int64, count=len(self.types))

    def char_ids(self, ids: np.ndarray) -> np.ndarray:
        """ELMo character ids (+1 convention) of type ids: shape ids.shape + (max_chars,)."""
        from melmo.model.chars import words_to_char_array

        if self._char_table is None:
            self._char_table = np.asarray(words_to_char_array(self.vocab, self.max_chars), dtype=np.int16)
        flat = np.asarray(ids).reshape(-1)
        out = np.empty((len(flat), self.max_chars), dtype=np.int64)
        known = flat < len(self._char_table)
        out[known] = self._char_table[flat[known]]
        for j in np.flatnonzero(~known):
            t = int(flat[j])
            row = self._char_cache.get(t)
            if row is None:
                if len(self._char_cache) > 200_000:  # bound the cache of rare spellings
                    self._char_cache.clear()
                row = self._char_cache[t] = np.asarray(words_to_char_array([self.types[t]], self.max_chars)[0])
            out[j] = row
        return out.reshape(*np.shape(ids), self.max_chars)
