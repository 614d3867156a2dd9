"""The project's Hydra configs, shipped inside the package (``melmo/conf``; ``conf/`` at the repository's top
is a link to it), so an installed wheel finds them as a source checkout does.

Every code path reaches them through this module, never through the source tree:

* the Hydra apps (``melmo-train``, ``melmo-evaluate``, ``melmo-study``; ``python train.py``) name
  :data:`SOURCE`, Hydra's ``pkg://`` config source for this package;
* :func:`conf_file` gives one file or folder (``conf_file("model", "elmo_tiny.yaml")``);
* :func:`compose` composes a primary config with overrides, as its app would, from plain Python (the study's
  estimates), and leaves Hydra's global state as it found it (it also works inside a running app).

Run directories and outputs never land here: ``paths.root_dir`` is the working directory (conf/paths).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE = __name__          # "melmo.conf"
SOURCE = f"pkg://{PACKAGE}"  # Hydra's config source for an importable package (hydra.main's config_path)
VERSION_BASE = "1.3"


def conf_file(*parts: str) -> Path:
    """A file or folder of the shipped configs, e.g. ``conf_file("datasets.yaml")``."""
    return Path(str(files(PACKAGE).joinpath(*parts)))


def compose(config_name: str, overrides: list[str] | tuple[str, ...] = ()):
    """The config ``config_name`` (train, evaluate, study, ...) composed with ``overrides`` as its app
    composes it, without the ``hydra`` node; Hydra's global state is restored afterwards."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from hydra.core.global_hydra import GlobalHydra

    outer = GlobalHydra.instance().hydra   # a running app's (or a test's) Hydra, or None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_module(PACKAGE, version_base=VERSION_BASE):
            return hydra_compose(config_name, overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()   # initialize_config_module swaps the instance on exit: fetch it anew
        if outer is not None:
            GlobalHydra.instance().initialize(outer)
