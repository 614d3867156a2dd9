"""Write a data root of links to the official downloads, check it, publish it whole.

    counts = write_layout(Sources(ud=..., ...), Path("/data/melmo"), settings)               # a new root
    counts = write_layout(Sources(conll17=...), Path("/data/melmo"), settings, add=True)     # a part added
    counts = write_layout(Sources(ud=..., ...), Path("/data/melmo"), settings, replace=True) # a layout redone

``settings``: conf/datasets.yaml (languages, treebanks, treebank_reasons, conll17_folders,
xnli_languages). The root is built in a temporary folder beside it, checked (melmo.datasets.checks) and
renamed into place, so a problem leaves nothing behind; a problem names the user's download file, never the
temporary tree. ``layout.json`` records each link's source, the treebanks with the reason for each choice,
and the counts.

Nothing that the layout did not make is ever deleted: ``replace`` only replaces a directory holding a
previous layout (its ``layout.json``) whose every entry is one of that layout's links or their folders;
anything else is refused in one line, with nothing touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from omegaconf import OmegaConf

from melmo.datasets.checks import check_root
from melmo.datasets.official import DatasetError, Sources, link_plan
from melmo.utils.atomic import swap_in, write_atomic

MANIFEST = "layout.json"


def load_settings(config: Path, treebank: list[str]) -> dict:
    """conf/datasets.yaml (or ``config``) with ``--treebank lang=code`` overrides applied."""
    if not config.is_file():
        raise DatasetError(f"{config}: no such config")
    cfg = OmegaConf.to_container(OmegaConf.load(config), resolve=True)
    cfg.setdefault("treebank_reasons", {})
    for item in treebank:
        lang, sep, code = item.partition("=")
        if not sep:
            raise DatasetError(f"--treebank {item}: expected <lang>=<code> (e.g. ko=ko_kaist, or ko=null)")
        cfg["treebanks"][lang] = None if code in ("", "null") else code
        cfg["treebank_reasons"][lang] = f"--treebank {item} on the command line"
    return cfg


def read_manifest(root: Path) -> dict:
    """The ``layout.json`` of a previous layout at ``root``; a DatasetError line when there is none."""
    path = root / MANIFEST
    if root.is_symlink() or not root.is_dir() or not path.is_file():
        raise DatasetError(
            f"{root}: not a data root written by `layout` (no {MANIFEST}): --replace and --add work only "
            "on one; nothing was changed"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        links = dict(manifest["links"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DatasetError(
            f"{path}: not a layout manifest ({type(err).__name__}: {err}); nothing was changed"
        ) from None
    manifest["links"] = links
    return manifest


def foreign_entry(root: Path, links: Mapping[str, str]) -> Path | None:
    """The first entry under ``root`` that the layout of ``links`` did not make (a file, a folder or a link of
    its own), or None: a layout makes only its links, the folders above them and ``layout.json``."""
    folders = {str(p) for rel in links for p in Path(rel).parents if str(p) != "."}
    for here, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(here) / name
            rel = str(path.relative_to(root))
            if rel == MANIFEST and path.is_file() and not path.is_symlink():
                continue
            if rel in links and path.is_symlink():
                continue
            if rel in folders and path.is_dir() and not path.is_symlink():
                continue
            return path
    return None


def _remove_layout(old: Path) -> None:
    """Delete a moved-aside layout whose entries were all checked by :func:`foreign_entry`: links and the
    manifest are unlinked, folders removed once empty (never followed, never emptied by force)."""
    for here, dirs, files in os.walk(old, topdown=False):
        for name in files:
            os.unlink(Path(here) / name)
        for name in dirs:
            p = Path(here) / name
            os.unlink(p) if p.is_symlink() else os.rmdir(p)
    os.rmdir(old)


def _part(rel: str) -> str:
    """The part of the root a link belongs to: its first folder (``nli/<download>`` for the NLI ones)."""
    return "/".join(rel.split("/")[:2]) if rel.startswith("nli/") else rel.split("/")[0]


def _user_paths(message: str, tmp: Path, root: Path, plan: list[tuple[str, Path]]) -> str:
    """``message`` with every path inside the temporary tree replaced by the download it links to."""
    for rel, source in sorted(plan, key=lambda x: -len(x[0])):
        message = message.replace(str(tmp / rel), str(source))
    return message.replace(str(tmp), str(root))


def _build(tmp: Path, plan: list[tuple[str, Path]], root: Path, settings: Mapping) -> dict[str, int]:
    languages = [str(x) for x in settings["languages"]]
    for rel, source in plan:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(source, tmp / rel, target_is_directory=source.is_dir())
    try:
        return check_root(tmp, languages, [str(x) for x in settings["xnli_languages"]])
    except DatasetError as err:
        raise DatasetError(_user_paths(str(err), tmp, root, plan)) from None


def write_layout(
    src: Sources,
    root: Path,
    settings: Mapping,
    replace: bool = False,
    add: bool = False,
    echo: Callable[[str], None] | None = print,
) -> dict[str, int]:
    """Lay ``src`` out at ``root`` (new; ``replace``: over a previous layout; ``add``: beside the parts of a
    previous layout); return the counts of what was laid out. ``echo`` gets the treebank choices."""
    root = Path(root).expanduser().absolute()
    if replace and add:
        raise DatasetError(
            "--replace and --add: give one (--add keeps the root's parts, --replace redoes it)"
        )
    old = read_manifest(root) if (replace or add) else None
    if old is None and (root.exists() or root.is_symlink()):
        raise DatasetError(
            f"{root}: exists (verify it with `python -m melmo.datasets check {root}`, "
            "--add a part to a previous layout, or --replace it)"
        )
    if replace:
        foreign = foreign_entry(root, old["links"])
        if foreign is not None:
            raise DatasetError(
                f"{foreign}: not made by the layout recorded in {root / MANIFEST}: --replace replaces "
                "only a previous layout's own links; move it away first (nothing was deleted)"
            )
    languages = [str(x) for x in settings["languages"]]
    choices: dict = {}
    plan = link_plan(
        src,
        languages,
        dict(settings["treebanks"]),
        dict(settings["conll17_folders"]),
        dict(settings.get("treebank_reasons") or {}),
        choices,
    )
    if not plan:
        raise DatasetError("nothing to lay out: give at least one of --ud --xnli --mnli --tatoeba --conll17")
    if add:  # a part (ud, tatoeba, nli/XNLI-1.0, nli/multinli_1.0, conll17) is laid out whole or not at all
        parts = {_part(rel) for rel in old["links"]}
        there = [rel for rel, _ in plan
                 if _part(rel) in parts or (root / rel).exists() or (root / rel).is_symlink()]
        if there:
            raise DatasetError(
                f"{root / _part(there[0])}: exists: that part is laid out already (--replace redoes the "
                "whole root); nothing was changed"
            )
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        counts = _build(tmp, plan, root, settings)
        for lang, c in choices.items():
            if c["others"] and echo is not None:
                echo(f"treebank {lang}: {c['treebank']} over {', '.join(c['others'])}: {c['reason']}")
        manifest = {
            "sources": {k: str(v) for k, v in vars(src).items() if v is not None},
            "treebanks": {lang: c["treebank"] for lang, c in choices.items()},
            "treebank_choice": choices,
            "links": {rel: str(source) for rel, source in plan},
            "counts": counts,
        }
        if add:
            for key in ("sources", "treebanks", "treebank_choice", "links", "counts"):
                manifest[key] = {**dict(old.get(key) or {}), **manifest[key]}
            for rel, _ in plan:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                os.rename(tmp / rel, root / rel)
            write_atomic(root / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
            return counts
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if not replace:
            os.rename(tmp, root)
            return counts
        _remove_layout(swap_in(tmp, root))   # only the previous layout's own links go
        return counts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
