"""python -m melmo.datasets layout|check on stand-in trees with the official names: links (not copies) the
tasks read, the treebank map, and each problem as one line naming the file, with nothing written."""

import json
import os
import shutil
from pathlib import Path

import pytest
from official_standin import LANGS, MAP, XNLI_LANGS, _slice, layout_args

from melmo.formats.tatoeba import read_pair
from melmo.tasks.common.ud import treebank_files


def test_layout_links_the_official_files_the_tasks_read(src, tmp_path, run):
    root = tmp_path / "melmo-data"
    rc, out, err = run("layout", root, *layout_args(src))
    assert rc == 0, err
    for lang in LANGS:
        files = sorted(p.name for p in (root / "ud" / lang).iterdir())
        code = MAP[lang]
        want = [f"{code}-ud-{s}.conllu" for s in (("dev", "test", "train-a", "train-b")
                                                  if lang == "ru" else ("dev", "test", "train"))]
        assert files == want
        for name in files:
            link = root / "ud" / lang / name
            assert link.is_symlink() and link.resolve() == (next(src["ud"].glob(f"*/{name}"))).resolve()
    assert [p.name for p in treebank_files(root, "ru")["train"]] == [
        "ru_syntagrus-ud-train-a.conllu", "ru_syntagrus-ud-train-b.conllu"]
    assert ((root / "conll17" / "en").is_symlink()
            and (root / "conll17" / "en").resolve() == (src["conll17"] / "English").resolve())
    assert sorted(p.name for p in (root / "conll17" / "fi").glob("*wikipedia*.conllu.xz")) == [
        "fi-wikipedia-000.conllu.xz"]
    _, xs, _, es = read_pair(root, "fi")
    assert xs == [f"fi {k}" for k in range(4)] and es == [f"en {k}" for k in range(4)]
    assert (root / "nli" / "XNLI-1.0" / "xnli.dev.tsv").resolve() == (src["xnli"] / "xnli.dev.tsv").resolve()
    assert (root / "nli" / "multinli_1.0" / "multinli_1.0_train.jsonl").is_symlink()
    manifest = json.loads((root / "layout.json").read_text())
    assert manifest["treebanks"]["ko"] == "ko_gsd" and manifest["sources"]["ud"] == str(src["ud"].resolve())
    # counts printed: sentences per treebank (3 per file), pairs per XNLI language, MultiNLI pairs minus '-'
    printed = dict(line.split("\t") for line in out.splitlines() if "\t" in line)
    assert printed["ud/ru"] == "12" and printed["ud/en"] == "9" and printed["tatoeba/tr"] == "4"
    for lang in XNLI_LANGS:
        assert printed[f"xnli.dev.tsv/{lang}"] == str(len(_slice(f"xnli/dev-{lang}.tsv.xz")))
    assert printed["multinli_1.0_train.jsonl"] == str(len(_slice("mnli/mnli_train.tsv.xz")) - 1)
    assert run("check", root)[0] == 0
    assert run("layout", root, "--check")[0] == 0
    rc, _, err = run("layout", root, *layout_args(src))  # an existing root is not overwritten
    assert rc == 1 and "exists" in err


def test_the_map_changes_on_the_command_line(src, tmp_path, run):
    root = tmp_path / "r"
    rc, _, err = run("layout", root, "--ud", src["ud"], "--treebank", "ko=ko_kaist", "--treebank",
                     "ru=ru_gsd")
    assert rc == 0, err
    assert sorted(p.name for p in (root / "ud" / "ko").iterdir()) == ["ko_kaist-ud-test.conllu"]
    assert sorted(p.name for p in (root / "ud" / "ru").iterdir()) == ["ru_gsd-ud-test.conllu"]


def _break(kind: str, s: dict[str, Path]) -> tuple[list[str], str]:
    """Break one thing of a copied tree; return extra args and the message, naming the user's own file."""
    if kind == "missing file":
        (s["xnli"] / "xnli.test.tsv").unlink()
        return [], str((s["xnli"] / "xnli.test.tsv").resolve()) + ": file not found"
    if kind == "unequal line counts":
        p = s["tatoeba"] / "tatoeba.fin-eng.fin"
        p.write_text(p.read_text() + "extra\n")
        return [], f"{p.resolve()}: 5 lines but tatoeba.fin-eng.eng has 4"
    if kind == "treebank missing":
        shutil.rmtree(s["ud"] / "UD_Turkish-IMST")
        return [], f"{s['ud'].resolve()}: no treebank tr_imst for language tr"
    if kind == "two treebanks":
        return (["--treebank", "ko=null"],
                f"{s['ud'].resolve()}: 2 treebanks for language ko where one is expected")
    if kind == "unparseable conllu":
        p = s["ud"] / "UD_Hebrew-HTB" / "he_htb-ud-dev.conllu"
        lines = p.read_text().splitlines()
        lines[2] = lines[2].replace("\t", " ", 1)
        p.write_text("\n".join(lines) + "\n")
        return [], f"{p.resolve()}:3:"
    if kind == "label missing":
        p = s["xnli"] / "xnli.dev.tsv"
        lines = p.read_text().splitlines()
        lines[5] = (lines[5].replace("\tneutral\t", "\t\t", 1).replace("\tentailment\t", "\t\t", 1)
                    .replace("\tcontradiction\t", "\t\t", 1))
        p.write_text("\n".join(lines) + "\n")
        return [], f"{p.resolve()}:6: unknown label ''"
    if kind == "bad jsonl":
        p = s["mnli"] / "multinli_1.0_dev_matched.jsonl"
        p.write_text(p.read_text() + '{"gold_label": "neutral"\n')
        return [], f"{p.resolve()}:"
    if kind == "no wikipedia file":
        (s["conll17"] / "Basque" / "eu-wikipedia-000.conllu.xz").unlink()
        return [], f"{(s['conll17'] / 'Basque').resolve()}: no *wikipedia*.conllu.xz file"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing file", "unequal line counts", "treebank missing", "two treebanks",
                                  "unparseable conllu", "label missing", "bad jsonl", "no wikipedia file"])
def test_problems_are_one_line_naming_the_file_and_nothing_is_written(src, tmp_path, run, kind):
    s = {k: tmp_path / "dl" / k / v.name for k, v in src.items()}
    for k, v in src.items():
        shutil.copytree(v, s[k])
    extra, message = _break(kind, s)
    root = tmp_path / "root"
    rc, _, err = run("layout", root, *layout_args(s), *extra)
    assert rc == 1
    # the message names the user's download, never the temporary tree the root is built in
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err and ".tmp" not in err, err
    assert not root.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".root")]


def test_check_finds_two_treebanks_pooled_in_a_root(src, tmp_path, run):
    root = tmp_path / "r"
    assert run("layout", root, "--ud", src["ud"])[0] == 0
    os.symlink(next(src["ud"].glob("UD_Korean-Kaist/*.conllu")),
               root / "ud" / "ko" / "ko_kaist-ud-test.conllu")
    rc, _, err = run("check", root)
    assert rc == 1 and (f"error: DatasetError: {root / 'ud' / 'ko'}: 2 treebanks (ko_gsd, ko_kaist) "
                        "where one is expected") in err
    (root / "ud" / "ko" / "ko_kaist-ud-test.conllu").unlink()
    (root / "ud" / "sv" / "sv_talbanken-ud-test.conllu").unlink()
    rc, _, err = run("check", root)
    assert rc == 1 and f"{root / 'ud' / 'sv'}: treebank sv_talbanken has no test file" in err
    rc, _, err = run("check", tmp_path / "nowhere")
    assert rc == 1 and "no such data root" in err
