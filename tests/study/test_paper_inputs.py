"""The full-scale commands (README, docs/full-scale.md) on a stand-in tree with the official names: layout,
check, and python -m melmo.study study=paper dry_run=true, which checks every input before anything runs."""

import os
from pathlib import Path

import pytest
from official_standin import downloads, layout_args

from melmo import study as S
from melmo.datasets.__main__ import main as datasets_main

ROOT = Path(__file__).resolve().parents[2]


def test_paper_dry_run_checks_the_laid_out_downloads(tmp_path, compose_study):
    root = tmp_path / "melmo-data"
    assert datasets_main(["layout", str(root), *layout_args(downloads(tmp_path / "dl"))]) == 0
    assert datasets_main(["check", str(root)]) == 0
    argv = ["study=paper", f"study.conll17_root={root / 'conll17'}", f"study.data_root={root}", "dry_run=true"]
    said, ran = [], []
    assert S.run(compose_study(*argv), runner=lambda s, cwd: ran.append(s) or 0, echo=said.append) == 0
    would = [line for line in said if ": would run " in line]
    assert not ran and sum(" -m melmo.pretrain " in w for w in would) == 16 and any("task=xnli" in w for w in would)
    # docs/full-scale.md: 8.0e9 tokens x 823 MFLOP / (40 % of 989 TFLOP/s) = 4.6 H100-hours per model, as an estimate
    estimates = [line for line in said if "ESTIMATE" in line]
    assert len(estimates) == 16 and all(line.endswith("= 4.6 GPU-hours") and "assumed, not measured" in line
                                        for line in estimates)
    # a broken input is one line naming it, before any stage (dry or not)
    os.unlink(root / "tatoeba" / "tatoeba.tur-eng.eng")
    (root / "conll17" / "fi").unlink()
    said.clear()
    with pytest.raises(S.StudyError) as err:
        S.run(compose_study(*argv), runner=lambda s, cwd: ran.append(s) or 0, echo=said.append)
    assert str(err.value) == f"study input: {root / 'tatoeba' / 'tatoeba.tur-eng.eng'}: file not found" and not said and not ran
    os.symlink(tmp_path / "dl" / "LASER" / "data" / "tatoeba" / "v1" / "tatoeba.tur-eng.eng", root / "tatoeba" / "tatoeba.tur-eng.eng")
    with pytest.raises(S.StudyError, match=rf"study input: {root / 'conll17' / 'fi'}: no \*wikipedia\*"):
        S.run(compose_study(*argv), echo=said.append)


def test_the_estimate_composes_the_stages_training_config(compose_study):
    """The estimate reads the training config the stage's app composes (melmo.conf.compose), not its command line:
    a model the study's overrides change is estimated as that model; an epoch budget is not estimated."""
    from melmo.study.plan import estimate

    base = ("study=paper", "study.data_root=/eval", "study.conll17_root=/c17", "stages=[train]")
    cfg = compose_study(*base)
    assert estimate(cfg, S.plan(cfg)[0]).endswith("= 4.6 GPU-hours")   # elmo_original (README)
    cfg = compose_study(*base, "study.train.extra_overrides=['model=elmo_tiny']")
    stage = S.plan(cfg)[0]
    assert stage.argv is None and not estimate(cfg, stage).endswith("= 4.6 GPU-hours")
    cfg = compose_study(*base, "study.length=epochs")
    assert estimate(cfg, S.plan(cfg)[0]) == "ESTIMATE: no token budget on this stage (epochs): not estimated"
