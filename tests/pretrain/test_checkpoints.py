"""Choosing the checkpoint to resume from (melmo.pretrain.checkpoints) and the safe types of the RNG state."""

import logging
import random

import numpy as np
import pytest
import torch

from melmo.pretrain.checkpoints import CheckpointError, choose
from melmo.utils.rng import rng_state, set_rng_state


def _ckpts(tmp_path):
    d = tmp_path / "checkpoints"
    d.mkdir()
    return d


def _save(path, step):
    torch.save({"global_step": step, "state_dict": {"w": torch.ones(3) * step}}, path)


def test_ckpt_path_last_without_checkpoint_is_an_error(tmp_path):
    with pytest.raises(CheckpointError,
                       match=r"last\.ckpt: ckpt_path=last but this run directory has no checkpoint"):
        choose("last", None, tmp_path)
    with pytest.raises(CheckpointError, match=r"nope\.ckpt: checkpoint to resume from not found"):
        choose(str(tmp_path / "nope.ckpt"), None, tmp_path)


def test_resume_auto_starts_and_says_so_or_resumes(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="melmo.pretrain.checkpoints"):
        assert choose(None, "auto", tmp_path) is None
    assert "resume=auto: no checkpoint" in caplog.text and "starting from scratch" in caplog.text
    d = _ckpts(tmp_path)
    _save(d / "last.ckpt", 4)
    assert choose(None, "auto", tmp_path) == str(d / "last.ckpt")
    with pytest.raises(CheckpointError, match="resume: must be null or auto"):
        choose(None, "yes", tmp_path)


def test_truncated_last_is_a_one_line_error_and_fallback_takes_the_older(tmp_path, caplog):
    import os

    d = _ckpts(tmp_path)
    _save(d / "step_0000004.ckpt", 4)
    _save(d / "step_0000008.ckpt", 8)
    os.utime(d / "step_0000004.ckpt", (1, 1))  # older
    _save(d / "last.ckpt", 12)
    data = (d / "last.ckpt").read_bytes()
    (d / "last.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as err:
        choose("last", None, tmp_path)
    msg = str(err.value)
    assert ("\n" not in msg and msg.startswith(f"{d / 'last.ckpt'}: does not load")
            and "ckpt_fallback=true" in msg)
    with caplog.at_level(logging.WARNING, logger="melmo.pretrain.checkpoints"):
        assert choose("last", None, tmp_path, fallback=True) == str(d / "step_0000008.ckpt")
    assert "resuming from" in caplog.text and "step_0000008" in caplog.text
    (d / "step_0000008.ckpt").write_bytes(b"junk")
    assert choose(None, "auto", tmp_path, fallback=True) == str(d / "step_0000004.ckpt")


class Payload:
    """A class the safe loader does not know: unpickling it could run code."""


def test_a_pickled_object_is_refused_with_one_line(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"global_step": 1, "extra": Payload()}, path)
    with pytest.raises(CheckpointError) as err:
        choose(str(path), None, tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path)) and "refuses" in msg and "Payload" in msg


def test_rng_state_survives_a_safe_load_and_continues_exactly(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    random.random(), np.random.normal(), torch.rand(2)  # numpy keeps a cached gaussian: part of the state
    path = tmp_path / "rng.pt"
    torch.save({"rng": [rng_state()]}, path)
    expected = (random.random(), np.random.normal(), np.random.random(3).tolist(), torch.rand(4).tolist())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    set_rng_state(torch.load(path, weights_only=True)["rng"][0])
    assert (random.random(), np.random.normal(), np.random.random(3).tolist(),
            torch.rand(4).tolist()) == expected
