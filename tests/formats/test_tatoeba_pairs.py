"""Tatoeba pair files (melmo.formats.tatoeba): aligned line by line, compressed copies found."""

import lzma

import pytest

from melmo.formats.tatoeba import TatoebaError, read_pair, tatoeba_languages


def test_unequal_files_one_line_error(tmp_path):
    (tmp_path / "tatoeba").mkdir()
    (tmp_path / "tatoeba" / "tatoeba.fin-eng.fin").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "tatoeba" / "tatoeba.fin-eng.eng").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(TatoebaError) as e:
        read_pair(tmp_path, "fi")
    assert ("tatoeba.fin-eng.fin: 3 lines but tatoeba.fin-eng.eng has 2" in str(e.value)
            and "\n" not in str(e.value))


def test_a_compressed_pair_is_read_and_listed(tmp_path):
    base = tmp_path / "tatoeba"
    base.mkdir()
    (base / "tatoeba.fin-eng.fin.xz").write_bytes(lzma.compress("yksi\n\nkolme\n".encode()))
    (base / "tatoeba.fin-eng.eng").write_text("one\ntwo\nthree\n", encoding="utf-8")
    assert tatoeba_languages(tmp_path) == ["fi"]
    xx, xs, en, es = read_pair(tmp_path, "fi")
    assert (xx.name, xs, es) == ("tatoeba.fin-eng.fin.xz", ["yksi", "", "kolme"], ["one", "two", "three"])


def test_text_that_is_not_utf8_is_one_line(tmp_path):
    base = tmp_path / "tatoeba"
    base.mkdir()
    (base / "tatoeba.fin-eng.fin").write_bytes(b"ok\n\xff\n")
    (base / "tatoeba.fin-eng.eng").write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(TatoebaError, match=r"tatoeba\.fin-eng\.fin: not UTF-8 .* at byte 3"):
        read_pair(tmp_path, "fi")


def test_a_missing_side_is_named(tmp_path):
    (tmp_path / "tatoeba").mkdir()
    (tmp_path / "tatoeba" / "tatoeba.fin-eng.fin").write_text("a\n", encoding="utf-8")
    with pytest.raises(TatoebaError, match=r"tatoeba/tatoeba\.fin-eng\.eng: file not found$"):
        read_pair(tmp_path, "fi")
