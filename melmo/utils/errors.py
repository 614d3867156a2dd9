"""How every entry point ends on an error (train.py, evaluate.py, ``python -m melmo.corpus``,
``melmo.corpus.udpipe``, ``melmo.encode.embed_cli``, ``melmo.analysis``, ``melmo.study``, ``melmo.datasets``).

A user error -- a :class:`melmo.errors.MelmoError`, or a config error of Hydra or OmegaConf (a missing or
mistyped key, a ``_target_`` that cannot be found or takes other arguments) -- is one line on stderr,
``error: <Type>: <message>`` naming the file (and line or key) and the problem, exit status
:data:`USER_ERROR` (1, the status Hydra itself exits with on a composition error), nothing half written.
Anything else is a bug in mELMo: its full traceback, then one ``error:`` line saying so, exit status
:data:`INTERNAL_ERROR`. ``HYDRA_FULL_ERROR=1`` (Hydra's own switch for its composition errors) re-raises
a user error too, so its traceback shows. Command-line usage errors of the argparse CLIs take the
user-error form and status (:class:`ArgumentParser`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from typing import NoReturn

from melmo.errors import MelmoError

log = logging.getLogger(__name__)

USER_ERROR = 1  # the exit status of every entry point that stops on a user error
INTERNAL_ERROR = 70  # EX_SOFTWARE of BSD's sysexits.h, "an internal software error": a bug, not the input
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


def _raised_at_the_call(exc: BaseException) -> bool:
    """True when ``exc`` was raised by the call itself (binding the arguments), not inside the callee:
    its traceback holds the calling frame only."""
    tb = exc.__traceback__
    return tb is not None and tb.tb_next is None


def user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's (a MelmoError, a Hydra or OmegaConf config error) rather than a bug.

    Hydra wraps whatever a ``_target_`` raises in an InstantiationException: it is the user's when what it
    wraps is, when it wraps nothing or an ImportError (a target Hydra cannot locate), or when the wrapped
    TypeError came from binding the config's arguments to the target (a key the target does not take)."""
    from hydra.errors import HydraException, InstantiationException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, (MelmoError, OmegaConfBaseException)):
        return True
    if isinstance(exc, InstantiationException):
        cause = exc.__cause__
        return (cause is None or user_error(cause) or isinstance(cause, ImportError)
                or (isinstance(cause, TypeError) and _raised_at_the_call(cause)))
    return isinstance(exc, HydraException)


def report(exc: BaseException, *, to_log: bool = False) -> int:
    """End an entry point on ``exc`` (call it inside the ``except`` block): a user error
    (:func:`user_error`) prints its one-line form on stderr and returns :data:`USER_ERROR` (with
    HYDRA_FULL_ERROR=1 ``exc`` is re-raised instead); anything else prints its full traceback and a
    last line saying it is a bug, and returns :data:`INTERNAL_ERROR`.

    ``to_log``: also record the line with :mod:`logging` (a Hydra app's log file; its console handler
    writes to stdout, so stderr still holds the one line)."""
    if not user_error(exc):
        traceback.print_exception(exc, file=sys.stderr)
        msg = f"error: internal error (a bug in mELMo, not your input; please report it): {one_line(exc)}"
        if to_log:
            log.error(msg)
        print(msg, file=sys.stderr, flush=True)
        return INTERNAL_ERROR
    if full_traceback_wanted():
        raise exc
    msg = f"error: {one_line(exc)}  {TRACEBACK_HINT}"
    if to_log:
        log.error(msg)
    print(msg, file=sys.stderr, flush=True)
    return USER_ERROR


def exit_on_error(exc: BaseException) -> NoReturn:
    """:func:`report` ``exc`` (also to the log) and exit with its status: the end of a Hydra entry point."""
    sys.exit(report(exc, to_log=True))


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error convention: a usage error is one line and :data:`USER_ERROR`."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (--help for usage)", file=sys.stderr, flush=True)
        sys.exit(USER_ERROR)
