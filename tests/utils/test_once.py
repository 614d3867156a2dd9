"""Rank 0 does a step once per job, the other ranks wait for it (melmo.utils.once)."""

import threading
import time
from types import SimpleNamespace

import pytest

from melmo.utils import once
from melmo.utils.once import OnceError, rank_zero_once


def test_other_ranks_wait_for_rank_zero_and_read_its_result(tmp_path, monkeypatch):
    """Ordered by events, not by timing: rank 1 starts once rank 0 is inside the step (the stale
    marker is gone), and rank 0 finishes only after rank 1 has polled and found no marker."""
    marker = tmp_path / ".ready" / "k.json"
    marker.parent.mkdir()
    marker.write_text('{"result": "stale"}')  # an earlier job's marker, replaced by rank 0
    in_step, rank1_polled = threading.Event(), threading.Event()

    def poll_sleep(seconds):
        rank1_polled.set()
        time.sleep(seconds)

    monkeypatch.setattr(once, "time", SimpleNamespace(monotonic=time.monotonic, sleep=poll_sleep))
    calls, got = [], {}

    def step():
        calls.append(1)
        in_step.set()
        assert rank1_polled.wait(10), "rank 1 never waited for the marker"
        return "corpus-dir"

    rank0 = threading.Thread(
        target=lambda: got.setdefault(0, rank_zero_once(marker, 0, step, 10, poll_s=0.01)))
    rank0.start()
    assert in_step.wait(10)
    got[1] = rank_zero_once(marker, 1, step, 10, poll_s=0.01)
    rank0.join()
    assert calls == [1] and got == {0: "corpus-dir", 1: "corpus-dir"}


def test_a_failure_of_rank_zero_stops_the_others_and_a_timeout_is_an_error(tmp_path):
    marker = tmp_path / "m.json"

    def broken():
        raise FileNotFoundError("data/x.txt: not found")

    with pytest.raises(FileNotFoundError):
        rank_zero_once(marker, 0, broken, 10)
    with pytest.raises(OnceError, match=r"rank 0 failed the step: FileNotFoundError: data/x.txt: not found"):
        rank_zero_once(marker, 1, broken, 10)
    with pytest.raises(OnceError, match=r"rank 2 waited 0.2 s for rank 0"):
        rank_zero_once(tmp_path / "never.json", 2, broken, 0.2, poll_s=0.05)
