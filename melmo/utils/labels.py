"""Names that say what a run is: the sampling name from α, and what a run changed from the defaults.

OmegaConf resolvers, registered when ``melmo`` is imported (``train.py`` imports it before Hydra
composes its config; with Hydra's compose API, ``import melmo`` first):

* ``${melmo.alpha_name:ALPHA}`` -- the sampling name of exponent ALPHA, spelled as the paper does:
  0.4 -> ``alpha04`` (M0.4), 0.2 -> ``alpha02``, 0 -> ``trunc`` (TRUNC), 1 -> ``full``, and any
  other α the same way, its decimal digits without the point: 0.3 -> ``alpha03``, 0.25 -> ``alpha025``.
  Every ``conf/sampling/alpha*.yaml`` derives its ``name`` with it, so an overridden α can never keep
  a stale name in the prepared-corpus directory, the Hydra sweep subdir or the W&B group.
* ``${melmo.changes:OVERRIDES,IGNORE}`` -- the command-line overrides (``hydra.overrides.task``) that
  change the experiment: every ``key=value`` whose key is not under one of the IGNORE prefixes
  (bookkeeping such as paths, devices, loggers, and the sampling keys, which ``sampling.name``
  already says). A list of strings, in command-line order.
* ``${melmo.label:NAME,CHANGES}`` -- ``NAME`` alone, or ``NAME+change,change`` (file-system safe):
  the W&B group and run name of an ablation (``alpha04+model.lstm.n_layers=1``).
* ``${melmo.tags:TAGS,...}`` -- the concatenation of lists and strings, de-duplicated, each cut
  to W&B's 64-character tag limit.
* ``${melmo.encoder_label:PATH,NAME}`` -- an evaluated encoder in a sweep subdir: NAME when set, else the
  run directory of the export PATH (``.../runs/<run>/model`` -> ``<run>``).
* ``${melmo.paper_languages:}`` -- the paper's 13 languages (melmo.languages.PAPER_LANGUAGES), the one
  list every config that means "the paper's languages" reads.
* ``${melmo.without:LIST,ITEM,...}`` -- LIST without the ITEMs, in order (the languages of a task that
  has no row for English: ``${melmo.without:${study.languages},en}``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from omegaconf import ListConfig, OmegaConf

from melmo.errors import ConfigError
from melmo.languages import PAPER_LANGUAGES

_UNSAFE = re.compile(r"[^A-Za-z0-9._,=+\-\[\]]")
WANDB_TAG_MAX = 64  # wandb.sdk: tags longer than 64 characters are rejected


def alpha_name(alpha) -> str:
    """``alpha04`` for 0.4: the paper's spelling of a sampling exponent; ``trunc`` for 0, ``full`` for 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or math.isnan(alpha):
        raise ConfigError(f"sampling.alpha must be a number in [0, 1], got {alpha!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"sampling.alpha must be in [0, 1], got {alpha}")
    if alpha == 0:
        return "trunc"
    if alpha == 1:
        return "full"
    return "alpha" + f"{float(alpha):.6g}".replace(".", "")


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def changes(overrides, ignore) -> list[str]:
    """The overrides that are not bookkeeping: ``key=value`` strings whose key is under no ignored prefix."""
    ignore = list(ignore or [])
    out = []
    for o in list(overrides or []):
        key = _key(str(o))
        if any(key == p or key.startswith(p + ".") for p in ignore):
            continue
        out.append(str(o))
    return out


def label(name: str, changed) -> str:
    """``name`` or ``name+change,change``, with characters unsafe in a path replaced by ``_``."""
    changed = list(changed or [])
    text = name if not changed else f"{name}+{','.join(changed)}"
    return _UNSAFE.sub("_", text)


def tags(*parts) -> list[str]:
    """Lists and strings flattened in order, de-duplicated, each at most 64 characters (W&B's limit)."""
    out: list[str] = []
    for p in parts:
        items = list(p) if isinstance(p, (list, tuple, ListConfig)) else [p]
        for t in items:
            t = str(t)[:WANDB_TAG_MAX]
            if t and t not in out:
                out.append(t)
    return out


def encoder_label(path, name=None) -> str:
    """An evaluated encoder in a path: ``name`` when given, else its run directory (``<run>/model`` ->
    ``<run>``)."""
    if name:
        return _UNSAFE.sub("_", str(name))
    p = Path(str(path))
    return _UNSAFE.sub("_", (p.parent.name if p.name == "model" and p.parent.name else p.name) or "encoder")


def paper_languages() -> list[str]:
    return list(PAPER_LANGUAGES)


def without(items, *drop) -> list:
    """``items`` in order, less every element of ``drop``."""
    return [x for x in list(items) if x not in drop]


def _as_node(fn):
    """A resolver that returns a ListConfig where ``fn`` returns a list: OmegaConf.resolve (``--cfg job
    --resolve``) cannot put a plain list where an interpolation was (omegaconf 2.3 UnsupportedValueType)."""
    def resolver(*args):
        out = fn(*args)
        return ListConfig(out) if isinstance(out, list) else out
    return resolver


def register() -> None:
    for name, fn in (("melmo.alpha_name", alpha_name), ("melmo.changes", changes), ("melmo.label", label),
                     ("melmo.tags", tags), ("melmo.encoder_label", encoder_label),
                     ("melmo.paper_languages", paper_languages), ("melmo.without", without)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, _as_node(fn))
