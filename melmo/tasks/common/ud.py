"""UD treebanks for token tasks: where the files are, which split trains / selects / reports, and
which units the encoder reads and the head labels.

    files = treebank_files(root, "fi")                 # {"dev": [...], "test": [...]} under <root>/ud/fi/
    plan = split_plan(files, protocol, split_seed=0)   # roles -> (split, sentence indices), recorded
    units = make_units(sentence, encoder_input="surface", convention="ud_words")

Protocol (config ``task.protocol``): the head trains on the first of ``train`` (e.g. [train, dev])
the treebank has; when that is not the ``select`` split (dev) and the treebank has one, the whole
``select`` file early-stops and selects (UD's official protocol: train / dev / test); otherwise a
seeded ``select_fraction`` of the training sentences is held out for that; ``report`` (test) is scored. A
treebank with only a test file (ar_pud, hi_pud) is split by ``test_only_report_fraction`` (the rest
trains/selects) when ``test_only: split``.

Units. ``encoder_input``: ``surface`` feeds the treebank's surface tokens (a multiword token as
written, e.g. it. "della"), ``words`` feeds its syntactic words ("di", "la"). ``convention``:
``ud_words`` labels every syntactic word (CoNLL 2018; a word inside a multiword token gets its
token's vector when surface tokens were fed); ``xtreme_surface`` labels every surface token with
the UPOS of its span head (XTREME utils_preprocess / conllu_to_conll.py priority list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from melmo.errors import ConfigError, MelmoError
from melmo.formats.conllu import UPOS_INDEX, Sentence

SPLITS = ("train", "dev", "test")
# a split may come in parts (ru_syntagrus-ud-train-a.conllu, -b, -c since UD 2.11): pooled as one split
_FILE = re.compile(r".+-ud-(train|dev|test)(?:-[a-z])?\.conllu(\.xz|\.gz)?\Z")

# XTREME (conllu_to_conll.py --replace_subtokens_with_fused_forms): the UPOS a fused token keeps.
XTREME_SPAN_HEAD = ("VERB", "NOUN", "PROPN", "PRON", "ADJ", "NUM", "ADV", "INTJ", "AUX", "ADP", "DET", "PART",
                    "CCONJ", "SCONJ", "X", "PUNCT")
XTREME_SPAN_HEAD_IT = ("VERB", "AUX", "ADV", "PRON", "ADP", "DET", "INTJ")


class DataError(MelmoError, ValueError):
    """Missing or unusable task data (one line naming the path)."""


def ud_languages(root: str | Path) -> list[str]:
    base = Path(root) / "ud"
    if not base.is_dir():
        raise DataError(f"{base}: no UD data directory (set data.root)")
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and any(_FILE.match(p.name) for p in d.iterdir()))


def treebank_files(root: str | Path, lang: str) -> dict[str, list[Path]]:
    d = Path(root) / "ud" / lang
    if not d.is_dir():
        raise DataError(f"{d}: no treebank for language {lang!r} (available: "
                        f"{', '.join(ud_languages(root))})")
    out: dict[str, list[Path]] = {}
    for p in sorted(d.iterdir()):
        m = _FILE.match(p.name)
        if m:
            out.setdefault(m.group(1), []).append(p)  # several treebanks of a language are pooled (XTREME)
    if not out:
        raise DataError(f"{d}: no *-ud-{{train,dev,test}}.conllu files")
    return out


@dataclass
class Role:
    split: str
    indices: list[int]
    note: str


def split_plan(counts: Mapping[str, int], protocol: Mapping, split_seed: int) -> dict[str, Role]:
    """Roles train / select / report over the splits a treebank has (``counts``: sentences per split)."""
    report = protocol["report"]
    train_split = next((s for s in protocol["train"] if s in counts and s != report), None)
    rng = np.random.default_rng(split_seed)
    if train_split is not None and report in counts:
        train_idx = list(range(counts[train_split]))
        report_role = Role(report, list(range(counts[report])), f"{report} (all)")
        src = train_split
    elif report in counts and protocol.get("test_only") == "split":
        n = counts[report]
        perm = rng.permutation(n)
        k = round(n * float(protocol["test_only_report_fraction"]))
        report_role = Role(report, sorted(perm[:k].tolist()),
                           f"{report} (seeded {k} of {n}, split_seed {split_seed})")
        train_idx, src = sorted(perm[k:].tolist()), report
    else:
        raise DataError(f"treebank has splits {sorted(counts)}: protocol needs one of "
                        f"{list(protocol['train'])} to train and {report!r} to report (or test_only: split)")
    select_split = protocol.get("select")
    if select_split and src != select_split and select_split in counts and select_split != report:
        # the official protocol: train on train, select on the whole official dev file, report test
        n_sel = counts[select_split]
        return {"train": Role(src, train_idx, f"{src} (all {len(train_idx)} sentences)"),
                "select": Role(select_split, list(range(n_sel)), f"{select_split} (all {n_sel} sentences)"),
                "report": report_role}
    perm = rng.permutation(len(train_idx))
    n_sel = max(1, round(len(train_idx) * float(protocol["select_fraction"])))
    sel = sorted(train_idx[j] for j in perm[:n_sel])
    tr = sorted(train_idx[j] for j in perm[n_sel:])
    return {"train": Role(src, tr, f"{src} minus held-out ({len(tr)} sentences)"),
            "select": Role(src, sel, f"{src} seeded held-out {n_sel} sentences (split_seed {split_seed})"),
            "report": report_role}


@dataclass
class Units:
    fed: list[str]          # what the encoder reads
    positions: np.ndarray   # unit j of the head reads fed token positions[j]
    labels: np.ndarray      # UPOS index per unit
    items: list[int]        # id of each unit: UD word id (ud_words) or 1-based token number (xtreme_surface)


def _span_head(tags: Sequence[str], lang: str) -> str:
    order = XTREME_SPAN_HEAD_IT if lang == "it" else XTREME_SPAN_HEAD
    for t in order:
        if t in tags:
            return t
    return tags[0]


def make_units(s: Sentence, encoder_input: str = "surface", convention: str = "ud_words",
               lang: str = "") -> Units:
    if convention == "xtreme_surface":
        if encoder_input != "surface":
            raise ConfigError("convention xtreme_surface labels surface tokens: it needs "
                              "encoder_input=surface")
        tags = [_span_head([s.words[w - 1].upos for w in range(t.first, t.last + 1)], lang) for t in s.tokens]
        fed = [t.form for t in s.tokens]
        return Units(fed, np.arange(len(fed)), np.array([UPOS_INDEX[t] for t in tags]),
                     list(range(1, len(fed) + 1)))
    if convention != "ud_words":
        raise ConfigError(f"convention {convention!r}: use ud_words or xtreme_surface")
    labels = np.array([UPOS_INDEX[w.upos] for w in s.words])
    items = [w.id for w in s.words]
    if encoder_input == "words":
        return Units([w.form for w in s.words], np.arange(len(s.words)), labels, items)
    if encoder_input != "surface":
        raise ConfigError(f"encoder_input {encoder_input!r}: use surface or words")
    pos = np.empty(len(s.words), dtype=np.int64)
    for k, t in enumerate(s.tokens):
        pos[t.first - 1 : t.last] = k  # every word of a multiword token reads the token's vector
    return Units([t.form for t in s.tokens], pos, labels, items)
