"""The vocabulary of a prepared corpus: the type table ranked by frequency in the sampled mixture, or a given
vocab.txt first (a shared vocabulary across a sweep; continued pre-training keeps a model's vocab.txt).

bilm-tf's vocab.txt holds one token per line; bilm-tf finds <S>, </S> and <UNK> by name, wherever
they are (bilm/data.py, Vocabulary). A prepared corpus puts them at ids 0, 1, 2
(melmo.data.prepared), so the given order is kept except that the three move to the front;
``source_rows`` maps the prepared order back to the file's rows (to carry a softmax over).
"""

from __future__ import annotations

from pathlib import Path

from melmo.corpus.readers import CorpusError
from melmo.utils.textfile import read_lines

# bilm-tf vocabulary order: the first three lines of vocab.txt (bilm/data.py)
SPECIALS = ("<S>", "</S>", "<UNK>")


def read_vocab_file(path: str | Path) -> list[str]:
    """The file's tokens in file order (``!!!MAXTERMID`` skipped, as bilm-tf does); one-line errors."""
    path = Path(path)
    lines = read_lines(path, "vocabulary file (data.prepare.vocab_file)", CorpusError)
    words = [w for w in (line.strip() for line in lines) if w and w != "!!!MAXTERMID"]
    seen: set[str] = set()
    for w in words:
        if w in seen:
            raise CorpusError(f"{path}: vocabulary token {w!r} appears twice")
        seen.add(w)
    missing = [s for s in SPECIALS if s not in seen]
    if missing:
        raise CorpusError(f"{path}: vocabulary lacks {', '.join(missing)} (a bilm-tf vocab.txt holds <S>, "
                          "</S>, <UNK>)")
    if len(words) == len(SPECIALS):
        raise CorpusError(f"{path}: vocabulary holds only the special tokens")
    return words


def prepared_order(words: list[str]) -> list[str]:
    """<S>, </S>, <UNK>, then the other tokens in the file's order."""
    return list(SPECIALS) + [w for w in words if w not in SPECIALS]


def source_rows(words: list[str]) -> list[int]:
    """Row of the file (and of a softmax stored with it) for each id of ``prepared_order(words)``."""
    index = {w: i for i, w in enumerate(words)}
    return [index[w] for w in prepared_order(words)]


def vocab_path(path: str | Path) -> Path:
    """A given vocabulary: a vocab.txt, or a prepared corpus's directory (its vocab.txt)."""
    path = Path(path)
    return path / "vocab.txt" if path.is_dir() else path


def corpus_types(ranked: list[str], given: list[str] | None, held_types, max_types: int,
                 vocab_size: int) -> tuple[list[str], int]:
    """(types, vocabulary size): the type table of a prepared corpus, whose first ``vocab_size`` entries
    are the softmax vocabulary.

    ``ranked``: the sampled mixture's types by descending frequency; ``given``: a given vocabulary (its
    tokens first, specials at 0, 1, 2) or None; ``held_types``: the held-out words, appended after every
    training type (so <UNK> for the softmax) but spelled as written for the character CNN.
    """
    if given is None:
        types = list(SPECIALS) + [t for t in ranked if t not in SPECIALS][:max_types]
        vocab_size = min(vocab_size, len(types))
    else:
        types = prepared_order(given)
        known = set(types)
        types += [t for t in ranked if t not in known][:max_types]
        vocab_size = len(given)
    seen = set(types)
    for t in held_types:
        if t not in seen:
            seen.add(t)
            types.append(t)
    return types, vocab_size
