"""Held-out validation split across 2 gloo DDP ranks: each row is read by one rank only, the metric sums
are all-reduced, and the perplexities equal one process's, also when a rank gets no row (it must join
the sync, not hang)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from melmo.corpus.prepare import PrepareOptions, prepare
from melmo.corpus.sampling import AlphaSampling
from melmo.corpus.tokenized import LanguageSource

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SAMPLE = ROOT / "data" / "sample"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def validate(corpus_dir: Path, out: Path, row_tokens: int, devices: int) -> list[dict]:
    """Run heldout_ranks.py as ``devices`` processes with torchrun's environment; every rank's json."""
    port, procs = _port(), []
    for rank in range(devices):
        env = {**os.environ, "PYTHONPATH": f"{ROOT}", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        if devices > 1:
            env.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(devices),
                        "LOCAL_WORLD_SIZE": str(devices), "GROUP_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                        "MASTER_PORT": str(port), "TORCHELASTIC_RUN_ID": "heldout-test"})
        procs.append(subprocess.Popen([sys.executable, str(HERE / "heldout_ranks.py"), str(corpus_dir),
                                       str(out), str(row_tokens), str(devices)], env=env, cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for p in procs:
        try:
            log, _ = p.communicate(timeout=180)  # a rank that waits forever in the sync fails here
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError("a rank hung in held-out validation") from None
        assert p.returncode == 0, log[-4000:]
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(devices)]


def _corpus(tmp, langs):
    srcs = [LanguageSource(lang, [SAMPLE / "ud" / lang / f"{tb}-ud-dev.conllu.xz"]) for lang, tb in langs]
    opts = PrepareOptions(seed=3, vocab_size=2000, shard_tokens=8000, workers=1, heldout_tokens=400)
    return prepare(srcs, AlphaSampling(0.4, "alpha04"), tmp / "prepared", tmp / "cache", opts, name="ud")


@pytest.mark.slow  # 2-process DDP launches: about 2 minutes on 2 shared cores
@pytest.mark.parametrize("langs, row_tokens, rows", [
    # several rows per language, split unevenly
    ((("en", "en_ewt"), ("fi", "fi_tdt"), ("he", "he_htb")), 150, None),
    ((("fi", "fi_tdt"),), 0, 1),                                           # one row: rank 1 gets none
])
def test_ranks_score_their_share_and_agree_with_one_process(tmp_path, langs, row_tokens, rows):
    corpus = _corpus(tmp_path, langs)
    (one,) = validate(corpus, tmp_path / "one", row_tokens, 1)
    two = validate(corpus, tmp_path / "two", row_tokens, 2)
    key = lambda r: (r[0], r[1], tuple(r[2]))  # noqa: E731
    whole = sorted(key(r) for r in one["rows"])
    if rows is not None:
        assert len(whole) == rows and [r[3] for r in two[1]["rows"]] == [0]  # rank 1: one unscored row
    shares = [[key(r) for r in part["rows"] if r[3] > 0] for part in two]
    assert sorted(shares[0] + shares[1]) == whole and not set(shares[0]) & set(shares[1])  # each row once
    assert two[0]["scored"] + two[1]["scored"] == one["scored"] > 0  # every target scored once
    for name, value in one["metrics"].items():
        assert two[0]["metrics"][name] == pytest.approx(value, rel=1e-5), name
        assert two[1]["metrics"][name] == pytest.approx(value, rel=1e-5), name
    assert {"val/ppl", "val/ppl_iv"} <= set(one["metrics"])
