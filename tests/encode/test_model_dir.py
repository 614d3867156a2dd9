"""Model directories: one-line errors for missing or mismatched files; readable default names."""

import hashlib
import json

import pytest
from eval_helpers import tiny_model_dir

from melmo.encode.model_dir import ModelDir, ModelDirError
from melmo.model.io import BilmFormatError


def test_missing_and_mismatched_files(tmp_path):
    d = tiny_model_dir(tmp_path / "m")
    (d / "weights.hdf5").rename(tmp_path / "w.hdf5")
    with pytest.raises(ModelDirError, match=r"m: no \*\.hdf5 file"):
        ModelDir(d)
    (tmp_path / "w.hdf5").rename(d / "weights.hdf5")
    opts = json.loads((d / "options.json").read_text())
    opts["lstm"]["dim"] = 32  # weights no longer fit the options
    (d / "options.json").write_text(json.dumps(opts))
    with pytest.raises(BilmFormatError,
                       match=r"weights\.hdf5: dataset .* has shape .* options\.json implies") as e:
        _ = ModelDir(d).encoder
    assert "\n" not in str(e.value)
    (d / "melmo.json").write_text("{not json")
    with pytest.raises(ModelDirError, match=r"melmo\.json: not valid JSON"):
        ModelDir(d)


def test_names(tmp_path):
    def short(d):  # the first 8 hex digits of the weights' sha256, computed here independently
        return hashlib.sha256((d / "weights.hdf5").read_bytes()).hexdigest()[:8]

    d = tiny_model_dir(tmp_path / "run7" / "model")
    assert ModelDir(d).name == f"run7-{short(d)}"
    d = tiny_model_dir(tmp_path / "nlpl_223")
    assert ModelDir(d).name == f"nlpl_223-{short(d)}"
    meta = {"corpus": {"sampling": {"strategy": "mono", "language": "fi", "name": "mono"}, "seed": 3},
            "run": {"seed": 3, "model": "elmo_small"}}
    d = tiny_model_dir(tmp_path / "x" / "model", meta=meta)
    assert ModelDir(d).name == f"mono_fi-elmo_small-s3-{short(d)}"
    # the same run description, other weights
    other = tiny_model_dir(tmp_path / "y" / "model", seed=1, meta=meta)
    assert ModelDir(other).name != ModelDir(d).name
