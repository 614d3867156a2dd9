"""Dependency trees of a CoNLL-U file (syntactic words only) and the writer of predicted trees.

Syntactic words are the lines with an integer ID: multiword-token ranges (``1-2``) and empty nodes
(``1.1``) are skipped, as the CoNLL 2018 scorer does for UAS/LAS/UPOS. Files may be .gz or .xz.
Bad input raises ``TreebankError`` with one line naming the file and line: a row without 10
columns, a non-integer or out-of-range HEAD, a cycle, a sentence with no or several roots.
"""

from __future__ import annotations

import gzip
import lzma
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


class TreebankError(ValueError):
    """A CoNLL-U file that cannot be scored or used (one-line message naming file and line)."""


@dataclass
class Sentence:
    """One sentence's syntactic words; ``line`` is the 1-based line of each word in the file."""

    forms: list[str] = field(default_factory=list)
    upos: list[str] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    deprels: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def open_text(path: Path, mode: str = "rt"):
    path = Path(path)
    opener = lzma.open if path.name.endswith(".xz") else gzip.open if path.name.endswith(".gz") else open
    return opener(path, mode, encoding="utf-8", newline="")


def _check_tree(path: Path, sent: Sentence) -> None:
    n = len(sent.heads)
    for k, h in enumerate(sent.heads):
        if not 0 <= h <= n:
            raise TreebankError(f"{path}:{sent.lines[k]}: HEAD {h} points outside the sentence of {n} words")
    roots = [k for k, h in enumerate(sent.heads) if h == 0]
    if len(roots) != 1:
        what = "no root" if not roots else f"{len(roots)} roots (line {sent.lines[roots[1]]} is the second)"
        raise TreebankError(f"{path}:{sent.lines[0]}: sentence has {what}")
    state = [0] * (n + 1)  # 0 unseen, 1 on the current path, 2 reaches ROOT
    state[0] = 2
    for start in range(1, n + 1):
        path_, v = [], start
        while state[v] == 0:
            state[v] = 1
            path_.append(v)
            v = sent.heads[v - 1]
        if state[v] == 1:
            raise TreebankError(f"{path}:{sent.lines[v - 1]}: HEAD cycle through word {v}")
        for u in path_:
            state[u] = 2


def read_trees(path: Path, check_trees: bool = True) -> list[Sentence]:
    """Sentences of ``path`` (every sentence is checked to be a tree unless ``check_trees`` is False)."""
    path = Path(path)
    sents: list[Sentence] = []
    cur = Sentence()
    try:
        with open_text(path) as fh:
            lineno = 0
            for lineno, raw in enumerate(fh, 1):
                line = raw.rstrip("\r\n")
                if not line:
                    if cur.forms:
                        sents.append(cur)
                    cur = Sentence()
                    continue
                if line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 10:
                    raise TreebankError(f"{path}:{lineno}: expected 10 tab-separated columns, got {len(cols)}")
                if "-" in cols[0] or "." in cols[0]:
                    continue  # multiword-token range or empty node
                if not cols[0].isdigit() or int(cols[0]) != len(cur.forms) + 1:
                    raise TreebankError(f"{path}:{lineno}: word ID {cols[0]!r}, expected {len(cur.forms) + 1}")
                try:
                    head = int(cols[6])
                except ValueError:
                    raise TreebankError(f"{path}:{lineno}: HEAD {cols[6]!r} is not an integer") from None
                cur.forms.append(cols[1])
                cur.upos.append(cols[3])
                cur.heads.append(head)
                cur.deprels.append(cols[7])
                cur.lines.append(lineno)
    except (UnicodeDecodeError, EOFError, lzma.LZMAError, gzip.BadGzipFile) as err:
        raise TreebankError(f"{path}: cannot read: {err}") from None
    if cur.forms:
        sents.append(cur)
    if check_trees:
        for sent in sents:
            _check_tree(path, sent)
    return sents


def write_predictions(gold_path: Path, out_path: Path, heads: list[list[int]], deprels: list[list[str]]) -> None:
    """Copy ``gold_path`` to ``out_path`` (plain CoNLL-U, written atomically) with HEAD and DEPREL of
    every syntactic word replaced by ``heads[s][w]`` / ``deprels[s][w]``; comments, multiword-token
    ranges, empty nodes and every other column are the gold file's."""
    gold_path, out_path = Path(gold_path), Path(out_path)
    sents = read_trees(gold_path, check_trees=False)
    if len(heads) != len(sents) or len(deprels) != len(sents):
        raise TreebankError(f"{gold_path}: {len(sents)} sentences, got predictions for {len(heads)}/{len(deprels)}")
    for k, s in enumerate(sents):
        if len(heads[k]) != len(s.forms) or len(deprels[k]) != len(s.forms):
            raise TreebankError(f"{gold_path}:{s.lines[0]}: sentence {k} has {len(s.forms)} words, "
                                f"got {len(heads[k])} heads and {len(deprels[k])} relations")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, open_text(gold_path) as fh:
            k, w = 0, 0
            for raw in fh:
                line = raw.rstrip("\r\n")
                cols = line.split("\t")
                if not line:
                    if w:
                        k, w = k + 1, 0
                elif not line.startswith("#") and "-" not in cols[0] and "." not in cols[0]:
                    cols[6], cols[7] = str(int(heads[k][w])), deprels[k][w]
                    line = "\t".join(cols)
                    w += 1
                out.write(line + "\n")
            if w:
                out.write("\n")  # gold file without its final blank line
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prediction_items(gold: list[Sentence], heads: list[list[int]], deprels: list[list[str]]) -> list[tuple]:
    """Per-item rows ``(item, gold, prediction)`` of the shared predictions format: item
    ``<sentence index>:<word index>`` (0-based sentence, 1-based word), values ``<head>|<deprel>``."""
    rows = []
    for k, s in enumerate(gold):
        for w in range(len(s.forms)):
            rows.append((f"{k}:{w + 1}", f"{s.heads[w]}|{s.deprels[w]}", f"{heads[k][w]}|{deprels[k][w]}"))
    return rows
