"""Rebuild the shipped sample in data/sample/ from its sources (a local copy of the public sources listed
in data/README.md).

    python scripts/build_sample.py --source <data root> [--check]

What it writes (all compressed with xz, which melmo's readers open directly):
  data/sample/text/<lang>.txt.xz     the first lines of <source>/text/<lang>.txt, up to
                                     TEXT_SHARE of its bytes: sizes stay as unequal as the source's
  data/sample/ud/<lang>/*.conllu.xz  the UD evaluation treebanks, whole, with their LICENSE.txt
  data/sample/tatoeba/*.xz           the Tatoeba test pairs (XTREME/LASER), with LICENSE.LASER
  data/sample/nli/xnli/*.xz          the first NLI_EVAL_ROWS rows of XNLI dev and test (XTREME layout)
                                     per language, and the test labels of those rows; LICENSE.XNLI
  data/sample/nli/mnli/*.xz          the first NLI_TRAIN_ROWS / NLI_VAL_ROWS pairs of the MultiNLI
                                     sample (with its header); SOURCES.md says where all of it is from
  data/sample/SHA256SUMS             hashes of the uncompressed contents, checked by --check

Sources, commits and licences: data/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import shutil
import sys
from pathlib import Path

from melmo.languages import PAPER_LANGUAGES as LANGS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "sample"
TEXT_SHARE = 0.35  # share of each language's raw text shipped (keeps the repo under ~10 MB)
XNLI_LANGS = ("ar", "en", "hi", "ru", "tr", "zh")  # the paper's languages that XNLI covers
NLI_EVAL_ROWS = 200  # XNLI dev and test rows per language (rows are parallel across languages)
NLI_TRAIN_ROWS, NLI_VAL_ROWS = 2000, 500  # MultiNLI sample pairs: enough for ESIM to beat the majority class
NLI_SOURCES = """# nli/ -- a slice of the NLI data for tests and a first run on a fresh clone

Sliced by scripts/build_sample.py from the full files (same formats, first rows only):

- xnli/dev-{ar,en,hi,ru,tr,zh}.tsv.xz: the first 200 rows of XNLI 1.0 dev in XTREME's layout
  (google-research/xtreme utils_preprocess.py), no header, premise<TAB>hypothesis<TAB>label.
  Source: GautamGupta17/MESH @ 68f82e29e71a, data/xnli/dev-{lang}.tsv.
- xnli/test-{lang}.tsv.xz: the first 200 rows of XNLI 1.0 test, premise<TAB>hypothesis (XTREME strips
  test labels); xnli/test-labels.txt.xz: their gold labels, line i for row i of every language, taken
  from the labelled XNLI Chinese test file of zhang45258/ERNIE01 @ e862b8ce2237 (data/xnli/test.tsv,
  column 3), whose 5010 pairs match test-zh.tsv row by row (XNLI rows are parallel across languages).
  Licence of all XNLI text: CC BY-NC 4.0, see LICENSE.XNLI (from facebookresearch/XNLI @ 962469500106).
- mnli/mnli_train.tsv.xz, mnli/mnli_val.tsv.xz: the first 2000 and 500 pairs (with the header
  sentence1<TAB>sentence2<TAB>label<TAB>genre) of a tokenized 20000/5000-pair English MultiNLI 1.0
  sample (tp823/HW2-NLP @ eed7bcf077d8, mnli_train.tsv, mnli_val.tsv). Licence (MultiNLI, per its
  paper and dataset card): most text from the OANC under its permissive licence; FICTION: Seven Swords
  CC BY-SA 3.0, Living History and Password Incorrect CC BY 3.0, the rest public domain in the US.
"""


def write_xz(data: bytes, dest: Path, sums: dict) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(lzma.compress(data, preset=9))
    sums[str(dest.relative_to(OUT))] = hashlib.sha256(data).hexdigest()


def text_slice(path: Path) -> bytes:
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True)
    budget, out, size = TEXT_SHARE * len(raw), [], 0
    for line in lines:
        if size + len(line) > budget:
            break
        out.append(line)
        size += len(line)
    return b"".join(out)


def build(source: Path) -> dict:
    sums: dict[str, str] = {}
    for lang in LANGS:
        write_xz(text_slice(source / "text" / f"{lang}.txt"), OUT / "text" / f"{lang}.txt.xz", sums)
        for f in sorted((source / "ud" / lang).glob("*.conllu")):
            write_xz(f.read_bytes(), OUT / "ud" / lang / f"{f.name}.xz", sums)
        shutil.copyfile(source / "ud" / lang / "LICENSE.txt", OUT / "ud" / lang / "LICENSE.txt")
    for f in sorted((source / "tatoeba").glob("tatoeba.*")):
        write_xz(f.read_bytes(), OUT / "tatoeba" / f"{f.name}.xz", sums)
    shutil.copyfile(source / "tatoeba" / "LICENSE.LASER", OUT / "tatoeba" / "LICENSE.LASER")
    build_nli(source / "nli", sums)
    return sums


def head_lines(path: Path, n: int) -> bytes:
    lines = path.read_bytes().splitlines(keepends=True)
    if len(lines) < n:
        raise SystemExit(f"{path}: {len(lines)} lines, need {n}")
    return b"".join(lines[:n])


def build_nli(source: Path, sums: dict) -> None:
    xtreme = source / "xnli" / "xtreme"
    for lang in XNLI_LANGS:
        for split in ("dev", "test"):
            name = f"{split}-{lang}.tsv"
            write_xz(head_lines(xtreme / name, NLI_EVAL_ROWS), OUT / "nli" / "xnli" / f"{name}.xz", sums)
    write_xz(head_lines(xtreme / "test-labels.txt", NLI_EVAL_ROWS),
             OUT / "nli" / "xnli" / "test-labels.txt.xz", sums)
    for name, rows in (("mnli_train.tsv", NLI_TRAIN_ROWS), ("mnli_val.tsv", NLI_VAL_ROWS)):
        write_xz(head_lines(source / "mnli" / name, rows + 1), OUT / "nli" / "mnli" / f"{name}.xz", sums)
    shutil.copyfile(source / "LICENSE.XNLI", OUT / "nli" / "LICENSE.XNLI")
    (OUT / "nli" / "SOURCES.md").write_text(NLI_SOURCES, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--check", action="store_true",
                    help="verify data/sample against SHA256SUMS instead of writing")
    args = ap.parse_args()
    sums_file = OUT / "SHA256SUMS"
    if args.check:
        bad = 0
        for line in sums_file.read_text().splitlines():
            digest, name = line.split("  ", 1)
            got = hashlib.sha256(lzma.decompress((OUT / name).read_bytes())).hexdigest()
            if got != digest:
                print(f"{name}: content differs from SHA256SUMS", file=sys.stderr)
                bad += 1
        print(f"checked {len(sums_file.read_text().splitlines())} files, {bad} differ")
        return 1 if bad else 0
    if not args.source.is_dir():
        print(f"{args.source}: source data directory not found", file=sys.stderr)
        return 2
    sums = build(args.source)
    sums_file.write_text("".join(f"{d}  {n}\n" for n, d in sorted(sums.items())))
    print(f"wrote {len(sums)} files under {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
