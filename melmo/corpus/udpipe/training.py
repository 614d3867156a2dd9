"""Training of a tokenizer-only UDPipe 1 model from CoNLL-U, written atomically, log captured."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping, Sequence

import ufal.udpipe as ud

from melmo.corpus.udpipe.conllu import _is_test_file, read_udpipe_sentences
from melmo.corpus.udpipe.errors import OptionError, TrainingError
from melmo.corpus.udpipe.options import tokenizer_option_string
from melmo.utils.atomic import write_atomic

TRAIN_METHOD = "morphodita_parsito"  # the only training method UDPipe 1 has


@contextmanager
def _capture_fd2(log_path: Path):
    """Send file descriptor 2 (the C++ std::cerr UDPipe logs to) into ``log_path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_path, "wb") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _tail(path: Path, n: int = 12) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def train_tokenizer(
    conllu_paths: Sequence[Path],
    out_path: Path,
    *,
    heldout_paths: Sequence[Path] | None = None,
    options: Mapping[str, object] | None = None,
    sentences: slice | None = None,
    log_path: Path | None = None,
    verbose: bool = False,
) -> Path:
    """Train a tokenizer-only UDPipe model (tagger and parser ``none``) and write it atomically to
    ``out_path``.

    ``options`` are UDPipe tokenizer options (``TOKENIZER_OPTIONS``; e.g. ``epochs``, ``dimension``);
    an unknown name or a bad value raises :class:`OptionError` before training starts.
    ``sentences`` keeps a slice of the training sentences (e.g. ``slice(0, 700)``).
    ``heldout_paths`` (never a test file) enables UDPipe's early stopping on them.
    UDPipe's training log (it writes to the process's stderr) is captured into ``log_path`` (a
    temporary file by default); ``verbose`` echoes it to stderr afterwards.
    """
    opts = tokenizer_option_string(options)
    conllu_paths = [Path(p) for p in conllu_paths]
    heldout_paths = [Path(p) for p in (heldout_paths or [])]
    if not conllu_paths:
        raise OptionError("train_tokenizer: no training CoNLL-U file given")
    for p in heldout_paths:
        if _is_test_file(p):
            raise OptionError(f"{p}: a test file cannot be heldout data "
                              "(early stopping would select on test)")
        if any(p.resolve() == q.resolve() for q in conllu_paths):
            raise OptionError(f"{p}: the same file is given as training and heldout data")
    train = read_udpipe_sentences(conllu_paths, sentences)
    if len(train) == 0:
        raise TrainingError(f"{conllu_paths[0]}: no training sentences (selection {sentences})")
    heldout = read_udpipe_sentences(heldout_paths) if heldout_paths else ud.Sentences()

    out_path = Path(out_path)
    tmpdir = None
    if log_path is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="udpipe-train-")
        log_path = Path(tmpdir.name) / "train.log"
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        err = ud.ProcessingError()
        with _capture_fd2(log_path):
            model = ud.Trainer.train(TRAIN_METHOD, train, heldout, opts, ud.Trainer.NONE, ud.Trainer.NONE,
                                     err)
        if verbose:
            sys.stderr.write(log_path.read_text(encoding="utf-8", errors="replace"))
        if not model or err.occurred():
            msg = err.message if err.occurred() else "no model returned"
            raise TrainingError(
                f"UDPipe training of {out_path} from {', '.join(map(str, conllu_paths))} failed: {msg}"
                f" (options {opts or 'defaults'}); log tail:\n{_tail(log_path)}"
            )
        write_atomic(out_path, bytes(model), fsync=True)
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    return out_path
