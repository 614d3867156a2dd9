"""Where each file of a laid-out data root comes from: the official names of the five downloads.

    plan = link_plan(Sources(ud=..., xnli=..., mnli=..., tatoeba=..., conll17=...), settings)
    # [(path in the root, absolute source path), ...]; a problem is one DatasetError line naming the path

The root the tasks read (the layout of data/sample, plus the official NLI and CoNLL 2017 folders):
``ud/<lang>/<code>-ud-<split>.conllu``, ``tatoeba/tatoeba.<iso3>-eng.{<iso3>,eng}``,
``nli/XNLI-1.0/xnli.{dev,test}.tsv``, ``nli/multinli_1.0/multinli_1.0_{train,dev_matched}.jsonl`` and
``conll17/<lang>`` (the language's folder of the CoNLL 2017 release).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from melmo.errors import MelmoError
from melmo.languages import ISO3


class DatasetError(MelmoError, ValueError):
    """An official download or a data root that cannot be used (one line naming the path)."""


UD_FILE = re.compile(r"(?P<code>[a-z]+_[a-z0-9]+)-ud-(?P<split>train|dev|test)(?:-[a-z])?"
                     r"\.conllu(?:\.xz|\.gz)?\Z")
XNLI_DIR, XNLI_FILES = "nli/XNLI-1.0", ("xnli.dev.tsv", "xnli.test.tsv")
MNLI_DIR, MNLI_FILES = "nli/multinli_1.0", ("multinli_1.0_train.jsonl", "multinli_1.0_dev_matched.jsonl")


@dataclass(frozen=True)
class Sources:
    """The downloads as unpacked (any may be None: that part is not laid out)."""

    ud: Path | None = None        # ud-treebanks-v2.x/ (UD_<Language>-<Treebank>/ folders)
    xnli: Path | None = None      # XNLI-1.0/ (xnli.dev.tsv, xnli.test.tsv)
    mnli: Path | None = None      # multinli_1.0/ (multinli_1.0_train.jsonl, ...)
    tatoeba: Path | None = None   # LASER data/tatoeba/v1/ (tatoeba.<iso3>-eng.<iso3|eng>)
    conll17: Path | None = None   # the CoNLL 2017 raw text: <Language>/<code>-wikipedia-*.conllu.xz


def _folder(path: Path, what: str) -> Path:
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise DatasetError(f"{path}: no such directory ({what})")
    return path


def ud_treebanks(release: Path) -> dict[str, list[Path]]:
    """Treebank code -> its .conllu files, over the release's UD_*/ folders."""
    found: dict[str, list[Path]] = {}
    for d in sorted(p for p in release.iterdir() if p.is_dir()):
        for f in sorted(d.iterdir()):
            m = UD_FILE.match(f.name)
            if m:
                found.setdefault(m.group("code"), []).append(f)
    if not found:
        raise DatasetError(f"{release}: no UD_*/<code>-ud-<split>.conllu files (not a UD release directory)")
    return found


def choose_treebank(found: Mapping[str, list[Path]], lang: str, wanted: str | None, release: Path) -> str:
    codes = sorted(c for c in found if c.split("_")[0] == lang)
    if wanted:
        if wanted not in found:
            raise DatasetError(f"{release}: no treebank {wanted} for language {lang} (treebanks.{lang}; "
                               f"the release has {', '.join(codes) or 'none of ' + lang})")
        return wanted
    if not codes:
        raise DatasetError(f"{release}: no treebank for language {lang}")
    if len(codes) > 1:
        where = ", ".join(f"{c} in {found[c][0].parent.name}" for c in codes)
        raise DatasetError(f"{release}: {len(codes)} treebanks for language {lang} where one is expected "
                           f"({where}): name one in treebanks.{lang}")
    return codes[0]


def _file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    return path


def link_plan(src: Sources, languages: Sequence[str], treebanks: Mapping[str, str | None],
              conll17_folders: Mapping[str, str], reasons: Mapping[str, str] | None = None,
              choices: dict | None = None) -> list[tuple[str, Path]]:
    """``choices``, when given, gets each language's treebank, the release's other treebanks of the language
    and the reason for the choice (``reasons[lang]``, conf/datasets.yaml ``treebank_reasons``)."""
    plan: list[tuple[str, Path]] = []
    if src.ud is not None:
        release = _folder(src.ud, "the UD release")
        found = ud_treebanks(release)
        for lang in languages:
            code = choose_treebank(found, lang, treebanks.get(lang), release)
            plan += [(f"ud/{lang}/{f.name}", f) for f in found[code]]
            if choices is not None:
                others = sorted(c for c in found if c.split("_")[0] == lang and c != code)
                why = (reasons or {}).get(lang) or ("treebanks." + lang if treebanks.get(lang) else
                                                    f"the release's only {lang} treebank")
                choices[lang] = {"treebank": code, "others": others, "reason": str(why)}
    if src.tatoeba is not None:
        folder = _folder(src.tatoeba, "LASER's data/tatoeba/v1")
        for lang in languages:
            if lang != "en":
                iso = ISO3[lang]
                plan += [(f"tatoeba/tatoeba.{iso}-eng.{end}", _file(folder, f"tatoeba.{iso}-eng.{end}"))
                         for end in (iso, "eng")]
    if src.xnli is not None:
        folder = _folder(src.xnli, "XNLI 1.0")
        plan += [(f"{XNLI_DIR}/{name}", _file(folder, name)) for name in XNLI_FILES]
    if src.mnli is not None:
        folder = _folder(src.mnli, "MultiNLI 1.0")
        plan += [(f"{MNLI_DIR}/{name}", _file(folder, name)) for name in MNLI_FILES]
    if src.conll17 is not None:
        folder = _folder(src.conll17, "the CoNLL 2017 raw text")
        for lang in languages:
            cands = [folder / str(conll17_folders.get(lang, lang)), folder / lang]
            hit = next((c for c in cands if c.is_dir()), None)
            if hit is None:
                raise DatasetError(f"{cands[0]}: no such directory (CoNLL 2017 raw text of {lang}; "
                                   f"conll17_folders.{lang})")
            plan.append((f"conll17/{lang}", hit))
    return plan
