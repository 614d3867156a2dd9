"""layout --replace deletes only what a previous layout made; --add adds a part; the treebank choice is
printed and recorded; check and the Tatoeba task count lines by one rule."""

import json
import shutil
from pathlib import Path

from official_standin import conllu, layout_args

from melmo.tasks.tatoeba import read_pair


def tree(path: Path) -> dict[str, str]:
    """Every entry under ``path`` (links not followed) -> its link target or file content."""
    out = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        out[rel] = (
            f"-> {p.readlink()}" if p.is_symlink() else ("<dir>" if p.is_dir() else p.read_bytes().hex())
        )
    return out


def hidden(parent: Path, name: str) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{name}.")]


def test_replace_refuses_a_folder_it_did_not_make_and_deletes_nothing(src, tmp_path, run):
    # the case: a folder holding the user's XNLI download and a thesis
    folder = tmp_path / "work"
    shutil.copytree(src["xnli"], folder / "XNLI-1.0")
    (folder / "thesis.tex").write_text("\\section{Results}\n")
    before = tree(folder)
    rc, out, err = run("layout", folder, "--replace", "--xnli", folder / "XNLI-1.0")
    assert rc == 1 and err.count("\n") == 1
    assert (
        f"{folder}: not a data root written by `layout` (no layout.json)" in err
        and "nothing was changed" in err
    )
    assert tree(folder) == before and not hidden(tmp_path, "work") and "ok" not in out
    # a file is refused the same way, and kept whole
    (tmp_path / "notes.txt").write_text("mine\n")
    assert run("layout", tmp_path / "notes.txt", "--replace", "--ud", src["ud"])[0] == 1
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and not hidden(tmp_path, "notes.txt")


def test_replace_refuses_a_layout_holding_a_foreign_file(src, tmp_path, run):
    root = tmp_path / "root"
    assert run("layout", root, "--ud", src["ud"], "--tatoeba", src["tatoeba"])[0] == 0
    (root / "ud" / "fi" / "my-notes.txt").write_text("keep me\n")
    before = tree(root)
    rc, _, err = run("layout", root, "--replace", "--ud", src["ud"])
    assert rc == 1 and err.count("\n") == 1
    assert (
        f"{root / 'ud' / 'fi' / 'my-notes.txt'}: not made by the layout recorded in {root / 'layout.json'}"
        in err
    )
    assert tree(root) == before and not hidden(tmp_path, "root")


def test_replace_over_a_previous_layout_replaces_its_links_only(src, tmp_path, run):
    root = tmp_path / "root"
    assert run("layout", root, *layout_args(src))[0] == 0
    rc, _, err = run("layout", root, "--replace", "--ud", src["ud"], "--treebank", "ko=ko_kaist")
    assert rc == 0, err
    assert sorted(p.name for p in root.iterdir()) == [
        "layout.json",
        "ud",
    ]  # the old tatoeba/, nli/, conll17/ links gone
    assert sorted(p.name for p in (root / "ud" / "ko").iterdir()) == ["ko_kaist-ud-test.conllu"]
    assert json.loads((root / "layout.json").read_text())["treebanks"]["ko"] == "ko_kaist"
    assert not hidden(tmp_path, "root")
    # the downloads the old links pointed at are all still there
    assert (src["tatoeba"] / "tatoeba.fin-eng.fin").is_file() and (src["conll17"] / "English").is_dir()


def test_add_a_part_to_a_previous_layout(src, tmp_path, run):
    root = tmp_path / "root"
    assert (
        run("layout", root, "--ud", src["ud"], "--xnli", src["xnli"], "--mnli", src["mnli"])[0] == 0
    )
    rc, _, err = run("layout", root, "--add", "--conll17", src["conll17"])
    assert rc == 0, err
    assert (root / "conll17" / "en").resolve() == (src["conll17"] / "English").resolve()
    manifest = json.loads((root / "layout.json").read_text())
    assert set(manifest["sources"]) == {"ud", "xnli", "mnli", "conll17"}
    assert (
        "ud/fi" in manifest["counts"]
        and manifest["counts"]["conll17/fi"] == 1
        and "conll17/fi" in manifest["links"]
    )
    rc, _, err = run("layout", root, "--add", "--conll17", src["conll17"])  # already there
    assert rc == 1 and f"{root / 'conll17'}: exists: that part is laid out already" in err
    before = json.loads((root / "layout.json").read_text())
    # another treebank added beside the laid-out one would pool the two: the part is refused whole
    rc, _, err = run("layout", root, "--add", "--ud", src["ud"], "--treebank", "ko=ko_kaist")
    assert rc == 1 and f"{root / 'ud'}: exists: that part is laid out already" in err
    assert not (root / "ud" / "ko" / "ko_kaist-ud-test.conllu").exists()
    assert json.loads((root / "layout.json").read_text()) == before
    rc, _, err = run("layout", tmp_path / "fresh", "--add", "--conll17", src["conll17"])
    assert rc == 1 and "no layout.json" in err and not (tmp_path / "fresh").exists()
    assert run("check", root)[0] == 0


def test_the_treebank_choice_is_printed_and_recorded(src, tmp_path, run):
    release = tmp_path / "ud-treebanks-v2.13"
    shutil.copytree(src["ud"], release, symlinks=True)
    (release / "UD_English-GUM").mkdir()
    for split in ("train", "dev", "test"):
        (release / "UD_English-GUM" / f"en_gum-ud-{split}.conllu").write_text(
            conllu(2, "gum"), encoding="utf-8"
        )
    root = tmp_path / "root"
    rc, out, err = run("layout", root, "--ud", release)
    assert rc == 0, err
    line = next(x for x in out.splitlines() if x.startswith("treebank en:"))
    assert line.startswith("treebank en: en_ewt over en_gum: web text; the largest English treebank")
    assert "treebank fi:" not in out  # one treebank in the release: nothing to choose
    choice = json.loads((root / "layout.json").read_text())["treebank_choice"]
    assert choice["en"]["treebank"] == "en_ewt" and choice["en"]["others"] == ["en_gum"]
    assert choice["en"]["reason"].startswith("web text") and choice["ko"]["others"] == ["ko_kaist"]


def test_check_and_the_tatoeba_task_count_a_lone_carriage_return_alike(src, tmp_path, run):
    tat = tmp_path / "tatoeba"
    shutil.copytree(src["tatoeba"], tat)
    (tat / "tatoeba.fin-eng.fin").write_bytes(b"fi 0\nfi 1 \r with a lone CR\nfi 2\nfi 3\n")
    root = tmp_path / "root"
    rc, out, err = run("layout", root, "--tatoeba", tat)
    assert rc == 0, err  # 4 lines on both sides: the \r is inside line 2, as the task reads it
    assert "tatoeba/fi\t4" in out
    _, xs, _, es = read_pair(root, "fi")
    assert len(xs) == len(es) == 4 and xs[1] == "fi 1 \r with a lone CR"
