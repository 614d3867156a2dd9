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
    root = CONF.parents[2]
    for lang in cfg.languages:
        assert (root / cfg.data.dir / cfg.data.xnli_dir / f"dev-{lang}.tsv.xz").is_file()
