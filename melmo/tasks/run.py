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
from pathlib import Path

from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def _perplexity(cfg: DictConfig) -> list[dict]:
    import lightning as L

    from melmo.results.table import append_results
    from melmo.tasks.perplexity import perplexity

    L.seed_everything(cfg.seed, workers=True)
    trainer = instantiate(cfg.trainer, logger=False, callbacks=[])
    rows = perplexity(cfg, trainer)
    append_results(Path(cfg.results), rows)
    return rows


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
    log.info("%s: %d rows appended to %s", name, len(rows), cfg.results)
    for line in seed_spread(rows):
        log.info(line)
    return rows


def seed_spread(rows: list[dict]) -> list[str]:
    """Per (task, metric, language) with several seeds: mean and sample std over the seeds of ``rows``."""
    import statistics

    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["metric"], r["language"]), []).append(float(r["value"]))
    return [f"{t} {m} {lang}: mean {statistics.mean(v):.4f}, seed std {statistics.stdev(v):.4f} over {len(v)} seeds"
            for (t, m, lang), v in groups.items() if len(v) > 1]
