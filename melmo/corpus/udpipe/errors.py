"""The UDPipe package's error classes (every one carries a one-line message)."""

from __future__ import annotations

from melmo.errors import MelmoError


class UDPipeError(MelmoError):
    """Base class of this module's errors (all carry a one-line message)."""


class ModelNotFoundError(UDPipeError, FileNotFoundError):
    """No model file where one was looked for."""


class InvalidModelError(UDPipeError, ValueError):
    """A file that UDPipe cannot load as a model, or a model without a tokenizer."""


class TrainingError(UDPipeError, RuntimeError):
    """UDPipe training failed (the message includes UDPipe's error and the tail of its log)."""


class OptionError(UDPipeError, ValueError):
    """An unknown or invalid tokenizer training option."""
