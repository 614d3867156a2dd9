"""The study's composed config, as a @hydra.main app sees it (the hydra node removed)."""

from pathlib import Path

import pytest

import melmo  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def compose_study(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    def make(*overrides, floors=False):   # the floors' stages have a test of their own
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("study", overrides=[f"paths.root_dir={ROOT}", f"paths.log_dir={tmp_path}",
                                             f"study.floors={floors}", "study.jobs=1", *overrides],
                          return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]   # as in a @hydra.main app
        return cfg

    yield make
    GlobalHydra.instance().clear()
