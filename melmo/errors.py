"""The one base class of user-facing errors.

A :class:`MelmoError` says that the user's input is wrong (a file, a config key, a command-line value): its
message is one line naming the file (and line or key) and the problem, and the entry points print just that
line. Anything else that escapes an entry point is a bug in mELMo and is shown with its full traceback
(melmo.utils.errors). Each error class keeps the builtin parent that says what kind of problem it is
(``ValueError`` for a bad value, ``OSError`` for the disk, ...), so ``except ValueError`` still catches it.
"""

from __future__ import annotations


class MelmoError(Exception):
    """A problem with the user's input or environment (one-line message), not a bug."""


class FormatError(MelmoError, ValueError):
    """A file that does not read in its format (message ``file[:line]: problem``)."""


class ConfigError(MelmoError, ValueError):
    """A config value or option that cannot be used (message names the key and what it accepts)."""


class MissingFileError(MelmoError, FileNotFoundError):
    """An input file or directory the user named does not exist (message names it)."""
