"""Content hashes of corpus and model files, cached by (path, size, mtime) so that a re-run over
gigabyte corpora does not re-read them."""

from __future__ import annotations

import json
from pathlib import Path

from melmo.formats.files import file_sha256
from melmo.utils.atomic import write_atomic


def cached_sha256(path: Path, cache_dir: Path) -> str:
    """SHA-256 hex digest of ``path``'s bytes, looked up in ``<cache_dir>/sha256.json`` under the key
    (resolved path, size, mtime in ns) and computed (then recorded) when the key is new."""
    path = Path(path).resolve()
    st = path.stat()
    index = Path(cache_dir) / "sha256.json"
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    try:
        table = json.loads(index.read_text())
    except (OSError, ValueError):
        table = {}
    if key in table:
        return table[key]
    digest = file_sha256(path)
    table[key] = digest
    write_atomic(index, json.dumps(table))
    return digest
