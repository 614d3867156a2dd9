"""Atomic writes: a file or a directory is written under a temporary name next to it, then renamed.

A reader (or a resumed run) sees either the old content or the new one, never a half-written file,
and a failure leaves nothing of the new content behind (POSIX ``rename(2)`` within one directory)::

    write_atomic(path, "text\\n")                    # str (UTF-8) or bytes
    with open_atomic(path, "w") as fh: ...           # a handle; "w" text, "wb" bytes
    with atomic_path(path) as tmp: torch.save(x, tmp) # a temporary path, for writers that take a name
    with staged_dir(out_dir, marker="stats.json") as tmp:
        (tmp / "stats.json").write_text(...)         # the whole directory appears at once

``fsync=True`` flushes the data to disk before the rename (use it for files that are expensive to
rebuild; a crash right after the rename could otherwise leave an empty file on some file systems).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

__all__ = ["write_atomic", "open_atomic", "atomic_path", "staged_dir", "publish_dir"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; when the block ends without an exception,
    rename it to ``path`` (replacing an existing file), else remove it. Parent directories are
    created. The file gets the permissions an ordinary ``open(path, "w")`` would give it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def open_atomic(path: str | os.PathLike, mode: str = "w", *, encoding: str = "utf-8",
                newline: str | None = None, fsync: bool = False) -> Iterator[IO]:
    """``open(path, mode)`` written atomically: ``mode`` is ``"w"`` (text: ``encoding``, ``newline``
    as for ``open``, e.g. ``newline=""`` for the ``csv`` module) or ``"wb"``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_atomic: mode {mode!r}: use 'w' or 'wb'")
    kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
    with atomic_path(path, fsync=fsync) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def write_atomic(path: str | os.PathLike, data: str | bytes, *, encoding: str = "utf-8",
                 fsync: bool = False) -> Path:
    """Write ``data`` (``str`` encoded with ``encoding``, or ``bytes``) to ``path`` atomically; return
    ``path``."""
    raw = data.encode(encoding) if isinstance(data, str) else bytes(data)
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(raw)
    return Path(path)


def swap_in(tmp: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Rename the existing ``final`` aside (a fresh ``.<name>.old-*`` beside it), then ``tmp`` into its
    place; if that rename fails, ``final`` is put back and the error stands. Returns the aside path: the
    caller removes what it knows to be its own there."""
    tmp, final = Path(tmp), Path(final)
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
    os.rmdir(old)
    os.rename(final, old)
    try:
        os.rename(tmp, final)
    except OSError:
        os.rename(old, final)
        raise
    return old


def publish_dir(tmp: Path, final: Path, marker: str | None = None, *, merge: bool = False,
                replace: bool = False) -> None:
    """Rename the finished directory ``tmp`` to ``final``.

    With ``replace``, an existing ``final`` is moved aside, ``tmp`` renamed in its place and the old
    one removed (restored if the rename fails): a reader sees the old or the new directory, whole.

    If ``final`` exists already: with ``merge``, each file of ``tmp`` replaces its namesake in
    ``final`` by one rename (no file is ever half written; files of ``final`` not in ``tmp`` stay);
    else, if another process published ``final`` first (its ``marker`` file exists), keep theirs and
    drop ours (both were built from the same fingerprinted inputs); otherwise the ``OSError`` stands.
    """
    tmp, final = Path(tmp), Path(final)
    if replace and final.exists():
        old = swap_in(tmp, final)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:  # a file or a link replaced by the directory: no hidden .old-* left behind
            old.unlink()
        return
    try:
        os.rename(tmp, final)
    except OSError:
        if merge and final.is_dir():
            for p in sorted(tmp.iterdir()):
                os.replace(p, final / p.name)
            shutil.rmtree(tmp, ignore_errors=True)
            return
        if marker is None or not (final / marker).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def staged_dir(final: str | os.PathLike, marker: str | None = None, *, merge: bool = False,
               replace: bool = False) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``final``; when the block ends without an
    exception, :func:`publish_dir` it to ``final`` (``marker``, ``merge`` as there); on an exception,
    or if publishing fails, remove it. Parent directories are created."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        publish_dir(tmp, final, marker, merge=merge, replace=replace)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
