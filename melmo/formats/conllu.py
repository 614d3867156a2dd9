"""The one CoNLL-U reader (UD v2 format, universaldependencies.org/format.html), in two views of one grammar
(the ID patterns below): whole sentences, strictly checked, for the tasks; and the FORM column alone,
streamed, for corpus preparation (the CoNLL 2017 dumps are gigabytes).

    sents = read_conllu(path, check_trees=True)  # list[Sentence]; .xz / .gz read directly
    for forms in iter_conllu_forms(path): ...    # list[str] per sentence: its syntactic words' FORMs
    s.words      # syntactic words (integer IDs): id, form, lemma, upos, xpos, feats, head, deprel, deps,
                 # misc, line
    s.tokens     # surface tokens: a multiword token's range (first..last word id) or one word
    s.empty      # number of empty nodes (decimal IDs), skipped like the CoNLL 2018 scorer skips them
    s.raw        # the sentence's lines as read (comments, ranges, empty nodes): write_sentences copies them
    s.forms, s.heads, s.deprels, s.upos_tags, s.lines   # per-word columns

Bad input raises ConlluError with one line ``file:line: problem``. ``iter_conllu_forms`` checks the columns
and IDs it reads (empty FORM, bad ID, not 10 columns; invalid UTF-8 with its byte offset).
``read_conllu`` checks everything: a line without 10 tab-separated
columns, a malformed or out-of-sequence ID, a multiword range that does not cover the next words,
a HEAD that is not a word of the sentence, (``check_upos``) a UPOS outside the 17 UD tags, or
(``check_trees``, for parsing) a missing HEAD, no or several roots, or a HEAD cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from melmo.errors import FormatError
from melmo.formats.files import READ_ERRORS, open_text
from melmo.formats.text import iter_blocks, split_lines
from melmo.utils.atomic import write_atomic

# The 17 universal POS tags (universaldependencies.org/u/pos/)
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
             "PUNCT", "SCONJ", "SYM", "VERB", "X")
UPOS_INDEX = {t: i for i, t in enumerate(UPOS_TAGS)}

_INT = re.compile(r"[1-9][0-9]*\Z")
_RANGE = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)\Z")
_EMPTY = re.compile(r"(0|[1-9][0-9]*)\.([1-9][0-9]*)\Z")


class ConlluError(FormatError):
    """A malformed CoNLL-U file (message: ``file:line: problem``)."""


@dataclass
class Word:
    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    head: int | None  # None when the file has "_"
    deprel: str
    deps: str
    misc: str
    line: int


@dataclass
class Token:
    first: int  # word ids covered, inclusive (first == last for a plain word)
    last: int
    form: str


@dataclass
class Sentence:
    words: list[Word] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    empty: int = 0
    line: int = 0  # first line of the sentence
    raw: list[str] = field(default_factory=list)

    @property
    def forms(self) -> list[str]:
        return [w.form for w in self.words]

    @property
    def upos_tags(self) -> list[str]:
        return [w.upos for w in self.words]

    @property
    def heads(self) -> list[int | None]:
        return [w.head for w in self.words]

    @property
    def deprels(self) -> list[str]:
        return [w.deprel for w in self.words]

    @property
    def lines(self) -> list[int]:
        return [w.line for w in self.words]

    @property
    def text(self) -> str | None:
        for c in self.comments:
            if c.startswith("# text = "):
                return c[len("# text = "):]
        return None


def check_tree(path, s: Sentence) -> None:
    """A dependency tree: every HEAD given, exactly one word on ROOT, every word reaches ROOT."""
    n = len(s.words)
    for w in s.words:
        if w.head is None:
            raise ConlluError(f"{path}:{w.line}: HEAD '_' (a tree needs every head)")
    roots = [w for w in s.words if w.head == 0]
    if len(roots) != 1:
        what = "no root" if not roots else f"{len(roots)} roots (line {roots[1].line} is the second)"
        raise ConlluError(f"{path}:{s.words[0].line}: sentence has {what}")
    state = [0] * (n + 1)  # 0 unseen, 1 on the current path, 2 reaches ROOT
    state[0] = 2
    for start in range(1, n + 1):
        trail, v = [], start
        while state[v] == 0:
            state[v] = 1
            trail.append(v)
            v = s.words[v - 1].head
        if state[v] == 1:
            raise ConlluError(f"{path}:{s.words[v - 1].line}: HEAD cycle through word {v}")
        for u in trail:
            state[u] = 2


def read_conllu(path: str | Path, check_upos: bool = True, check_trees: bool = False) -> list[Sentence]:
    path = Path(path)
    if not path.is_file():
        raise ConlluError(f"{path}: no such CoNLL-U file")
    sents: list[Sentence] = []
    cur = Sentence()
    pending_range: tuple[int, int] | None = None

    def fail(n: int, msg: str):
        raise ConlluError(f"{path}:{n}: {msg}")

    def close(n: int):
        nonlocal cur, pending_range
        if cur.words:
            if pending_range is not None:
                fail(n, f"multiword token {pending_range[0]}-{pending_range[1]} runs past the end of "
                        "the sentence")
            for w in cur.words:
                if w.head is not None and w.head > len(cur.words):
                    fail(w.line, f"HEAD {w.head} is not a word of this sentence ({len(cur.words)} words)")
            if check_trees:
                check_tree(path, cur)
            sents.append(cur)
        elif cur.comments or cur.empty:
            fail(n, "sentence without words")
        cur, pending_range = Sentence(), None

    try:
        with open_text(path) as fh:
            n = 0
            for n, raw in enumerate(fh, 1):
                line = raw.rstrip("\n").rstrip("\r")
                if not line.strip():
                    close(n)
                    continue
                if not cur.words and not cur.comments and not cur.empty:
                    cur.line = n
                cur.raw.append(line)
                if line.startswith("#"):
                    if cur.words:
                        fail(n, "comment line inside a sentence")
                    cur.comments.append(line)
                    continue
                cols = line.split("\t")
                if len(cols) != 10:
                    fail(n, f"expected 10 tab-separated columns, found {len(cols)}")
                id_ = cols[0]
                if _EMPTY.match(id_):
                    cur.empty += 1
                    continue
                m = _RANGE.match(id_)
                expected = len(cur.words) + 1
                if m:
                    a, b = int(m.group(1)), int(m.group(2))
                    if a != expected or b <= a or pending_range is not None:
                        fail(n, f"multiword token range {id_} does not start at the next word ({expected})")
                    pending_range = (a, b)
                    cur.tokens.append(Token(a, b, cols[1]))
                    continue
                if not _INT.match(id_):
                    fail(n, f"malformed ID {id_!r}")
                if int(id_) != expected:
                    fail(n, f"word ID {id_} out of sequence (expected {expected})")
                upos = cols[3]
                if check_upos and upos not in UPOS_INDEX:
                    fail(n, f"UPOS {upos!r} is not one of the 17 universal tags")
                head_s = cols[6]
                if head_s == "_":
                    head = None
                elif head_s == "0" or _INT.match(head_s):
                    head = int(head_s)
                else:
                    fail(n, f"malformed HEAD {head_s!r}")
                cur.words.append(Word(int(id_), cols[1], cols[2], upos, cols[4], cols[5], head, cols[7],
                                      cols[8], cols[9], n))
                if pending_range is None:
                    cur.tokens.append(Token(int(id_), int(id_), cols[1]))
                elif int(id_) == pending_range[1]:
                    pending_range = None
            close(n + 1)
    except UnicodeDecodeError as e:
        raise ConlluError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except READ_ERRORS as e:
        raise ConlluError(f"{path}: unreadable ({' '.join(str(e).split())})") from None
    if not sents:
        raise ConlluError(f"{path}: no sentences")
    return sents


def write_conllu(path: str | Path, sentences: list[Sentence], heads: list[list[int]] | None = None,
                 deprels: list[list[str]] | None = None) -> Path:
    """Write ``sentences`` as read (their ``raw`` lines), atomically (temporary file, then rename), with
    HEAD and DEPREL of every syntactic word replaced by ``heads[k][w]`` / ``deprels[k][w]`` when given;
    comments, multiword-token ranges, empty nodes and the other columns are kept."""
    path = Path(path)
    for name, given in (("heads", heads), ("deprels", deprels)):
        if given is None:
            continue
        if len(given) != len(sentences):
            raise ConlluError(f"{path}: {len(sentences)} sentences, got {name} for {len(given)}")
        for k, s in enumerate(sentences):
            if len(given[k]) != len(s.words):
                raise ConlluError(f"{path}: sentence {k} (line {s.line}) has {len(s.words)} words, got "
                                  f"{len(given[k])} {name}")
    out = []
    for k, s in enumerate(sentences):
        w = 0
        for line in s.raw:
            cols = line.split("\t")
            if not line.startswith("#") and _INT.match(cols[0]):
                if heads is not None:
                    cols[6] = str(int(heads[k][w]))
                if deprels is not None:
                    cols[7] = deprels[k][w]
                line = "\t".join(cols)
                w += 1
            out.append(line)
        out.append("")
    return write_atomic(path, "\n".join(out) + "\n")


def iter_conllu_forms(path: str | Path) -> Iterator[list[str]]:
    """The FORM column of each sentence, streamed; multiword ranges (``1-2``) and empty nodes (``1.1``)
    are skipped, so a sentence is its syntactic words (as the CoNLL 2017 dumps are tokenized). A space
    inside a FORM becomes U+00A0 (a token never contains a space in the prepared corpus).
    (Whole-block regular expressions were tried: 3x slower than this loop, as ``^`` in MULTILINE
    mode is tried at every character.)"""
    path = Path(path)
    words: list[str] = []
    lineno = 0
    for text in iter_blocks(path):
        yield from _block_forms(path, split_lines(text), lineno, words)
        lineno += text.count("\n") + (not text.endswith("\n"))
    if words:
        yield words


def _block_forms(path: Path, lines: list[str], before: int, words: list[str]) -> list[list[str]]:
    """Sentences completed in ``lines`` (``before`` lines came before; ``words``: the open sentence,
    carried from block to block)."""
    out = []
    for lineno, line in enumerate(lines, start=before + 1):
        if not line or line.isspace():
            if words:
                out.append(words[:])
                words.clear()
            continue
        if line[0] == "#":
            continue
        if line.count("\t") != 9:
            raise ConlluError(f"{path}:{lineno}: malformed CoNLL-U line: {line.count(chr(9)) + 1} "
                              "tab-separated columns, expected 10")
        ident, form, _ = line.split("\t", 2)
        if not ident.isdigit():  # the fast path: a word; else a range or an empty node, skipped
            if _RANGE.match(ident) or _EMPTY.match(ident):
                continue
            raise ConlluError(f"{path}:{lineno}: malformed CoNLL-U line: bad ID {ident!r}")
        if not form:
            raise ConlluError(f"{path}:{lineno}: malformed CoNLL-U line: empty FORM")
        words.append(form.replace(" ", "\u00a0") if " " in form else form)
    return out
