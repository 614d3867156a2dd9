"""open_text reads plain, .xz and .gz alike; compressed_variant finds a compressed copy; file_sha256 hashes
the stored bytes."""

import gzip
import hashlib
import lzma

import pytest

from melmo.formats.files import READ_ERRORS, compressed_variant, file_sha256, open_text

TEXT = "ääkkönen\r\nline two\n"


@pytest.mark.parametrize("suffix, compress", [("", bytes), (".xz", lzma.compress), (".gz", gzip.compress)])
def test_open_text_decompresses_by_suffix(tmp_path, suffix, compress):
    path = tmp_path / f"t.txt{suffix}"
    path.write_bytes(compress(TEXT.encode()))
    with open_text(path) as fh:
        assert fh.read() == TEXT  # newline="\n": a CR stays in its line
    with open_text(path, binary=True) as fh:
        assert fh.read() == TEXT.encode()
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_compressed_variant(tmp_path):
    assert compressed_variant(tmp_path / "a.tsv") is None
    (tmp_path / "a.tsv.gz").write_bytes(gzip.compress(b"x\n"))
    assert compressed_variant(tmp_path / "a.tsv") == tmp_path / "a.tsv.gz"
    (tmp_path / "a.tsv.xz").write_bytes(lzma.compress(b"x\n"))
    assert compressed_variant(tmp_path / "a.tsv") == tmp_path / "a.tsv.xz"  # .xz before .gz
    (tmp_path / "a.tsv").write_text("x\n")
    assert compressed_variant(tmp_path / "a.tsv") == tmp_path / "a.tsv"  # the plain file first


def test_a_truncated_archive_raises_one_of_read_errors(tmp_path):
    path = tmp_path / "t.txt.xz"
    data = lzma.compress(("word " * 20000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(READ_ERRORS), open_text(path) as fh:
        fh.read()
