"""Small stand-in trees with the official names of the five downloads (UD release, XNLI 1.0, MultiNLI 1.0,
LASER tatoeba v1, CoNLL 2017 raw text). NLI text is the shipped slice's, rewritten in the official formats."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

from eval_helpers import SAMPLE

from melmo.languages import ISO3

LANGS = ("ar", "eu", "zh", "en", "fi", "he", "hi", "it", "ja", "ko", "ru", "sv", "tr")
NAMES = {"ar": "Arabic", "eu": "Basque", "zh": "Chinese", "en": "English", "fi": "Finnish", "he": "Hebrew",
         "hi": "Hindi", "it": "Italian", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "sv": "Swedish",
         "tr": "Turkish"}
MAP = {"ar": "ar_padt", "eu": "eu_bdt", "zh": "zh_gsd", "en": "en_ewt", "fi": "fi_tdt", "he": "he_htb",
       "hi": "hi_hdtb", "it": "it_isdt", "ja": "ja_gsd", "ko": "ko_gsd", "ru": "ru_syntagrus",
       "sv": "sv_talbanken", "tr": "tr_imst"}
XNLI_LANGS = ("ar", "en", "hi", "ru", "tr", "zh")
XNLI_HEADER = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse",
               "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre",
               "label1", "label2", "label3", "label4", "label5", "sentence1_tokenized", "sentence2_tokenized",
               "match"]


def conllu(n: int, word: str = "word") -> str:
    sents = []
    for k in range(n):
        sents.append(f"# sent_id = {k + 1}\n1\t{word}{k}\t_\tNOUN\t_\t_\t0\troot\t_\t_\n"
                     "2\t.\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_\n")
    return "\n".join(sents) + "\n"


def ud_release(base: Path, extra: bool = True) -> Path:
    rel = base / "ud-treebanks-v2.13"
    tbs = dict(MAP)
    for lang, code in tbs.items():
        d = rel / f"UD_{NAMES[lang]}-{code.split('_')[1].upper()}"
        d.mkdir(parents=True)
        splits = ("train-a", "train-b", "dev", "test") if code == "ru_syntagrus" else ("train", "dev", "test")
        for split in splits:
            (d / f"{code}-ud-{split}.conllu").write_text(conllu(3, lang), encoding="utf-8")
        (d / "LICENSE.txt").write_text("licence\n")
    if extra:  # other treebanks of mapped languages: the map chooses
        for name, code in (("UD_Korean-Kaist", "ko_kaist"), ("UD_Arabic-PUD", "ar_pud"),
                           ("UD_Russian-GSD", "ru_gsd")):
            (rel / name).mkdir()
            (rel / name / f"{code}-ud-test.conllu").write_text(conllu(2), encoding="utf-8")
    return rel


def _slice(name: str) -> list[list[str]]:
    text = lzma.decompress((SAMPLE / "nli" / name).read_bytes()).decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


def xnli(base: Path) -> Path:
    d = base / "XNLI-1.0"
    d.mkdir(parents=True)
    labels = [r[0] for r in _slice("xnli/test-labels.txt.xz")]
    for split in ("dev", "test"):
        lines = ["\t".join(XNLI_HEADER)]
        for lang in XNLI_LANGS + ("de",):  # a language outside the 13: skipped by the readers
            rows = _slice(f"xnli/{split}-{'en' if lang == 'de' else lang}.tsv.xz")
            for k, r in enumerate(rows):
                gold = r[2] if split == "dev" else labels[k]
                gold = "contradictory" if gold == "contradiction" and k % 2 else gold
                cols = {"language": lang, "gold_label": gold, "sentence1": r[0], "sentence2": r[1],
                        "pairID": str(k)}
                lines.append("\t".join(cols.get(c, "_") for c in XNLI_HEADER))
        (d / f"xnli.{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d


def mnli(base: Path) -> Path:
    d = base / "multinli_1.0"
    d.mkdir(parents=True)
    for name, src in (("multinli_1.0_train.jsonl", "mnli/mnli_train.tsv.xz"),
                      ("multinli_1.0_dev_matched.jsonl", "mnli/mnli_val.tsv.xz")):
        rows = _slice(src)[1:]
        recs = [{"gold_label": r[2], "sentence1": r[0], "sentence2": r[1], "genre": r[3]} for r in rows]
        recs.insert(3, {"gold_label": "-", "sentence1": "No majority .", "sentence2": "None .", "genre": "x"})
        (d / name).write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return d


def tatoeba(base: Path) -> Path:
    d = base / "LASER" / "data" / "tatoeba" / "v1"
    d.mkdir(parents=True)
    for lang in LANGS:
        if lang != "en":
            iso = ISO3[lang]
            (d / f"tatoeba.{iso}-eng.{iso}").write_text("".join(f"{lang} {k}\n" for k in range(4)),
                                                        encoding="utf-8")
            (d / f"tatoeba.{iso}-eng.eng").write_text("".join(f"en {k}\n" for k in range(4)),
                                                      encoding="utf-8")
    return d


def conll17(base: Path) -> Path:
    d = base / "conll17-raw"
    for lang in LANGS:
        (d / NAMES[lang]).mkdir(parents=True)
        for part in ("wikipedia-000", "common_crawl-000"):
            (d / NAMES[lang] / f"{lang}-{part}.conllu.xz").write_bytes(
                lzma.compress(conllu(5, lang).encode()))
    return d


def downloads(base: Path) -> dict[str, Path]:
    return {"ud": ud_release(base), "xnli": xnli(base), "mnli": mnli(base), "tatoeba": tatoeba(base),
            "conll17": conll17(base)}


def layout_args(src: dict[str, Path]) -> list[str]:
    return [x for k, v in src.items() for x in (f"--{k}", str(v))]
