"""The disk and compute plan of study=paper, from a dry run on a stand-in of the official downloads whose
MultiNLI and XNLI files have the official pair counts (the figures of docs/full-scale.md).

    python benchmarks/paper_plan.py [--keep DIR]

The stand-in, built in a temporary folder (or DIR, kept): MultiNLI 1.0 train/dev_matched with 392,702 and
9,815 labelled pairs and XNLI 1.0 dev/test with 2,490 and 5,010 pairs per language, their sentences the
shipped slice's (data/sample/nli) repeated; the shipped UD dev/test files (data/sample/ud: the sample's
treebanks, no train files but Turkish's) and Tatoeba pairs (data/sample/tatoeba: LASER's, 1000 lines each);
one-sentence CoNLL 2017 files and placeholder UDPipe models (the dry run reads neither further). Then
``python -m melmo.datasets layout`` and ``python -m melmo.study study=paper dry_run=true
study.check_devices=false``: the plan's lines are printed; the disk check uses this machine's free space.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from official_standin import MAP, NAMES, XNLI_HEADER, XNLI_LANGS, conllu

from melmo.datasets.__main__ import main as datasets_main

# Williams et al. 2018
MNLI_PAIRS = {"multinli_1.0_train.jsonl": 392_702, "multinli_1.0_dev_matched.jsonl": 9_815}
XNLI_PAIRS = {"dev": 2_490, "test": 5_010}  # Conneau et al. 2018, per language
SAMPLE = ROOT / "data" / "sample"


def rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in lzma.decompress(path.read_bytes()).decode("utf-8").splitlines()]


def build(base: Path) -> dict[str, Path]:
    ud = base / "ud-treebanks"
    for d in sorted((SAMPLE / "ud").iterdir()):
        for f in sorted(d.glob("*.conllu.xz")):
            code = f.name.split("-ud-")[0]
            (ud / f"UD_{NAMES[d.name]}-{code}").mkdir(parents=True, exist_ok=True)
            (ud / f"UD_{NAMES[d.name]}-{code}" / f.name).symlink_to(f)
    tat = base / "tatoeba"
    tat.mkdir()
    for f in sorted((SAMPLE / "tatoeba").glob("*.xz")):
        (tat / f.name[: -len(".xz")]).write_bytes(lzma.decompress(f.read_bytes()))
    mnli = base / "multinli_1.0"
    mnli.mkdir()
    train = rows(SAMPLE / "nli" / "mnli" / "mnli_train.tsv.xz")[1:]
    for name, n in MNLI_PAIRS.items():
        with open(mnli / name, "w", encoding="utf-8") as fh:
            for k in range(n):
                r = train[k % len(train)]
                fh.write(json.dumps({"gold_label": r[2], "sentence1": r[0], "sentence2": r[1],
                                     "genre": r[3]}) + "\n")
    xnli = base / "XNLI-1.0"
    xnli.mkdir()
    labels = [r[0] for r in rows(SAMPLE / "nli" / "xnli" / "test-labels.txt.xz")]
    for split, n in XNLI_PAIRS.items():
        lines = ["\t".join(XNLI_HEADER)]
        for lang in XNLI_LANGS:
            src = rows(SAMPLE / "nli" / "xnli" / f"{split}-{lang}.tsv.xz")
            for k in range(n):
                r = src[k % len(src)]
                gold = r[2] if split == "dev" else labels[k % len(src)]
                cols = {"language": lang, "gold_label": gold, "sentence1": r[0], "sentence2": r[1],
                        "pairID": str(k)}
                lines.append("\t".join(cols.get(c, "_") for c in XNLI_HEADER))
        (xnli / f"xnli.{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    conll = base / "conll17"
    for lang, name in NAMES.items():
        (conll / name).mkdir(parents=True)
        xz = lzma.compress(conllu(1, lang).encode())
        (conll / name / f"{lang}-wikipedia-000.conllu.xz").write_bytes(xz)
    udpipe = base / "udpipe"
    udpipe.mkdir()
    for lang in NAMES:
        (udpipe / f"{lang}.udpipe").write_bytes(b"placeholder")
    return {"ud": ud, "tatoeba": tat, "mnli": mnli, "xnli": xnli, "conll17": conll, "udpipe": udpipe}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--keep", type=Path, default=None, help="build the stand-in here and keep it")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        root = base / "melmo-data"
        if root.exists():  # --keep of an earlier run: reuse it
            src = {"udpipe": base / "dl" / "udpipe"}
        else:
            src = build(base / "dl")
        other = [lang for lang, code in MAP.items() if not any((SAMPLE / "ud" / lang).glob(f"{code}-*"))]
        # the sample's treebank where it is not the paper map's (ar, hi, ru)
        codes = {lang: next((SAMPLE / "ud" / lang).glob("*.conllu.xz")).name.split("-ud-")[0]
                 for lang in other}
        treebanks = [f"--treebank={lang}={code}" for lang, code in codes.items()]
        argv = ["layout", str(root), *treebanks] + [x for k in ("ud", "tatoeba", "mnli", "xnli", "conll17")
                                                     if k in src for x in (f"--{k}", str(src[k]))]
        if "ud" in src and datasets_main(argv) != 0:
            sys.exit(1)
        print(f"stand-in built and laid out in {time.perf_counter() - t:.0f} s")
        from hydra import compose, initialize_config_dir
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import open_dict

        from melmo import study as S

        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("study", overrides=[
                f"paths.root_dir={ROOT}", f"paths.log_dir={base / 'logs'}",
                f"paths.cache_dir={base / 'cache'}", "study=paper", f"study.conll17_root={root / 'conll17'}",
                f"study.data_root={root}", f"study.udpipe_dir={src['udpipe']}", "dry_run=true",
                "study.check_devices=false"],
                return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
        t = time.perf_counter()
        try:
            S.run(cfg, runner=lambda s, cwd: 0,
                  echo=lambda line: print(line) if line.startswith(("plan", "preflight")) else None)
        except S.StudyError as err:
            print(f"error: {err}")
        print(f"dry run (preflight, plan) in {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
