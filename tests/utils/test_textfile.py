"""melmo.utils.textfile.read_lines: the lines of a UTF-8 file, one-line errors naming it."""

import pytest

from melmo.utils.textfile import read_lines


class MyError(ValueError):
    pass


def test_lines_without_the_final_empty_one(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes("a\n\nß\n".encode())
    assert read_lines(p, "thing", MyError) == ["a", "", "ß"]
    p.write_bytes(b"a\nb")
    assert read_lines(p, "thing", MyError) == ["a", "b"]


def test_missing_and_not_utf8_are_one_line_errors_of_the_given_type(tmp_path):
    with pytest.raises(MyError, match=r"^.*nope.txt: vocabulary file not found$"):
        read_lines(tmp_path / "nope.txt", "vocabulary file", MyError)
    p = tmp_path / "latin1.txt"
    p.write_bytes("ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(MyError,
                       match=r"latin1.txt: vocabulary file is not UTF-8 \(invalid continuation byte at byte "
                             r"6\)$"):
        read_lines(p, "vocabulary file", MyError)

