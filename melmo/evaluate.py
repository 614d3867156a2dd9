"""The body of ``evaluate.py``: measure a frozen, exported biLM and append long-format results.

Task implemented here: ``perplexity`` -- held-out perplexity per language (full softmax, both
directions, bilm-tf's run_test protocol) of an exported model on a prepared corpus. Rows go to the
long results CSV (melmo.tasks.results): ``encoder,task,metric,language,seed,value``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from melmo.tasks.perplexity import perplexity
from melmo.tasks.results import append_results

log = logging.getLogger(__name__)

TASKS = {"perplexity": perplexity}


def run(cfg: DictConfig) -> list[dict]:
    import lightning as L

    L.seed_everything(cfg.seed, workers=True)
    if cfg.task.name not in TASKS:
        raise ValueError(f"unknown task {cfg.task.name!r} (available: {', '.join(TASKS)})")
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])
    rows = TASKS[cfg.task.name](cfg, trainer)
    append_results(Path(cfg.results), rows)
    log.info("appended %d rows to %s", len(rows), cfg.results)
    return rows
