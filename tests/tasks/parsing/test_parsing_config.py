"""conf/task/parsing.yaml composes into the head and optimizer it names."""

from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from melmo.tasks.parsing.parser import BiaffineParser

CONF = Path(__file__).resolve().parents[3] / "conf" / "task" / "parsing.yaml"


def test_parsing_config_instantiates_dozat_manning_2017():
    cfg = OmegaConf.load(CONF)
    assert cfg.name == "parsing"
    head = instantiate(cfg.head, n_in=8, n_rels=3)
    assert isinstance(head, BiaffineParser)
    assert head.lstm.hidden_size == 400 and head.lstm.num_layers == 3
    assert head.arc_attn.n_in == 500 and head.rel_attn.n_in == 100 and head.rel_attn.n_out == 3
    assert head.arc_attn.bias_x and not head.arc_attn.bias_y
    opt = instantiate(cfg.module.optimizer)(params=head.parameters())
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["betas"] == (0.9, 0.9)
