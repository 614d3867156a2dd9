"""The streaming readers the corpus uses (melmo.formats.text lines, melmo.formats.conllu forms): compression,
CoNLL-U conventions, blocks, and one-line errors naming file and place."""

import gzip
import lzma
from pathlib import Path

import pytest

from melmo.corpus.readers import corpus_format
from melmo.errors import FormatError
from melmo.formats import text
from melmo.formats.conllu import ConlluError, iter_conllu_forms
from melmo.formats.text import iter_text_lines

CONLLU = """# sent_id = 1
# text = Vámonos al mar.
1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tVamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
3\tal\t_\t_\t_\t_\t_\t_\t_\t_
3.1\tvan\t_\t_\t_\t_\t_\t_\t_\t_
4\tmar\tmar\tNOUN\t_\t_\t1\tobl\t_\tSpaceAfter=No
5\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_

1\tHei\thei\tINTJ\t_\t_\t0\troot\t_\t_

"""


@pytest.mark.parametrize("opener, suffix", [(open, ""), (gzip.open, ".gz"), (lzma.open, ".xz")])
def test_conllu_forms_skip_ranges_and_empty_nodes(tmp_path, opener, suffix):
    path = tmp_path / f"x.conllu{suffix}"
    with opener(path, "wt", encoding="utf-8") as fh:
        fh.write(CONLLU)
    assert corpus_format(path) == "conllu"
    assert list(iter_conllu_forms(path)) == [["Vamos", "nos", "al", "mar", "."], ["Hei"]]


def test_text_lines_compressed_and_stripped(tmp_path):
    path = tmp_path / "en.txt.xz"
    with lzma.open(path, "wt", encoding="utf-8") as fh:
        fh.write("  One line.  \n\n\tTwo\r\n")
    assert corpus_format(path) == "text"
    assert list(iter_text_lines(path)) == ["One line.", "Two"]


def test_invalid_utf8_names_file_and_byte_offset(tmp_path):
    path = tmp_path / "fi.txt"
    path.write_bytes("hyvä\n".encode() + b"ok \xff bad\n")
    with pytest.raises(FormatError) as err:
        list(iter_text_lines(path))
    msg = str(err.value)
    assert str(path) in msg and "byte offset 9" in msg and "\n" not in msg  # len("hyvä\n".encode()) + 3


def test_malformed_conllu_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text("# c\n1\tA\ta\tX\t_\t_\t0\troot\t_\t_\n2\tB\tonly-three\n\n", encoding="utf-8")
    with pytest.raises(ConlluError, match=rf"{path.name}:3: malformed CoNLL-U line: 3 tab-separated columns"):
        list(iter_conllu_forms(path))
    path.write_text("x\tA\ta\tX\t_\t_\t0\troot\t_\t_\n", encoding="utf-8")
    with pytest.raises(ConlluError, match=r":1: malformed CoNLL-U line: bad ID 'x'"):
        list(iter_conllu_forms(path))


def test_truncated_archive_is_a_clear_error(tmp_path):
    path = tmp_path / "x.txt.xz"
    data = lzma.compress(("word " * 20000 + "\n").encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="cannot read"):
        list(iter_text_lines(path))


def test_block_reader_matches_line_by_line_across_block_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "BLOCK", 7)  # lines longer than a block, boundaries inside characters
    data = "ääkkönen\r\n\n1\tx\nlong line without a block boundary in sight\r\r\nz\nlast, no newline".encode()
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    expected = [raw.decode().rstrip("\r\n") for raw in data.split(b"\n")]  # brute force, line by line
    assert list(text.iter_lines(path)) == expected
    bad = data[:30] + b"\xff" + data[30:]
    path.write_bytes(bad)
    with pytest.raises(FormatError, match=r"t\.txt: invalid UTF-8 at byte offset 30 "):
        list(text.iter_lines(path))


def _brute_force_forms(data: str) -> list[list[str]]:
    """CoNLL-U FORMs by sentence, written out plainly (the reference for the block parser)."""
    out, words = [], []
    for line in data.split("\n"):
        line = line.rstrip("\r")
        if not line.strip():
            if words:
                out.append(words)
            words = []
        elif not line.startswith("#") and line.split("\t")[0].isdigit():
            words.append(line.split("\t")[1].replace(" ", "\u00a0"))
    return out + ([words] if words else [])


@pytest.mark.parametrize("block", [64, 4096, 1 << 20])
def test_conllu_block_parser_matches_brute_force(tmp_path, monkeypatch, block):
    monkeypatch.setattr(text, "BLOCK", block)
    ud = Path(__file__).resolve().parents[2] / "data" / "sample" / "ud"
    for path in sorted(ud.glob("*/*.conllu.xz"))[:4]:
        data = lzma.decompress(path.read_bytes()).decode("utf-8")
        assert list(iter_conllu_forms(path)) == _brute_force_forms(data), path
    tricky = ("# c\twith\ttabs\tin\ta\tcomment\tof\tten\tcolumns\t!\n1-2\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n"
              "1\tde\t_\t_\t_\t_\t_\t_\t_\t_\n2\tle\t_\t_\t_\t_\t_\t_\t_\t_\n2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n\n\n"
              "1\tNew York\t_\t_\t_\t_\t_\t_\t_\t_\n \n1\t "
              "\t_\t_\t_\t_\t_\t_\t_\t_\n\n1\tlast\t_\t_\t_\t_\t_\t_\t_\t_")
    path = tmp_path / "t.conllu"
    path.write_text(tricky, encoding="utf-8")
    assert list(iter_conllu_forms(path)) == _brute_force_forms(tricky) == [
        ["de", "le"], ["New\u00a0York"], ["\u00a0"], ["last"]]


def test_conllu_error_line_number_in_a_later_block(tmp_path, monkeypatch):
    monkeypatch.setattr(text, "BLOCK", 50)
    good = "1\tok\t_\t_\t_\t_\t_\t_\t_\t_\n\n" * 30  # 60 lines
    path = tmp_path / "e.conllu"
    path.write_text(good + "1\tbad\t_\n", encoding="utf-8")
    with pytest.raises(ConlluError, match=r"e\.conllu:61: malformed CoNLL-U line: 3 tab-separated columns"):
        list(iter_conllu_forms(path))
