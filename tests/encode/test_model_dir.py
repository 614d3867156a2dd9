"""Model directories: one-line errors for missing or mismatched files; readable default names."""

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
    with pytest.raises(BilmFormatError, match=r"weights\.hdf5: dataset .* has shape .* options\.json implies") as e:
        _ = ModelDir(d).encoder
    assert "\n" not in str(e.value)
    (d / "melmo.json").write_text("{not json")
    with pytest.raises(ModelDirError, match=r"melmo\.json: not valid JSON"):
        ModelDir(d)


def test_names(tmp_path):
    assert ModelDir(tiny_model_dir(tmp_path / "run7" / "model")).name == "run7"
    assert ModelDir(tiny_model_dir(tmp_path / "nlpl_223")).name == "nlpl_223"
    meta = {"corpus": {"sampling": {"strategy": "mono", "language": "fi", "name": "mono"}, "seed": 3},
            "run": {"seed": 3, "model": "elmo_small"}}
    assert ModelDir(tiny_model_dir(tmp_path / "x" / "model", meta=meta)).name == "mono_fi-elmo_small-s3"
