"""Write a data root of links to the official downloads, check it, publish it whole.

    counts = write_layout(Sources(ud=..., ...), Path("/data/melmo"), settings)

``settings``: conf/datasets.yaml (languages, treebanks, conll17_folders, xnli_languages). The root is
built in a temporary folder beside it, checked (melmo.datasets.checks) and renamed into place, so a
problem leaves nothing behind; ``layout.json`` records each link's source, the treebanks and the counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from omegaconf import OmegaConf

from melmo.datasets.checks import check_root
from melmo.datasets.official import DatasetError, Sources, link_plan
from melmo.utils.atomic import staged_dir

MANIFEST = "layout.json"


def load_settings(config: Path, treebank: list[str]) -> dict:
    """conf/datasets.yaml (or ``config``) with ``--treebank lang=code`` overrides applied."""
    if not config.is_file():
        raise DatasetError(f"{config}: no such config")
    cfg = OmegaConf.to_container(OmegaConf.load(config), resolve=True)
    for item in treebank:
        lang, sep, code = item.partition("=")
        if not sep:
            raise DatasetError(f"--treebank {item}: expected <lang>=<code> (e.g. ko=ko_kaist, or ko=null)")
        cfg["treebanks"][lang] = None if code in ("", "null") else code
    return cfg


def write_layout(src: Sources, root: Path, settings: Mapping, replace: bool = False) -> dict[str, int]:
    root = Path(root).expanduser().absolute()
    if root.exists() and not replace:
        raise DatasetError(f"{root}: exists (verify it with `python -m melmo.datasets check {root}`, or --replace)")
    languages = [str(x) for x in settings["languages"]]
    plan = link_plan(src, languages, dict(settings["treebanks"]), dict(settings["conll17_folders"]))
    if not plan:
        raise DatasetError("nothing to lay out: give at least one of --ud --xnli --mnli --tatoeba --conll17")
    with staged_dir(root, replace=replace) as tmp:
        for rel, source in plan:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source, tmp / rel, target_is_directory=source.is_dir())
        counts = check_root(tmp, languages, [str(x) for x in settings["xnli_languages"]])
        manifest = {"sources": {k: str(v) for k, v in vars(src).items() if v is not None},
                    "treebanks": {lang: dict(settings["treebanks"]).get(lang) for lang in languages},
                    "links": {rel: str(source) for rel, source in plan}, "counts": counts}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts
