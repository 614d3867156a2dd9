"""conf/task/xnli.yaml composes into ESIM and names the six XNLI languages."""

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.tasks.xnli.esim import ESIM

CONF = Path(__file__).resolve().parents[3] / "conf" / "task" / "xnli.yaml"


def test_xnli_config_instantiates_esim():
    cfg = OmegaConf.load(CONF)
    assert cfg.name == "xnli"
    head = instantiate(cfg.head, n_in=8)
    assert isinstance(head, ESIM) and head.encoder.hidden_size == 300
    assert list(cfg.languages) == ["ar", "en", "hi", "ru", "tr", "zh"]
    assert (cfg.entry == "melmo.tasks.xnli.task.run"
            and OmegaConf.to_container(cfg.data)["dir"] == "${data.root}/nli")
    sample = CONF.parents[2] / "data" / "sample" / "nli"  # the shipped slice is the last layout
    lay = next(x for x in cfg.data.layouts if (sample / x.xnli).is_dir())
    assert lay.name == "slice" and lay.xnli == "xnli" and cfg.data.expected_rows[lay.name].dev == 200
    for lang in cfg.languages:
        assert (sample / lay.xnli / f"dev-{lang}.tsv.xz").is_file()
    official = cfg.data.layouts[0]  # what python -m melmo.datasets layout writes comes first
    from melmo.datasets.official import MNLI_DIR, MNLI_FILES, XNLI_DIR
    assert (f"nli/{official.xnli}" == XNLI_DIR
            and [f"nli/{official.train}", f"nli/{official.val}"] == [f"{MNLI_DIR}/{f}" for f in MNLI_FILES])


def test_data_root_from_the_study_override():
    """The study passes ++data_root=<path>; every task reads data.root (xnli: <root>/nli)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF.parents[1]), version_base="1.3"):
            plain = compose("evaluate", overrides=["task=xnli", "paths.root_dir=/repo"])
            study = compose("evaluate",
                            overrides=["task=xnli", "paths.root_dir=/repo", "++data_root=/eval/data"])
    finally:
        GlobalHydra.instance().clear()
    assert plain.data.root == "/repo/data/sample" and plain.task.data.dir == "/repo/data/sample/nli"
    assert study.data.root == "/eval/data" and study.task.data.dir == "/eval/data/nli"
