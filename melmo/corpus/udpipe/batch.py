"""Train-all: one tokenizer per UD language directory, trained in parallel processes, each recorded in a
manifest."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Mapping, Sequence

import ufal.udpipe as ud

from melmo.corpus.udpipe.conllu import _read_text, read_udpipe_sentences
from melmo.corpus.udpipe.options import tokenizer_option_string
from melmo.corpus.udpipe.scoring import score_tokenization
from melmo.corpus.udpipe.training import train_tokenizer
from melmo.errors import MissingFileError
from melmo.formats.files import file_sha256
from melmo.languages import check_language
from melmo.utils.atomic import write_atomic


def _ud_files(lang_dir: Path) -> dict[str, Path]:
    found = {}
    for p in sorted(lang_dir.iterdir()):
        m = re.search(r"-ud-(train|dev|test)\.conllu(\.xz|\.gz)?$", p.name)
        if m and m[1] not in found:
            found[m[1]] = p
    return found


# Languages with a test file only (e.g. the Parallel UD treebanks, which ship test only): the first
# TEST_ONLY_TRAIN sentences train the tokenizer, the rest is held out for evaluation.
TEST_ONLY_TRAIN = 700


def training_files(lang_dir: Path) -> dict:
    """Which UD files (and sentence ranges) train, hold out and evaluate a language's tokenizer.

    train file if present (its dev file as heldout), else the dev file (no heldout), else the first
    ``TEST_ONLY_TRAIN`` sentences of the test file; evaluation on the test file (minus what trained).
    """
    files = _ud_files(Path(lang_dir))
    if "test" not in files and "dev" not in files and "train" not in files:
        raise MissingFileError(f"{lang_dir}: no *-ud-{{train,dev,test}}.conllu files")
    if "train" in files:
        plan = {"train": files["train"], "train_sentences": None, "heldout": files.get("dev")}
    elif "dev" in files:
        plan = {"train": files["dev"], "train_sentences": None, "heldout": None}
    else:
        plan = {"train": files["test"], "train_sentences": slice(0, TEST_ONLY_TRAIN), "heldout": None}
    if "test" in files:
        same = plan["train"] == files["test"]
        plan["eval"] = files["test"]
        plan["eval_sentences"] = slice(TEST_ONLY_TRAIN, None) if same else None
    else:
        plan["eval"], plan["eval_sentences"] = None, None
    return plan


def _fmt_slice(s: slice | None) -> str:
    return ":" if s is None else f"{'' if s.start is None else s.start}:{'' if s.stop is None else s.stop}"


def _train_one(lang: str, lang_dir: str, out_path: str, options: dict, log_dir: str | None) -> dict:
    plan = training_files(Path(lang_dir))
    log = Path(log_dir) / f"{lang}.log" if log_dir else None
    t0, c0 = time.perf_counter(), time.process_time()
    train_tokenizer([plan["train"]], Path(out_path),
                    heldout_paths=[plan["heldout"]] if plan["heldout"] else None, options=options,
                    sentences=plan["train_sentences"], log_path=log)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_train = len(read_udpipe_sentences([plan["train"]], plan["train_sentences"]))
    rec = {
        "lang": lang, "model": Path(out_path).name, "bytes": Path(out_path).stat().st_size,
        "sha256": file_sha256(Path(out_path)), "options": options,
        "train_file": plan["train"].name,
        "train_text_sha256": hashlib.sha256(_read_text(plan["train"]).encode()).hexdigest(),
        "train_sentences": _fmt_slice(plan["train_sentences"]), "train_sentence_count": n_train,
        "heldout_file": plan["heldout"].name if plan["heldout"] else None, "train_wall_s": round(wall, 1),
        "train_cpu_s": round(cpu, 1), "ufal.udpipe": ud.__version__,
    }
    if plan["eval"] is not None:
        sc = score_tokenization(Path(out_path), plan["eval"], sentences=plan["eval_sentences"])
        rec.update({"eval_file": plan["eval"].name, "eval_sentences": _fmt_slice(plan["eval_sentences"]),
                    "eval_sentence_count": sc["sentences"], "word_f1": round(100 * sc["f1"], 2),
                    "word_precision": round(100 * sc["precision"], 2),
                    "word_recall": round(100 * sc["recall"], 2)})
    return rec


def train_all(ud_dir: Path, out_dir: Path, *, languages: Sequence[str] | None = None,
              options: Mapping | None = None, jobs: int | None = None, log_dir: Path | None = None,
              manifest: str | None = "models.json") -> list[dict]:
    """Train one tokenizer per language directory of ``ud_dir`` in parallel processes; return (and write
    ``out_dir/manifest``) one record per model: files and sentence ranges it saw, size, time, test F1."""
    ud_dir, out_dir = Path(ud_dir), Path(out_dir)
    langs = [check_language(x) for x in languages] if languages else sorted(
        p.name for p in ud_dir.iterdir() if p.is_dir() and _ud_files(p))
    if not langs:
        raise MissingFileError(f"{ud_dir}: no <lang>/ directories with UD CoNLL-U files")
    for lang in langs:
        if not (ud_dir / lang).is_dir():
            raise MissingFileError(f"{ud_dir / lang}: no UD directory for language {lang!r}")
    options = dict(options or {})
    tokenizer_option_string(options)  # fail before starting any process
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(langs)))
    records: list[dict] = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futs = {lang: pool.submit(_train_one, lang, str(ud_dir / lang), str(out_dir / f"{lang}.udpipe"),
                                  options, str(log_dir) if log_dir else None) for lang in langs}
        for lang, fut in futs.items():
            rec = fut.result()
            records.append(rec)
            print(_record_line(rec), flush=True)
    if manifest:
        path = out_dir / manifest
        old = json.loads(path.read_text()) if path.is_file() else {}
        models = {m["lang"]: m for m in old.get("models", [])}
        models.update({r["lang"]: r for r in records})
        doc = {"note": "written by python -m melmo.corpus.udpipe train-all; what each tokenizer was "
                       "trained on",
               "models": [models[k] for k in sorted(models)]}
        write_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n", fsync=True)
    return records


def _record_line(r: dict) -> str:
    f1 = f"{r['word_f1']:6.2f}" if "word_f1" in r else "   n/a"
    return (f"{r['lang']:<4}{r['train_file']:<31}{r['train_sentences']:>6}{r['train_sentence_count']:>6} sent"
            f"{r['train_wall_s']:>8.1f}s{r['bytes'] / 1024:>8.1f}KB  F1 {f1}")
