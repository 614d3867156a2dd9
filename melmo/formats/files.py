"""Opening a file whatever its compression (plain, .xz, .gz), and its content hash.

    with open_text(path) as fh: ...           # UTF-8 text; .xz / .gz decompressed on the fly
    with open_text(path, binary=True) as fh:  # the (decompressed) bytes
    except READ_ERRORS: ...                   # what a missing, truncated or corrupt file raises
    compressed_variant(path)                  # path, or path.xz / path.gz when only a compressed copy exists
    file_sha256(path)                         # hex digest of the file's bytes as stored (not decompressed)
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
from pathlib import Path

COMPRESSED = {".xz": lzma.open, ".gz": gzip.open}
# OSError covers gzip.BadGzipFile; EOFError a truncated archive; LZMAError a corrupt .xz
READ_ERRORS = (OSError, EOFError, lzma.LZMAError)


def open_text(path: str | Path, binary: bool = False, newline: str | None = "\n"):
    """``path`` opened for reading, decompressed by its suffix; text is UTF-8 with ``newline`` as
    :func:`open` takes it (``"\\n"``: lines end at LF only, a CR stays in the line)."""
    path = Path(path)
    opener = COMPRESSED.get(path.suffix, open)
    if binary:
        return opener(path, "rb")
    return opener(path, "rt", encoding="utf-8", newline=newline)


def compressed_variant(path: str | Path) -> Path | None:
    """``path`` when it is a file, else ``path.xz`` or ``path.gz`` when one is; None when none is."""
    path = Path(path)
    for cand in (path, *(path.with_name(path.name + suffix) for suffix in COMPRESSED)):
        if cand.is_file():
            return cand
    return None


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Content hash of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
