"""The body of ``evaluate.py``: measure a frozen biLM and append long-format results.

Tasks are Hydra configs under conf/task/. A task config names its ``runner``, a function
``runner(cfg) -> rows`` that writes its own rows (pos, pos_transfer, tatoeba: melmo.tasks.*; see
melmo/tasks/head.py for the head framework). ``perplexity`` -- held-out perplexity per language
(full softmax, both directions, bilm-tf's run_test protocol) -- takes a Lightning trainer built
from cfg.trainer. Rows go to the long results CSV (melmo.results.table):
``encoder,task,metric,language,seed,value``.
"""

from __future__ import annotations

import logging

from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def _perplexity(cfg: DictConfig) -> list[dict]:
    from melmo.tasks.perplexity import perplexity

    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])  # no head: nothing random to seed
    return perplexity(cfg, trainer)


TASKS = {"perplexity": _perplexity}


def run(cfg: DictConfig) -> list[dict]:
    name = cfg.task.get("name")
    runner = cfg.task.get("runner")
    if runner:
        fn = get_method(runner)
    elif name in TASKS:
        fn = TASKS[name]
    else:
        raise ValueError(f"unknown task {name!r} (conf/task/{name}.yaml names no runner; built in: {', '.join(TASKS)})")
    if cfg.get("threads"):
        import torch

        torch.set_num_threads(int(cfg.threads))
    rows = fn(cfg)
    log.info("%s: %d rows written to %s", name, len(rows), cfg.results)
    return rows
