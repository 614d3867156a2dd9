"""The full-scale page's CoNLL 2017 commands on a stand-in of the raw-text release (folders by language name,
wikipedia and common_crawl files), and a missing mandatory key as one line in every entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from official_standin import LANGS, NAMES, conll17

from melmo.corpus.cli import main as corpus_main
from melmo.datasets.__main__ import main as datasets_main

ROOT = Path(__file__).resolve().parents[2]
TOKENS = 10  # official_standin.conllu(5): 5 sentences of 2 words per file


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return conll17(tmp_path_factory.mktemp("conll17"))


def _metadata(cache: Path) -> dict:
    (meta,) = cache.glob("prepared/*/metadata.json")
    return json.loads(meta.read_text())


def _check_wikipedia_only(meta: dict):
    for lang in LANGS:
        r = meta["realised"][lang]
        assert r["tokens"] + r["heldout_tokens"] == TOKENS  # the wikipedia file whole, common_crawl not read
        assert [Path(p).name for p in meta["sources"][lang]["source"]] == [f"{lang}-wikipedia-000.conllu.xz"]


def test_prepare_on_the_laid_out_release(release, tmp_path, monkeypatch, capsys):
    """python -m melmo.datasets layout <root> --conll17 <release>; python -m melmo.corpus prepare data=conll17
    data.conll17_root=<root>/conll17 sampling=alpha04 (docs/full-scale.md)."""
    root = tmp_path / "data"
    assert datasets_main(["layout", str(root), "--conll17", str(release)]) == 0
    monkeypatch.chdir(ROOT)
    rc = corpus_main(["prepare", "data=conll17", f"data.conll17_root={root / 'conll17'}", "sampling=alpha04",
                      f"paths.cache_dir={tmp_path / 'cache'}"])
    assert rc == 0, capsys.readouterr().err
    _check_wikipedia_only(_metadata(tmp_path / "cache"))


def test_prepare_with_files_per_language(release, tmp_path, monkeypatch, capsys):
    """data.corpora.<lang>='<release>/<Language>/*wikipedia*.conllu.xz' as written (no '+'), no
    conll17_root."""
    monkeypatch.chdir(ROOT)
    per_lang = [f"data.corpora.{lang}={release / NAMES[lang]}/*wikipedia*.conllu.xz" for lang in LANGS]
    rc = corpus_main(["prepare", "data=conll17", *per_lang, f"paths.cache_dir={tmp_path / 'cache'}"])
    assert rc == 0, capsys.readouterr().err
    _check_wikipedia_only(_metadata(tmp_path / "cache"))
    # one language given, the root missing for the others: one line naming the key to set
    rc = corpus_main(["prepare", "data=conll17", per_lang[3], f"paths.cache_dir={tmp_path / 'cache2'}"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and err.startswith("error: ")  # one line (melmo.utils.errors)
    assert "config key data.conll17_root is not set: give data.conll17_root=<value>" in err


@pytest.mark.parametrize("argv, key", [
    (["-m", "melmo.corpus", "prepare", "data=conll17"], "data.conll17_root"),
    (["train.py", "data=conll17"], "data.conll17_root"),
    (["evaluate.py", "task=pos"], "encoder.path"),
    (["-m", "melmo.study", "study=paper", "study.data_root=/x", "study.conll17_root=/y",
      "study.strategies=???", "dry_run=true"], "study.strategies"),
])
def test_a_missing_mandatory_key_is_one_line_in_every_entry_point(tmp_path, argv, key):
    hydra_dir = [f"hydra.run.dir={tmp_path / 'run'}"] if argv[0].endswith(".py") else []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    out = subprocess.run([sys.executable, *argv, *hydra_dir, f"paths.cache_dir={tmp_path / 'cache'}",
                          f"paths.log_dir={tmp_path / 'logs'}"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=False)
    errors = [line for line in out.stderr.splitlines() if "error" in line.lower()]
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    assert len(errors) == 1 and key in errors[0] and errors[0].startswith("error: "), out.stderr
