"""ELMo character ids: every token becomes ``max_chars`` integers (bilm-tf bilm/data.py
UnicodeCharsVocabulary; AllenNLP elmo_indexer.py ELMoCharacterMapper).

A token is spelled as its UTF-8 bytes (unencodable code points dropped, at most ``max_chars - 2``
bytes kept -- truncation is byte-wise), framed by begin/end-of-word markers and padded with the
in-token padding char. Ids here follow the *inference* convention: every raw id is shifted by +1
so that 0 can mean "no token at this position" (a whole row of zeros in a batch).

    word_to_char_ids("Second")  -> [259, 84, 102, 100, 112, 111, 101, 260, 261, 261, ...]
    batch_to_ids([["a", "b"], ["c"]]) -> LongTensor (2, 2, 50); row 1 position 1 is all zeros

The literal tokens ``<S>`` and ``</S>`` are the sentence boundaries (bilm-tf and AllenNLP both map
them to the BOS/EOS rows). ``batch_to_ids`` adds no boundaries: the encoder inserts them
(AllenNLP convention, bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
ELMoCharacterMapper).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from melmo.errors import ConfigError

# Raw (training) alphabet of 261 symbols: bytes 0..255 then five markers (bilm-tf bilm/data.py
# UnicodeCharsVocabulary; AllenNLP elmo_indexer.py ELMoCharacterMapper).
BOS_CHAR = 256  # beginning of sentence
EOS_CHAR = 257  # end of sentence
BOW_CHAR = 258  # beginning of word
EOW_CHAR = 259  # end of word
PAD_CHAR = 260  # padding inside a token
# bilm-tf training n_characters (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
# ELMoCharacterMapper)
N_CHARACTERS_TRAIN = 261
# inference n_characters: the 261 raw ids shifted by +1, plus 0 (bilm-tf bilm/data.py UnicodeCharsVocabulary;
# AllenNLP elmo_indexer.py ELMoCharacterMapper)
N_CHARACTERS = 262
# inference ids = raw ids + 1; 0 marks a padding position (bilm-tf bilm/data.py UnicodeCharsVocabulary;
# AllenNLP elmo_indexer.py ELMoCharacterMapper)
OFFSET = 1
MAX_CHARS = 50  # bilm-tf/AllenNLP default max_characters_per_token (bilm-tf bin/train_elmo.py options)

# literal sentence-boundary tokens (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
# ELMoCharacterMapper)
BOS_TOKEN = "<S>"
EOS_TOKEN = "</S>"


def _check_max_chars(max_chars: int) -> None:
    # BOW + marker + EOW is the shortest spelling (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP
    # elmo_indexer.py ELMoCharacterMapper)
    if max_chars < 3:
        raise ConfigError(f"max_chars must be at least 3, got {max_chars}")


def _boundary_row(marker: int, max_chars: int) -> list[int]:
    raw = [BOW_CHAR, marker, EOW_CHAR] + [PAD_CHAR] * (max_chars - 3)
    return [r + OFFSET for r in raw]


def word_to_char_ids(word: str, max_chars: int = MAX_CHARS) -> list[int]:
    """Char ids (+1 convention) of one token: a list of ``max_chars`` ints in 1..261."""
    _check_max_chars(max_chars)
    if word == BOS_TOKEN:
        return _boundary_row(BOS_CHAR, max_chars)
    if word == EOS_TOKEN:
        return _boundary_row(EOS_CHAR, max_chars)
    # byte-wise cut to C-2 (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
    # ELMoCharacterMapper)
    data = word.encode("utf-8", "ignore")[: max_chars - 2]
    raw = [BOW_CHAR, *data, EOW_CHAR] + [PAD_CHAR] * (max_chars - 2 - len(data))
    return [r + OFFSET for r in raw]


def bos_char_ids(max_chars: int = MAX_CHARS) -> list[int]:
    """The BOS row (+1 convention): [259, 257, 260, 261, ...]."""
    return word_to_char_ids(BOS_TOKEN, max_chars)


def eos_char_ids(max_chars: int = MAX_CHARS) -> list[int]:
    """The EOS row (+1 convention): [259, 258, 260, 261, ...]."""
    return word_to_char_ids(EOS_TOKEN, max_chars)


def words_to_char_array(words: Iterable[str], max_chars: int = MAX_CHARS) -> np.ndarray:
    """Char ids (+1 convention) of many tokens at once: int16 array (N, max_chars).

    Vectorised (one bytes join, no per-character Python loop): suited to building a lookup table
    for a whole vocabulary. Row k equals ``word_to_char_ids(words[k], max_chars)``.
    """
    _check_max_chars(max_chars)
    words = list(words)
    n = len(words)
    spelled = [w.encode("utf-8", "ignore")[: max_chars - 2] for w in words]
    lengths = np.fromiter(map(len, spelled), dtype=np.int64, count=n)
    flat = np.frombuffer(b"".join(spelled), dtype=np.uint8)

    out = np.full((n, max_chars), PAD_CHAR + OFFSET, dtype=np.int16)
    out[:, 0] = BOW_CHAR + OFFSET
    rows = np.repeat(np.arange(n), lengths)
    starts = np.cumsum(lengths) - lengths
    cols = 1 + np.arange(len(flat)) - np.repeat(starts, lengths)
    out[rows, cols] = flat.astype(np.int16) + OFFSET
    out[np.arange(n), lengths + 1] = EOW_CHAR + OFFSET

    for marker, token in ((BOS_CHAR, BOS_TOKEN), (EOS_CHAR, EOS_TOKEN)):
        hits = [k for k, w in enumerate(words) if w == token]
        if hits:
            out[hits] = _boundary_row(marker, max_chars)
    return out


def batch_to_ids(sentences: list[list[str]], max_chars: int = MAX_CHARS) -> torch.LongTensor:
    """Char ids of a batch of tokenised sentences: LongTensor (B, T, max_chars), T = longest
    sentence; positions past a sentence's end are rows of zeros. No BOS/EOS added."""
    lengths = [len(s) for s in sentences]
    T = max(lengths, default=0)
    out = torch.zeros(len(sentences), T, max_chars, dtype=torch.long)
    flat = [w for s in sentences for w in s]
    if flat:
        ids = torch.from_numpy(words_to_char_array(flat, max_chars).astype(np.int64))
        mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
        out[mask] = ids  # row-major order of mask matches the flattening order
    return out


def is_truncated(word: str, max_chars: int = MAX_CHARS) -> bool:
    """True when the token's UTF-8 spelling is longer than ``max_chars - 2`` bytes and gets cut."""
    if word in (BOS_TOKEN, EOS_TOKEN):
        return False
    # BOW/EOW take 2 slots (bilm-tf bilm/data.py UnicodeCharsVocabulary; AllenNLP elmo_indexer.py
    # ELMoCharacterMapper)
    return len(word.encode("utf-8", "ignore")) > max_chars - 2


def count_truncated(words: Iterable[str], max_chars: int = MAX_CHARS) -> int:
    """How many of ``words`` are cut by the byte limit (for corpus-preparation reports)."""
    return sum(is_truncated(w, max_chars) for w in words)
