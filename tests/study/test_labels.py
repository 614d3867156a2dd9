"""Ablations by override: sampling=alpha with any α, names that show the α and what a run changed."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import melmo  # noqa: F401  registers the ${melmo.*:...} resolvers
from melmo.utils.labels import alpha_name, changes

ROOT = Path(__file__).resolve().parents[2]
UD = ROOT / "data" / "sample" / "ud"


@pytest.mark.parametrize("alpha,name", [(0.4, "alpha04"), (0.2, "alpha02"), (0.0, "trunc"), (0, "trunc"),
                                        (1.0, "full"), (0.3, "alpha03"), (0.25, "alpha025"),
                                        (0.1 + 0.2, "alpha03"), (0.05, "alpha005")])
def test_alpha_name_spells_the_exponent_like_the_paper(alpha, name):
    assert alpha_name(alpha) == name


@pytest.mark.parametrize("bad", [1.5, -0.1, math.nan, "0.3", True])
def test_alpha_name_rejects_what_is_not_an_exponent(bad):
    with pytest.raises(ValueError, match="sampling.alpha"):
        alpha_name(bad)


def test_changes_drop_bookkeeping_prefixes_only():
    ov = ["sampling=alpha", "sampling.alpha=0.3", "paths.cache_dir=/c", "+paths.x=1", "seed=3",
          "trainer.devices=4", "model.lstm.n_layers=1", "trainer.precision=bf16-mixed",
          "~callbacks.lr_monitor", "seedling=1"]
    got = changes(ov, ["sampling", "paths", "seed", "trainer.devices", "callbacks"])
    assert got == ["model.lstm.n_layers=1", "trainer.precision=bf16-mixed", "seedling=1"]


def _resolved(compose_train, *overrides):
    """The composed train config resolved, minus the hydra node (its job.num is a sweep's)."""
    return _plain(compose_train(*overrides, fast=False))


def _plain(cfg):
    return {k: _value(cfg, k) for k in cfg if k != "hydra"}


def _value(cfg, key):
    v = cfg[key]
    return OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v


@pytest.mark.parametrize(
    "choice,name", [("alpha04", "alpha04"), ("alpha02", "alpha02"), ("trunc", "trunc"), ("full", "full")])
def test_paper_sampling_configs_keep_their_names(compose_train, choice, name):
    assert _resolved(compose_train, f"sampling={choice}")["sampling"]["name"] == name


@pytest.mark.parametrize("overrides,name", [
    (["sampling=alpha", "sampling.alpha=0.1"], "alpha01"),
    (["sampling=alpha", "sampling.alpha=0.5"], "alpha05"),
    (["sampling=alpha04", "sampling.alpha=0.3"], "alpha03"),   # no stale "alpha04"
    (["sampling=alpha02", "sampling.alpha=0.4"], "alpha04"),
    (["sampling=alpha", "sampling.alpha=0"], "trunc"),
])
def test_an_overridden_alpha_renames_the_strategy(compose_train, overrides, name):
    cfg = _resolved(compose_train, *overrides)
    assert cfg["sampling"]["name"] == name
    assert cfg["sampling"]["alpha"] == float(overrides[1].split("=")[1])


def test_default_run_is_labelled_by_its_sampling_alone(compose_train):
    cfg = _resolved(compose_train, "logger=wandb", "paths.cache_dir=/tmp/c", "trainer.devices=1", "seed=5")
    assert cfg["changes"] == [] and cfg["run_label"] == "alpha04"
    wb = cfg["logger"]["wandb"]
    assert wb["group"] == "alpha04" and wb["name"] == "alpha04-elmo_tiny-seed5"
    assert wb["tags"] == ["dev", "alpha04", "elmo_tiny"]


def test_model_ablations_show_in_wandb_group_name_and_tags_and_build(compose_train):
    ablation = ["model.lstm.use_skip_connections=false", "model.char_cnn.filters=[[1,32],[2,32]]",
                "model.lstm.n_layers=1"]
    cfg = compose_train("sampling=alpha", "sampling.alpha=0.3", *ablation, "logger=wandb", "seed=7",
                        fast=False)
    c = _plain(cfg)
    assert c["changes"] == ablation
    label = ("alpha03+model.lstm.use_skip_connections=false,model.char_cnn.filters=[[1,32],[2,32]],"
             "model.lstm.n_layers=1")
    wb = c["logger"]["wandb"]
    assert wb["group"] == label and wb["name"] == label + "-elmo_tiny-seed7"
    assert wb["tags"] == ["dev", "alpha03", "elmo_tiny", *ablation]
    # the overrides really change the model: 1 LSTM layer, no residual, 2 filters of 32
    from hydra.utils import instantiate

    bilm = instantiate(cfg.model)
    assert bilm.n_layers == 1 and len(bilm.lstm.layers) == 1
    assert bilm.lstm.use_skip_connections is False
    assert bilm.token_encoder.filters == [(1, 32), (2, 32)] and bilm.token_encoder.n_filters == 64


def test_one_alpha_per_sweep_job_in_subdir_and_prepared_corpus(tmp_path, session_cache):
    """A real `train.py -m sampling=alpha sampling.alpha=0.1,0.3` (corpus preparation only, 2 UD files)."""
    sweep, prepared = tmp_path / "sweep", tmp_path / "prepared"
    cmd = [sys.executable, "train.py", "-m", "sampling=alpha", "sampling.alpha=0.1,0.3", "prepare_only=true",
           "data.languages=[en,fi]", f"+data.corpora.en={UD / 'en' / 'en_ewt-ud-dev.conllu.xz'}",
           f"+data.corpora.fi={UD / 'fi' / 'fi_tdt-ud-dev.conllu.xz'}", "data.prepare.heldout_tokens=200",
           "data.prepare.workers=1", f"data.prepared_dir={prepared}", f"paths.cache_dir={session_cache}",
           f"paths.log_dir={tmp_path}/logs", f"hydra.sweep.dir={sweep}"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                         env={**os.environ, "WANDB_MODE": "offline"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0_alpha01", "1_alpha03"]
    corpora = sorted(p.name for p in prepared.iterdir() if not p.name.startswith("."))
    assert [c.split("-")[1] for c in corpora] == ["alpha01", "alpha03"], corpora


def test_the_study_can_name_a_run_by_what_its_model_changes(compose_train):
    """melmo.study passes changes=[...] so the study's common settings don't fill the W&B group."""
    c = _resolved(compose_train, "model=elmo_small", "budget.tokens=1000",
                  "changes=['model.lstm.n_layers=1']", "logger=wandb")
    assert c["run_label"] == "alpha04+model.lstm.n_layers=1"
    assert c["logger"]["wandb"]["tags"] == ["dev", "alpha04", "elmo_small", "model.lstm.n_layers=1"]


def test_the_export_records_the_wandb_group_and_tags_its_evaluations_log_under(compose_train):
    from melmo.pretrain.export import _run_info

    cfg = compose_train("sampling=alpha", "sampling.alpha=0.3", "model.lstm.n_layers=1", "logger=wandb",
                        "seed=7", fast=False)
    info = _run_info(cfg, None)
    assert info["run_label"] == "alpha03+model.lstm.n_layers=1"
    assert info["run_tags"] == ["dev", "alpha03", "elmo_tiny", "model.lstm.n_layers=1"]
    wb = _plain(cfg)["logger"]["wandb"]
    assert (wb["group"], wb["tags"]) == (info["run_label"], info["run_tags"])


@pytest.mark.parametrize("choice,alpha", [("alpha04", 0.4), ("alpha02", 0.2), ("trunc", 0.0), ("full", 1.0)])
def test_paper_sampling_configs_are_alpha_with_one_value(compose_train, choice, alpha):
    assert _resolved(compose_train, f"sampling={choice}")["sampling"] == {
        "_target_": "melmo.corpus.sampling.AlphaSampling", "name": choice, "alpha": alpha}


def test_vocab_from_composes_its_sampling_config_with_hydra():
    """data.vocab_from=<name> gets conf/sampling/<name>.yaml as sampling=<name> would (defaults list
    applied)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from melmo.corpus.from_config import sampling_config
    from melmo.corpus.readers import CorpusError

    GlobalHydra.instance().clear()
    with pytest.raises(CorpusError, match="data.vocab_from=alpha04: .*Hydra's config search path"):
        sampling_config("alpha04")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        got = OmegaConf.to_container(sampling_config("alpha02"), resolve=True)
        with pytest.raises(CorpusError, match="data.vocab_from=nosuch: no sampling config named 'nosuch'"):
            sampling_config("nosuch")
    assert got == {"_target_": "melmo.corpus.sampling.AlphaSampling", "name": "alpha02", "alpha": 0.2}


def test_the_resolvers_lists_resolve_in_place(compose_train):
    """``--cfg job --resolve`` runs OmegaConf.resolve, which cannot put a plain list where an interpolation
    was: every list-valued resolver (changes, tags, paper_languages, without) must give a ListConfig."""
    cfg = compose_train("model.lstm.n_layers=1", fast=False)
    job = OmegaConf.create({k: cfg[k] for k in cfg if k != "hydra"})
    job.tags = "${melmo.tags:[a],${changes}}"
    job.not_en = "${melmo.without:${data.languages},en}"
    OmegaConf.resolve(job)
    assert list(job.changes) == ["model.lstm.n_layers=1"] and job.run_label == "alpha04+model.lstm.n_layers=1"
    assert (list(job.tags) == ["a", "model.lstm.n_layers=1"] and "en" not in job.not_en
            and len(job.not_en) == 12)
