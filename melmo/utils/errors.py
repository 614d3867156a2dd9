"""How train.py ends on an error: one line naming the file or key and the problem, exit status 1;
the full traceback with HYDRA_FULL_ERROR=1 (Hydra's own switch for its composition errors)."""

from __future__ import annotations

import logging
import os
import re
import sys

log = logging.getLogger(__name__)


def full_traceback_wanted() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def config_error(exc: BaseException) -> str | None:
    """One line for a config problem (an OmegaConf error), naming the key: a missing mandatory value (``???``)
    says which key to set and which key needed it; None for any other exception."""
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    if not isinstance(exc, OmegaConfBaseException):
        return None
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    key = getattr(exc, "full_key", None) or None
    m = re.search(r"Missing mandatory value: ?(\S+)", text)
    if m or isinstance(exc, MissingMandatoryValue):
        missing = (m.group(1) if m else None) or key
        via = f" (needed by {key})" if key and key != missing else ""
        return f"config key {missing} is not set{via}: give {missing}=<value>"
    return f"config key {key}: {first}" if key else first


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (Hydra's instantiation errors span several: joined with ' | ')."""
    config = config_error(exc)
    if config is not None:
        return f"{type(exc).__name__}: {config}"
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = exc.__cause__ or exc.__context__
    if not parts and cause is not None:
        return one_line(cause)
    return f"{type(exc).__name__}: {' | '.join(parts) or '(no message)'}"


def exit_on_error(exc: BaseException, stream=None) -> None:
    """Print the one-line form of ``exc`` and exit 1 (re-raise instead with HYDRA_FULL_ERROR=1)."""
    if full_traceback_wanted():
        raise exc
    msg = f"error: {one_line(exc)}  (HYDRA_FULL_ERROR=1 for the traceback)"
    log.error(msg)
    print(msg, file=stream or sys.stderr, flush=True)
    sys.exit(1)
