"""One shape per task: every conf/task/*.yaml names its entry (``entry: melmo.tasks.<module>.run``), a
function ``run(cfg) -> rows`` of a task module (never of the shared machinery in melmo.tasks.common)."""

import inspect
from pathlib import Path

import pytest
from hydra.utils import get_method
from omegaconf import OmegaConf

from melmo.errors import ConfigError
from melmo.tasks.run import task_entry

CONF = Path(__file__).resolve().parents[2] / "conf" / "task"


@pytest.mark.parametrize("path", sorted(CONF.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_task_config_names_a_run_entry(path):
    entry = OmegaConf.load(path).get("entry")
    assert entry and entry.startswith("melmo.tasks.") and entry.endswith(".run"), (path.name, entry)
    assert not entry.startswith("melmo.tasks.common."), entry
    fn = get_method(entry)
    assert list(inspect.signature(fn).parameters) == ["cfg"], entry


def test_a_task_without_an_entry_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"^task 'mine': conf/task/mine\.yaml names no entry"):
        task_entry(OmegaConf.create({"name": "mine"}))
    with pytest.raises(ConfigError, match=r"^task\.entry=melmo\.tasks\.nosuch\.run: "):
        task_entry(OmegaConf.create({"name": "mine", "entry": "melmo.tasks.nosuch.run"}))
