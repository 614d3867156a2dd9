"""Stage 1 of corpus preparation (tokenize_language) and the cached SHA-256 of its inputs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from melmo.corpus import hashcache
from melmo.corpus.hashcache import cached_sha256
from melmo.corpus.tokenized import LanguageSource, tokenize_language


def _conllu(path: Path, sentences: list[list[str]]) -> Path:
    rows = []
    for words in sentences:
        rows += [f"{i}\t{w}\t_\t_\t_\t_\t0\tdep\t_\t_" for i, w in enumerate(words, start=1)] + [""]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- tokenize_language
def test_tokens_cut_counts_bytes_and_exempts_the_boundary_tokens(tmp_path):
    # max_chars=4 keeps 2 bytes of a token; the literal <S> and </S> are spelled as the boundary rows
    # (bilm-tf UnicodeCharsVocabulary, AllenNLP ELMoCharacterMapper), so they are never cut.
    words = ["<S>", "</S>", "ab", "abc", "я", "яя", "x"]
    src = LanguageSource("en", [_conllu(tmp_path / "en.conllu", [words])])
    tok = tokenize_language(src, tmp_path / "out", max_sentence_tokens=100, max_chars=4, provenance={})
    expected = sum(len(w.encode("utf-8")) > 2 for w in words if w not in ("<S>", "</S>"))
    assert expected == 2
    assert tok.stats["tokens_cut"] == expected and tok.stats["tokens"] == len(words)
    assert list(tok.sentences()) == [words]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.conllu", "out"]  # no temporary directory left


# ---------------------------------------------------------------------------------- cached_sha256
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cached_sha256_equals_hashlib(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_bytes(os.urandom(3 * (1 << 20) + 17))  # over several of file_sha256's 1 MiB chunks
    assert cached_sha256(f, tmp_path / "cache") == _digest(f)


def test_cached_sha256_hits_the_cache_without_reading(tmp_path, monkeypatch):
    f = tmp_path / "corpus.txt"
    f.write_text("some text\n")
    first = cached_sha256(f, tmp_path / "cache")
    table = json.loads((tmp_path / "cache" / "sha256.json").read_text())
    assert list(table.values()) == [first]

    def no_read(path, *a, **k):
        raise AssertionError(f"{path} was hashed again although its size and mtime did not change")

    monkeypatch.setattr(hashcache, "file_sha256", no_read)
    assert cached_sha256(f, tmp_path / "cache") == first


@pytest.mark.parametrize("change", ["size", "mtime"])
def test_cached_sha256_is_invalidated_by_size_or_mtime(tmp_path, change):
    f = tmp_path / "corpus.txt"
    f.write_text("aaaa\n")
    st = f.stat()
    cached_sha256(f, tmp_path / "cache")
    if change == "size":
        f.write_text("aaaa\nbbbb\n")
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the size tells
    else:
        f.write_text("bbbb\n")  # same size: only the mtime tells
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cached_sha256(f, tmp_path / "cache") == _digest(f)
    assert len(json.loads((tmp_path / "cache" / "sha256.json").read_text())) == 2
