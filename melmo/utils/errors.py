"""How every entry point ends on an error (train.py, evaluate.py, ``python -m melmo.corpus``,
``melmo.corpus.udpipe``, ``melmo.encode.embed_cli``, ``melmo.analysis``, ``melmo.study``).

One line on stderr, ``error: <Type>: <message>`` naming the file (and line or key) and the problem,
exit status :data:`USER_ERROR` (1, the status Hydra itself exits with on a composition error), nothing
half written. ``HYDRA_FULL_ERROR=1`` (Hydra's own switch for its composition errors) re-raises the
error instead, so the full traceback shows. Command-line usage errors of the argparse CLIs take the
same form and status (:class:`ArgumentParser`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from typing import NoReturn

log = logging.getLogger(__name__)

USER_ERROR = 1  # the exit status of every entry point that stops on an error
TRACEBACK_HINT = "(HYDRA_FULL_ERROR=1 for the traceback)"


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


def report(exc: BaseException, *, to_log: bool = False) -> int:
    """Print the one-line form of ``exc`` on stderr and return :data:`USER_ERROR`; with
    HYDRA_FULL_ERROR=1 re-raise ``exc`` instead (call it inside the ``except`` block).

    ``to_log``: also record the line with :mod:`logging` (a Hydra app's log file; its console handler
    writes to stdout, so stderr still holds the one line)."""
    if full_traceback_wanted():
        raise exc
    msg = f"error: {one_line(exc)}  {TRACEBACK_HINT}"
    if to_log:
        log.error(msg)
    print(msg, file=sys.stderr, flush=True)
    return USER_ERROR


def exit_on_error(exc: BaseException) -> NoReturn:
    """:func:`report` ``exc`` (also to the log) and exit with :data:`USER_ERROR`: the end of a Hydra entry point."""
    sys.exit(report(exc, to_log=True))


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error convention: a usage error is one line and :data:`USER_ERROR`."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (--help for usage)", file=sys.stderr, flush=True)
        sys.exit(USER_ERROR)
