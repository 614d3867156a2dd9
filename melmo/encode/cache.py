"""Activation cache: each (encoder weights, data, tokenization, policy) is encoded once.

    cache = ActivationCache(root)
    acts = cache.get(model, sentences, tokenization={...}, policy=Policy(), label="en/dev")
    acts.sentence(i)      # (n_tokens_i, L + 1, D) float16 view into a memory map
    acts.meta             # n_sentences, n_tokens, tokens cut at max_characters_per_token, ...

On disk, ``<root>/<key[:2]>/<key>/``:

    activations.f16   raw float16, C order, shape (n_tokens, L + 1, D): all sentences back to back
    offsets.npy       int64 (n_sentences + 1,): sentence i is rows offsets[i]:offsets[i + 1]
    meta.json         the key's fields, shapes, byte size and sha256 of activations.f16

The key is the sha256 of the weight file's hash, the data's hash (of the exact token lists fed),
the tokenization descriptor and the policy. A cache is written into a temporary directory and
published by one rename, so a reader sees all of it or nothing; encoding is deterministic, so two
runs write bit-identical files. A cache whose activation file does not have the size meta.json
records (truncated on disk) is detected on open and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from melmo.encode.policy import Policy, as_policy, encode
from melmo.errors import MelmoError
from melmo.formats.files import file_sha256
from melmo.model.chars import is_truncated
from melmo.utils.atomic import publish_dir

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the layout or the meaning of a key field changes
ACTS_NAME, OFFSETS_NAME, CACHE_META_NAME = "activations.f16", "offsets.npy", "meta.json"


def data_sha256(sentences: Sequence[Sequence[str]]) -> str:
    """Hash of the exact token lists (order, boundaries and spelling all count)."""
    h = hashlib.sha256()
    for s in sentences:
        h.update(json.dumps(list(s), ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def cache_key(weights_sha256: str, data_hash: str, tokenization: Mapping, policy: Policy) -> str:
    fields = {"version": CACHE_VERSION, "weights": weights_sha256, "data": data_hash,
              "tokenization": dict(tokenization), "policy": policy.describe()}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CacheSpaceError(MelmoError, OSError):
    """The activations would not fit on the cache's disk."""


def check_room(directory: Path, needed: int, what: str, margin: float = 0.05) -> None:
    """Refuse, in one line, a cache that would fill the disk of ``directory``: ``needed`` bytes must
    fit in its free space less ``margin`` of it (the rule for MultiNLI-sized sets, docs/protocol.md
    "XNLI")."""
    free = shutil.disk_usage(directory).free
    if needed > free * (1 - margin):
        raise CacheSpaceError(f"{directory}: the float16 activation cache of {what} needs {needed / 1e9:.2f} "
                              f"GB and the disk has {free / 1e9:.2f} GB free: point encode.cache_dir at a "
                              "larger disk, or train on fewer pairs (task.data.max_train_pairs)")


class CachedActivations:
    """A published cache entry, memory-mapped read-only."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.meta = json.loads((directory / CACHE_META_NAME).read_text(encoding="utf-8"))
        self.offsets = np.load(directory / OFFSETS_NAME)
        shape = (self.meta["n_tokens"], self.meta["n_layers"], self.meta["dim"])
        self.acts = (np.memmap(directory / ACTS_NAME, dtype=np.float16, mode="r", shape=shape)
                     if self.meta["n_tokens"] else np.zeros(shape, np.float16))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sentence(self, i: int) -> np.ndarray:
        """(n_tokens_i, L + 1, D) float16."""
        return self.acts[self.offsets[i] : self.offsets[i + 1]]


def _intact(directory: Path) -> bool:
    """True when meta.json, offsets.npy and an activation file of the recorded size are all there."""
    try:
        meta = json.loads((directory / CACHE_META_NAME).read_text(encoding="utf-8"))
        offsets = np.load(directory / OFFSETS_NAME)
        size = (directory / ACTS_NAME).stat().st_size
    except (OSError, ValueError):
        return False
    return size == meta.get("bytes") and len(offsets) == meta.get("n_sentences", -1) + 1


class ActivationCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, model, sentences: Sequence[Sequence[str]], *, tokenization: Mapping,
            policy: Policy | str | dict | None = None, label: str = "", language: str | None = None,
            verify: bool = False) -> CachedActivations:
        """The cached activations of ``sentences`` under ``model`` (a ModelDir), encoding them if needed.

        ``verify``: also re-hash the activation file against meta.json (slow on big caches)."""
        policy = as_policy(policy)
        key = cache_key(model.weights_sha256, data_sha256(sentences), tokenization, policy)
        final = self.path(key)
        if final.exists():
            ok = _intact(final)
            if ok and verify:
                actual = file_sha256(final / ACTS_NAME)
                ok = actual == json.loads((final / CACHE_META_NAME).read_text())["sha256"]
            if ok:
                return CachedActivations(final)
            log.warning("activation cache %s is incomplete or corrupt: rebuilding it", final)
            shutil.rmtree(final, ignore_errors=True)
        self._build(model, sentences, tokenization, policy, final, label, language)
        return CachedActivations(final)

    def _build(self, model, sentences, tokenization, policy: Policy, final: Path, label: str,
               language: str | None) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        lengths = np.array([len(s) for s in sentences], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        n_tokens, L, D = int(offsets[-1]), model.n_layers, model.dim
        check_room(final.parent, n_tokens * L * D * 2,
                   f"{label or 'these sentences'}: {n_tokens} tokens x {L} layers x {D}")
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            acts_path = tmp / ACTS_NAME
            if n_tokens:
                mm = np.memmap(acts_path, dtype=np.float16, mode="w+", shape=(n_tokens, L, D))
                for i, layers in encode(model.encoder, sentences, policy):  # layers (L, n, D)
                    mm[offsets[i] : offsets[i + 1]] = layers.transpose(1, 0, 2).astype(np.float16)
                mm.flush()
                del mm
            else:
                acts_path.write_bytes(b"")
            with open(tmp / OFFSETS_NAME, "wb") as fh:
                np.save(fh, offsets)
            cut = sum(is_truncated(t, model.max_chars) for s in sentences for t in s)
            meta = {
                "version": CACHE_VERSION, "label": label, "language": language,
                "weights_sha256": model.weights_sha256, "data_sha256": data_sha256(sentences),
                "tokenization": dict(tokenization), "policy": policy.describe(),
                "n_sentences": len(sentences), "n_tokens": n_tokens, "n_layers": L, "dim": D,
                "dtype": "float16", "bytes": acts_path.stat().st_size, "sha256": file_sha256(acts_path),
                "max_characters_per_token": model.max_chars, "tokens_cut": cut,
                "tokens_cut_share": {language or "all": cut / n_tokens if n_tokens else 0.0},
            }
            (tmp / CACHE_META_NAME).write_text(json.dumps(meta, indent=1, sort_keys=True,
                                                          ensure_ascii=False) + "\n", encoding="utf-8")
            for p in tmp.iterdir():
                os.chmod(p, 0o644)
            publish_dir(tmp, final, CACHE_META_NAME)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
