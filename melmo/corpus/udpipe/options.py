"""UDPipe 1 tokenizer training options: the names UDPipe reads and a check of every value.

    tokenizer_option_string({"epochs": 10, "dimension": 16})  # -> "dimension=16;epochs=10"
"""

from __future__ import annotations

import re
from typing import Mapping

from melmo.corpus.udpipe.errors import OptionError


def _bool(v: object) -> str:
    if isinstance(v, bool) or v in (0, 1, "0", "1", "true", "false", "True", "False"):
        return "1" if str(v) in ("1", "True", "true") else "0"
    raise ValueError("must be 0/1 or a bool")


def _int(lo: int | None = None, allowed: tuple[int, ...] | None = None):
    def check(v: object) -> str:
        if isinstance(v, bool) or not re.fullmatch(r"-?\d+", str(v).strip()):
            raise ValueError("must be an integer")
        n = int(str(v).strip())
        if allowed is not None and n not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        if lo is not None and n < lo:
            raise ValueError(f"must be >= {lo}")
        return str(n)
    return check


def _float(lo: float = 0.0, hi: float | None = None, lo_open: bool = False):
    def check(v: object) -> str:
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if x < lo or (lo_open and x == lo) or (hi is not None and x >= hi):
            raise ValueError(f"must be in {'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'})")
        return repr(x)
    return check


def _choice(*names: str):
    def check(v: object) -> str:
        if str(v) not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return str(v)
    return check


def _text(v: object) -> str:
    return str(v)


# Every tokenizer option UDPipe 1.4 reads (trainer_morphodita_parsito.cpp, train_tokenizer). UDPipe
# ignores any other name silently (`epoch=1` trains the default 100 epochs), so we reject it instead.
TOKENIZER_OPTIONS = {
    "model": _choice("gru", "generic"),
    "from_model": _text,
    "run": _int(lo=0),
    "detokenize": _text,
    "detokenize_handout": _bool,
    "tokenize_url": _bool,
    "allow_spaces": _bool,
    "segment_size": _int(lo=10),  # smaller values make UDPipe fail (measured)
    "dimension": _int(allowed=(16, 24, 64)),  # the GRU sizes UDPipe implements
    "epochs": _int(lo=1),
    "batch_size": _int(lo=1),
    "learning_rate": _float(0.0, lo_open=True),
    "learning_rate_final": _float(0.0),
    "dropout": _float(0.0, 1.0),
    "initialization_range": _float(0.0, lo_open=True),
    "early_stopping": _bool,
}


def tokenizer_option_string(options: Mapping[str, object] | None) -> str:
    """``{"epochs": 10, "dimension": 16}`` -> ``"dimension=16;epochs=10"``, after checking every name and
    value."""
    parts = []
    for name, value in sorted((options or {}).items()):
        if name not in TOKENIZER_OPTIONS:
            close = [k for k in TOKENIZER_OPTIONS if k.startswith(name[:3])]
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise OptionError(
                f"unknown UDPipe tokenizer option {name!r}{hint}; known: "
                f"{', '.join(sorted(TOKENIZER_OPTIONS))}"
            )
        try:
            text = TOKENIZER_OPTIONS[name](value)
        except ValueError as err:
            raise OptionError(f"UDPipe tokenizer option {name}={value!r}: {err}") from None
        if any(c in text for c in ";\n\r"):
            raise OptionError(f"UDPipe tokenizer option {name}={value!r}: value may not contain ';' or a "
                              "newline")
        parts.append(f"{name}={text}")
    return ";".join(parts)
