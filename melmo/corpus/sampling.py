"""How many tokens of each language go into the training mixture.

Three rules, one per config in ``conf/sampling/``:

* ``AlphaSampling`` -- the paper's rule (§3.2 of "Multilingual ELMo and the effects of corpus
  sampling"): the smallest language keeps all of its data and language i keeps
  ``n_min * (n_i / n_min) ** alpha`` tokens. This is q_i ∝ p_i^α (XLM/mBERT-style exponentiated
  smoothing) scaled so that the smallest language is used whole, with no repetition.
  α = 0 is TRUNC (every language cut to the smallest), α = 1 keeps everything.
* ``MonoSampling`` -- one language, all of it (the paper's MONO models).
* ``UniMaxSampling`` -- Chung et al. 2023 (UniMax, ICLR): spread a total token budget as uniformly
  as possible over languages, never repeating any language more than ``max_epochs`` times.

All functions are pure Python (no torch) and validate their inputs with one-line errors.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

from melmo.errors import MelmoError
from melmo.languages import check_language

__all__ = ["AlphaSampling", "MonoSampling", "SamplingError", "UniMaxSampling", "mono_sizes", "target_sizes",
           "unimax_sizes"]


class SamplingError(MelmoError, ValueError):
    """Bad input to a sampling rule (one-line message)."""


def _check_counts(token_counts: Mapping[str, int] | Iterable[tuple[str, int]]) -> dict[str, int]:
    """Normalise ``token_counts`` to a dict of lower-case codes, rejecting bad input."""
    pairs = list(token_counts.items()) if isinstance(token_counts, Mapping) else list(token_counts)
    if not pairs:
        raise SamplingError("token_counts is empty: give at least one language and its token count")
    counts: dict[str, int] = {}
    for lang, n in pairs:
        code = check_language(lang)
        if code in counts:
            raise SamplingError(f"duplicate language code {lang!r} in token_counts")
        if isinstance(n, bool) or not isinstance(n, (int,)) and not (hasattr(n, "__index__")):
            raise SamplingError(f"token count of {code!r} must be an integer, got {n!r}")
        n = int(n)
        if n <= 0:
            raise SamplingError(f"language {code!r} has {n} tokens: its corpus is empty")
        counts[code] = n
    return counts


def target_sizes(token_counts: Mapping[str, int], alpha: float) -> dict[str, int]:
    """Tokens to keep per language under exponent ``alpha`` (a stable public interface).

    ``target_i = round(n_min * (n_i / n_min) ** alpha)``, capped at ``n_i``; the smallest language
    keeps exactly ``n_min``; ``alpha == 0`` gives every language ``n_min`` (TRUNC) and
    ``alpha == 1`` returns the counts unchanged.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or math.isnan(alpha):
        raise SamplingError(f"alpha must be a number in [0, 1], got {alpha!r}")
    if not 0.0 <= alpha <= 1.0:
        raise SamplingError(f"alpha must be in [0, 1], got {alpha}")
    counts = _check_counts(token_counts)
    n_min = min(counts.values())
    out = {}
    for lang, n in counts.items():
        if alpha == 1.0:
            out[lang] = n
        else:
            out[lang] = min(n, int(round(n_min * (n / n_min) ** alpha)))
    return out


def mono_sizes(token_counts: Mapping[str, int], language: str) -> dict[str, int]:
    """One language, all of its tokens (the paper's MONO models)."""
    counts = _check_counts(token_counts)
    code = check_language(language)
    if code not in counts:
        raise SamplingError(f"mono language {code!r} is not among the corpora ({', '.join(counts)})")
    return {code: counts[code]}


def unimax_sizes(token_counts: Mapping[str, int], budget: int, max_epochs: float = 1.0) -> dict[str, int]:
    """UniMax (Chung et al. 2023, Algorithm 1): a uniform share of ``budget``, capped at
    ``max_epochs * n_i``, handed out from the smallest language up; what a small language cannot
    use is spread over the larger ones. A target above n_i means the language is repeated.
    """
    counts = _check_counts(token_counts)
    if isinstance(budget, bool) or int(budget) != budget or budget <= 0:
        raise SamplingError(f"unimax budget must be a positive number of tokens, got {budget!r}")
    if not max_epochs > 0:
        raise SamplingError(f"unimax max_epochs must be > 0, got {max_epochs!r}")
    remaining = int(budget)
    out: dict[str, int] = {}
    order = sorted(counts, key=lambda code: (counts[code], code))  # smallest first (Algorithm 1)
    for i, lang in enumerate(order):
        share = remaining // (len(order) - i)
        out[lang] = min(share, int(math.floor(max_epochs * counts[lang])))
        remaining -= out[lang]
    return {lang: out[lang] for lang in counts}


# --------------------------------------------------------------------------------------------
# The strategies Hydra instantiates from conf/sampling/*.yaml (keys = constructor arguments).


@dataclass(frozen=True)
class AlphaSampling:
    """Exponent sampling (alpha04, alpha02, trunc = alpha 0, full = alpha 1)."""

    alpha: float
    name: str = "alpha"

    def sizes(self, token_counts: Mapping[str, int]) -> dict[str, int]:
        return target_sizes(token_counts, self.alpha)

    def languages(self, available: list[str]) -> list[str]:
        return list(available)

    def describe(self) -> dict:
        return {"strategy": "alpha", **asdict(self)}


@dataclass(frozen=True)
class MonoSampling:
    """One language, all of it (MONO)."""

    language: str
    name: str = "mono"

    def sizes(self, token_counts: Mapping[str, int]) -> dict[str, int]:
        return mono_sizes(token_counts, self.language)

    def languages(self, available: list[str]) -> list[str]:
        code = check_language(self.language)
        if code not in available:
            raise SamplingError(f"mono language {code!r} is not among the configured languages")
        return [code]

    def describe(self) -> dict:
        return {"strategy": "mono", **asdict(self)}


@dataclass(frozen=True)
class UniMaxSampling:
    """UniMax with a budget in tokens, or as a fraction of all tokens when ``budget_tokens`` is null."""

    max_epochs: float = 1.0
    budget_tokens: int | None = None
    budget_fraction: float | None = None
    name: str = "unimax"

    def budget(self, token_counts: Mapping[str, int]) -> int:
        if (self.budget_tokens is None) == (self.budget_fraction is None):
            raise SamplingError("unimax needs exactly one of budget_tokens and budget_fraction")
        if self.budget_tokens is not None:
            return int(self.budget_tokens)
        if not 0 < self.budget_fraction:
            raise SamplingError(f"unimax budget_fraction must be > 0, got {self.budget_fraction}")
        return max(1, int(round(self.budget_fraction * sum(_check_counts(token_counts).values()))))

    def sizes(self, token_counts: Mapping[str, int]) -> dict[str, int]:
        return unimax_sizes(token_counts, self.budget(token_counts), self.max_epochs)

    def languages(self, available: list[str]) -> list[str]:
        return list(available)

    def describe(self) -> dict:
        return {"strategy": "unimax", **asdict(self)}
