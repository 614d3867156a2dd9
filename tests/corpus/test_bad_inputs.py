"""Bad inputs to corpus preparation: one-line errors naming the file or key, nothing left behind,
no worker process left running (also after kill -9 of the preparing process)."""

import lzma
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.readers import CorpusError
from melmo.corpus.sampling import AlphaSampling
from melmo.corpus.sources import language_sources
from melmo.corpus.tokenized import LanguageSource
from melmo.errors import FormatError

ROOT = Path(__file__).resolve().parents[2]
UD = ROOT / "data" / "sample" / "ud"
TEXT = str(ROOT / "data" / "sample" / "text" / "{lang}.txt.xz")


def _opts(**kw):
    return PrepareOptions(**{"seed": 1, "vocab_size": 500, "shard_tokens": 50_000, "workers": 1, **kw})


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name != "sha256.json" and not p.is_dir()] if root.exists() else []


def _en_source():
    return [LanguageSource("en", [UD / "en" / "en_ewt-ud-dev.conllu.xz"])]


@pytest.mark.parametrize("vocab_size", [0, 2, 3])
def test_vocab_size_below_the_special_tokens(tmp_path, vocab_size):
    with pytest.raises(CorpusError,
                       match=rf"^data\.prepare\.vocab_size={vocab_size}: must be at least 4 \(the special "
                             r"tokens <S>, </S>, <UNK>"):
        prepare(_en_source(), AlphaSampling(0.4), tmp_path / "out", tmp_path / "cache",
                _opts(vocab_size=vocab_size))
    assert _files(tmp_path) == []


def test_smallest_vocab_keeps_the_special_tokens(tmp_path):
    out = prepare(_en_source(), AlphaSampling(0.4), tmp_path / "out", tmp_path / "cache", _opts(vocab_size=4))
    vocab = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert vocab[:3] == ["<S>", "</S>", "<UNK>"] and len(vocab) == 4


def test_a_file_that_is_not_a_udpipe_model(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "en.udpipe").write_bytes(b"<html>404 Not Found</html>\n")
    with pytest.raises(CorpusError, match=r"models/en\.udpipe: not a UDPipe model .*language 'en'"):
        prepare(language_sources(["en"], TEXT, None, str(models)), AlphaSampling(0.4), tmp_path / "out",
                tmp_path / "cache", _opts())
    assert _files(tmp_path / "out") == [] and _files(tmp_path / "cache") == []


def test_a_directory_where_a_corpus_file_is_expected(tmp_path):
    (tmp_path / "fi").mkdir()
    with pytest.raises(CorpusError, match=r"/fi: is a directory, expected a corpus file for language 'fi'"):
        prepare(language_sources(["fi"], str(tmp_path / "{lang}")), AlphaSampling(0.4), tmp_path / "out",
                tmp_path / "cache", _opts())
    assert _files(tmp_path / "out") == []


@pytest.mark.parametrize("name", ["sv.txt", "sv.conllu.xz"])
def test_nul_bytes_are_refused_with_their_offset(tmp_path, name):
    if name.endswith(".conllu.xz"):
        data = b"1\tHej\thej\tINTJ\t_\t_\t0\troot\t_\t_\n\n" + b"1\tp\x00\tp\tX\t_\t_\t0\troot\t_\t_\n\n"
        where = "decompressed byte offset"
        (tmp_path / name).write_bytes(lzma.compress(data))
    else:
        data = "Hej på dig.\n".encode() + b"Tv\x00\n"
        where = "byte offset"
        (tmp_path / name).write_bytes(data)
    offset = data.index(b"\x00")  # the expected offset, found independently of the reader
    srcs = language_sources(["sv"], str(tmp_path / name), None, None, None, {"builtin": "generic_tokenizer"})
    with pytest.raises(FormatError, match=re.escape(f"{name}: NUL byte at {where} {offset} ")):
        prepare(srcs, AlphaSampling(0.4), tmp_path / "out", tmp_path / "cache", _opts())
    assert _files(tmp_path / "out") == [] and _files(tmp_path / "cache") == []


def _cli(tmp_path, *overrides):
    env = {**os.environ, "PROJECT_ROOT": str(ROOT), "PYTHONPATH": str(ROOT)}  # this checkout's melmo
    return [sys.executable, "-m", "melmo.corpus", "prepare", "--config-dir", str(ROOT / "conf"),
            f"paths.cache_dir={tmp_path / 'cache'}", *overrides], env


def test_cli_bad_model_is_one_line_and_nonzero(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "eu.udpipe").write_bytes(b"\x00\x01 not a model")
    cmd, env = _cli(tmp_path, "data.languages=[eu]", f"data.udpipe_dir={models}")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          check=False)
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "eu.udpipe: not a UDPipe model" in err[0], proc.stderr


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4 of /proc/<pid>/stat: ppid
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_prepare_ends_its_workers(tmp_path):
    # 13 languages tokenized by UDPipe in 2 worker processes: busy for several seconds
    cmd, env = _cli(tmp_path, "data.prepare.workers=2")
    parent = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              cwd=tmp_path)
    try:
        deadline = time.time() + 60
        workers = []
        while time.time() < deadline and len(workers) < 2 and parent.poll() is None:
            time.sleep(0.2)
            workers = _children(parent.pid)
        assert len(workers) == 2, "the pool did not start"
        time.sleep(0.5)  # past the initializer
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        survivors = [w for w in workers if _alive(w)]
        assert survivors == [], "workers outlived the killed parent"
    finally:
        for w in _children(parent.pid) + locals().get("workers", []):
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
