"""The atomic-write helpers: new content appears whole or not at all, nothing temporary stays behind."""

from __future__ import annotations

import os
import stat

import pytest

from melmo.utils.atomic import atomic_path, open_atomic, publish_dir, staged_dir, write_atomic


def test_write_atomic_text_bytes_and_mode(tmp_path):
    p = tmp_path / "sub" / "f.txt"
    write_atomic(p, "häh\n")
    assert p.read_bytes() == "häh\n".encode()
    write_atomic(p, b"\x00\x01", fsync=True)
    assert p.read_bytes() == b"\x00\x01"
    mask = os.umask(0)
    os.umask(mask)
    # as open(p, "w") would make it, not mkstemp's 0600
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
    assert os.listdir(p.parent) == ["f.txt"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError), open_atomic(p, "w") as fh:
        fh.write("new, half")
        raise RuntimeError
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        tmp.write_text("new")
        raise RuntimeError
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["f.txt"]
    with open_atomic(p, "w", newline="") as fh:
        fh.write("a\r\nb")
    assert p.read_bytes() == b"a\r\nb"


def test_staged_dir_publishes_whole_or_nothing(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError), staged_dir(final, "done") as tmp:
        (tmp / "part").write_text("x")
        raise RuntimeError
    assert os.listdir(tmp_path) == []
    with staged_dir(final, "done") as tmp:
        (tmp / "done").write_text("ours")
    assert (final / "done").read_text() == "ours" and os.listdir(tmp_path) == ["out"]


def test_publish_dir_when_the_target_exists(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "done").write_text("theirs")
    (final / "keep").write_text("k")
    other = tmp_path / "other"
    other.mkdir()
    (other / "done").write_text("ours")
    publish_dir(other, final, "done")  # published first by another process: keep theirs, drop ours
    assert (final / "done").read_text() == "theirs" and not other.exists()
    other.mkdir()
    (other / "x").write_text("ours")
    with pytest.raises(OSError):  # no marker: an existing directory is an error
        publish_dir(other, final)
    with pytest.raises(OSError):  # theirs lacks the marker (not a finished publication): an error too
        publish_dir(other, final, "absent")
    publish_dir(other, final, merge=True)  # merge: files replaced one by one, others kept
    assert sorted(os.listdir(final)) == ["done", "keep", "x"] and not other.exists()


def test_publish_dir_replacing_a_file_leaves_no_hidden_copy(tmp_path):
    (tmp_path / "out").write_text("old\n")
    with staged_dir(tmp_path / "out", replace=True) as tmp:
        (tmp / "new.txt").write_text("new\n")
    assert (tmp_path / "out" / "new.txt").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no .out.old-* left behind
