"""Read an offline W&B run back: the records of its ``run-<id>.wandb`` file and the media it wrote.

wandb >= 0.19 has no Python reader of its own for this file (the Go core writes it), so this follows
its documented layout, LevelDB's log format: a 7-byte header (":W&B", magic 0xBEE1, version), then
32 KiB blocks of chunks, each ``<crc32 uint32, length uint16, type uint8>`` + data, type 1 a whole
record, 2/3/4 its first/middle/last pieces; each record is a ``wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 32768
HEADER = 7


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a W&B run file"
    out, pos, pieces = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # block trailer: padding
            pos += left
            continue
        _, n, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        chunk = data[pos + HEADER:pos + HEADER + n]
        pos += HEADER + n
        if kind == 0 and n == 0:
            continue
        assert kind in (1, 2, 3, 4), f"{path}: chunk type {kind} at byte {pos}"
        pieces = chunk if kind in (1, 2) else pieces + chunk
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(pieces)
            out.append(record)
    return out


def _items(items) -> dict:
    return {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}


@dataclass
class OfflineRun:
    directory: Path
    group: str = ""
    name: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)   # key -> last value (nested keys joined with /)

    def table(self, key: str) -> list[dict]:
        """The rows of the wandb.Table logged under ``key``, as dicts (read from its media file)."""
        path = self.summary.get(f"{key}/path")
        assert path, f"no table {key!r} in {self.directory}: {sorted(self.summary)}"
        doc = json.loads((self.directory / "files" / path).read_text(encoding="utf-8"))
        return [dict(zip(doc["columns"], row)) for row in doc["data"]]

    def image(self, key: str) -> Path:
        path = self.summary.get(f"{key}/path")
        assert path and self.summary.get(f"{key}/_type") == "image-file", (
            f"no image {key!r} in {self.directory}")
        return self.directory / "files" / path


def read_run(directory: Path) -> OfflineRun:
    """The run of an ``offline-run-*`` directory: group, name, job type, tags, config and summary."""
    directory = Path(directory)
    (path,) = directory.glob("run-*.wandb")
    run = OfflineRun(directory)
    for r in records(path):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            run.group, run.name, run.job_type = r.run.run_group, r.run.display_name, r.run.job_type
            run.tags = list(r.run.tags)
            run.config.update(_items(r.run.config.update))
        elif kind == "config":
            run.config.update(_items(r.config.update))
        elif kind == "summary":
            run.summary.update(_items(r.summary.update))
        elif kind == "history":
            run.summary.update(_items(r.history.item))
    return run


def offline_runs(save_dir: Path) -> list[OfflineRun]:
    return [read_run(d) for d in sorted(Path(save_dir).glob("wandb/offline-run-*"))]
