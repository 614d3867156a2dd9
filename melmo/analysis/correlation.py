"""Correlation between the per-language score difference of two encoders and the corpus sizes.

The paper (section 4) reports, for PoS, Spearman's rho of MONO - M0.4 against corpus size
(|rho| = 0.74, p = 0.006) and of M0.2 - M0.4 (|rho| = 0.65, p = 0.02; the paper calls it Pearson,
but Spearman is what reproduces it from its Tables 3 and 4).

Sizes (language -> tokens) come from a mapping, a prepared corpus's ``metadata.json`` (its
``realised`` tokens per language, see melmo.corpus.prepare) or a CSV with columns
``language,tokens``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from scipy import stats

from melmo.languages import UnknownLanguageError, check_language
from melmo.results.table import ResultsError, load_results

log = logging.getLogger(__name__)


def _sizes_json(path: Path) -> dict[str, float]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not a JSON file ({e})") from None
    realised = meta.get("realised") if isinstance(meta, dict) else None
    if not isinstance(realised, dict):
        raise ResultsError(f"{path}: no 'realised' key (a prepared corpus's metadata.json has "
                           "realised.<lang>.tokens)")
    out = {}
    for lang, r in realised.items():
        tokens = r.get("tokens") if isinstance(r, dict) else None
        if not isinstance(tokens, (int, float)) or isinstance(tokens, bool):
            raise ResultsError(f"{path}: realised.{lang}.tokens is missing or not a number")
        out[lang] = float(tokens)
    return out


def _sizes_csv(path: Path) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as f:
        lines = [(i, ln) for i, ln in enumerate(f.read().splitlines(), 1)
                 if ln.strip() and not ln.startswith("#")]
    rows = list(csv.reader([ln for _, ln in lines]))
    if not rows or [h.strip() for h in rows[0]][:2] != ["language", "tokens"]:
        raise ResultsError(f"{path}: the header must be language,tokens")
    out = {}
    for r, ((line, _), row) in enumerate(zip(lines[1:], rows[1:]), start=1):
        where = f"{path}: row {r} (line {line})"
        if len(row) < 2:
            raise ResultsError(f"{where}: expected language,tokens")
        try:
            value = float(row[1])
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise ResultsError(f"{where}: tokens {row[1]!r} is not a non-negative number")
        if row[0].strip().lower() in out:
            raise ResultsError(f"{where}: language {row[0]!r} appears twice")
        out[row[0].strip().lower()] = value
    return out


def load_sizes(source: Mapping[str, float] | str | Path) -> dict[str, float]:
    """Language -> corpus tokens from a mapping, a ``metadata.json`` or a ``language,tokens`` CSV."""
    if isinstance(source, Mapping):
        raw, name = dict(source), "sizes"
    else:
        path = Path(source)
        if not path.is_file():
            raise ResultsError(f"{path}: no such sizes file")
        raw, name = (_sizes_json(path) if path.suffix == ".json" else _sizes_csv(path)), str(path)
    out = {}
    for lang, v in raw.items():
        try:
            out[check_language(lang)] = float(v)
        except UnknownLanguageError as e:
            raise ResultsError(f"{name}: {e}") from None
        except (TypeError, ValueError):
            raise ResultsError(f"{name}: size of {lang!r} is not a number: {v!r}") from None
    return out


def language_difference(results, task: str, metric: str, encoder_a: str, encoder_b: str) -> pd.Series:
    """Per language: (mean over seeds of a) - (mean over seeds of b), where both have a value."""
    df = load_results(results)
    df = df[(df["task"] == task) & (df["metric"] == metric)]
    means = df.groupby(["encoder", "language"])["value"].mean()
    missing = [e for e in (encoder_a, encoder_b) if e not in means.index.get_level_values(0)]
    if missing:
        raise ResultsError(f"no {task}/{metric} results for encoder {', '.join(missing)}")
    diff = (means.loc[encoder_a] - means.loc[encoder_b]).dropna()
    diff.name = f"{encoder_a} - {encoder_b}"
    return diff


def size_correlation(results, sizes, task: str, metric: str, encoder_a: str, encoder_b: str,
                     method: str = "spearman") -> tuple[float, float]:
    """(rho, p): correlation over languages between ``a - b`` and the corpus size.

    ``results``: a long results DataFrame or CSV path; ``sizes``: see :func:`load_sizes`. The
    difference per language is encoder_a's mean over seeds minus encoder_b's; the sign of rho
    follows ``a - b``: a negative rho means ``a`` gains over ``b`` on the smaller corpora (as MONO
    over M0.4 for PoS in the paper, rho = -0.74 here, reported there as 0.74). Languages missing
    for either encoder or from ``sizes`` are left out (the latter reported in one log line).
    ``method``: "spearman" or "pearson" (scipy.stats); p is two-sided. Constant sizes (e.g. the
    TRUNC corpus's) or a constant difference give (nan, nan) and a log line.
    """
    if method not in ("spearman", "pearson"):
        raise ValueError(f"unknown correlation method {method!r} (use spearman or pearson)")
    diff = language_difference(results, task, metric, encoder_a, encoder_b)
    sizes = load_sizes(sizes)
    unsized = [lang for lang in diff.index if lang not in sizes]
    if unsized:
        log.warning("no corpus size for %s: left out of the %s/%s correlation", ", ".join(unsized), task,
                    metric)
    langs = [lang for lang in diff.index if lang in sizes]
    if len(langs) < 3:
        raise ResultsError(f"{task}/{metric} {encoder_a} - {encoder_b}: {len(langs)} languages with sizes, "
                           "need 3")
    x, y = [sizes[lang] for lang in langs], [float(diff[lang]) for lang in langs]
    if len(set(x)) == 1 or len(set(y)) == 1:
        log.warning("%s/%s %s - %s: %s constant, no correlation", task, metric, encoder_a, encoder_b,
                    "the sizes are" if len(set(x)) == 1 else "the difference is")
        return math.nan, math.nan
    res = stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)
    return float(res.statistic), float(res.pvalue)
