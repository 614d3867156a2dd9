"""Running the study (``python -m melmo.study``): the planned stages in order, skipping what is done.

``python -m melmo.study study=sample`` (conf/study.yaml, conf/study/*.yaml). Every stage is a
run of the project's own apps in a subprocess, so each can also be run, and debugged, on its own (its
command line, built when it is launched by :func:`command`, is in its log and in study.json):

* train -- ``python -m melmo.pretrain sampling=<s> ... hydra.run.dir=<dir>/models/<name>`` (= train.py,
  melmo-train) per model of the
  sampling family (``study.strategies``, MONO for ``study.mono``, extra ``study.models``); done when
  ``<dir>/models/<name>/model/melmo.json`` exists (train.py writes it last, atomically).
* evaluate -- ``python -m melmo.tasks encoder.path=... task=<task> seeds=[...]`` (= evaluate.py,
  melmo-evaluate) per (model, task), or
  per (model, task, language) with ``language=<lang>`` (MONO models, ``evaluate.split_languages``),
  all into ``<dir>/results.csv``; not launched when the row of every seed and every language of
  ``study.evaluate.tasks[task]`` is already in the CSV.
* analyse -- ``python -m melmo.analysis <dir>/results.csv --sizes ... --out <dir>/analysis``; not
  rerun while the results CSV is the one it last analysed (its SHA-256 in ``analysis/.done``).

Each stage writes its output to ``<dir>/logs/<stage>.log``. A failed stage prints one line naming
it and its log; the evaluations of a model that failed to train are not launched, every other
stage still runs (the analysis on the rows there are), and the exit status is 1 (USER_ERROR, the one of
every entry point: melmo.utils.errors).
``study.logger=wandb`` (any conf/logger name) goes to every train and evaluate stage, and the analysis logs
its tables and figures to a W&B run too (group ``study-<name>``, saved under ``<dir>/wandb``).
``<dir>/study.json`` is the manifest: the composed config, every stage's command and status, and per task
how many heads had their best epoch at their epoch limit (``heads``, from the ``heads`` section each
evaluation writes into ``<dir>/configs/<task>/<encoder>.yaml``; also printed at the end).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from functools import partial
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from melmo.conf import SOURCE, VERSION_BASE
from melmo.study.plan import (
    Stage,
    StudyError,
    analysed,
    app_overrides,
    estimate,
    mark_analysed,
    plan,
    quoted,
    sizes_file,
)
from melmo.study.preflight import preflight
from melmo.study.resources import evict_caches
from melmo.utils.atomic import write_atomic
from melmo.utils.errors import USER_ERROR, exit_on_error


APPS = {"train": "melmo.pretrain", "evaluate": "melmo.tasks", "analyse": "melmo.analysis"}  # python -m <app>


def command(cfg: DictConfig, stage: Stage, dry_run: bool = False) -> list[str]:
    """The command line of ``stage``, built from its fields when it is launched (``dry_run``: when it would
    be; the analysis's corpus sizes are named then, not read: the model they come from is not trained yet)."""
    py = cfg.get("python") or sys.executable
    if stage.kind == "analyse":
        sizes = (f"<metadata.json of the {cfg.study.analysis.sizes_from} model's corpus>" if dry_run
                 else sizes_file(cfg))
        return [py, "-m", APPS["analyse"], str(Path(cfg.dir) / "results.csv"), "--sizes", sizes,
                "--out", stage.out, *stage.overrides]
    where = "hydra.sweep.dir" if stage.multirun else "hydra.run.dir"
    return [py, "-m", APPS[stage.kind], *(["-m"] if stage.multirun else []), *app_overrides(stage),
            f"{where}={quoted(stage.out)}"]


def subprocess_runner(stage: Stage, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Run one launched stage (its ``argv`` built by :func:`command`) with its output appended to its log
    file (``env``: more environment variables); returns the exit status."""
    Path(stage.log).parent.mkdir(parents=True, exist_ok=True)
    # HYDRA_FULL_ERROR=1 on the study reaches every stage
    env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
    with open(stage.log, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(stage.argv)}\n")
        fh.flush()
        return subprocess.run(stage.argv, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                              check=False).returncode


def heads_at_limit(out: Path) -> dict[str, dict[str, int]]:
    """Per task, ``{"heads": n, "at_limit": k}``: of the n heads trained in the study (every encoder,
    language and seed in ``<out>/configs/<task>/*.yaml``), the k whose best epoch was their last allowed
    one."""
    got: dict[str, dict[str, int]] = {}
    for path in sorted((out / "configs").glob("*/*.yaml")):
        heads = (OmegaConf.to_container(OmegaConf.load(path)).get("heads") or {})
        for seeds in heads.values():
            for h in seeds.values():
                c = got.setdefault(path.parent.name, {"heads": 0, "at_limit": 0})
                c["heads"] += 1
                c["at_limit"] += int(h.get("max_epochs") is not None and h["best_epoch"] >= h["max_epochs"])
    return got


def heads_line(counts: dict[str, dict[str, int]]) -> str:
    parts = ", ".join(f"{t} {c['at_limit']}/{c['heads']}" for t, c in sorted(counts.items()))
    return f"heads whose best epoch was their epoch limit (not converged): {parts or 'no heads trained'}"


def write_manifest(cfg: DictConfig, stages: list[Stage]) -> Path:
    """``<dir>/study.json``: the composed config, every stage and the heads at their epoch limit
    (atomically)."""
    out = Path(cfg.dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k]) else cfg[k]
              for k in cfg if k != "hydra"}
    body = {"config": config, "stages": [asdict(s) for s in stages], "heads": heads_at_limit(out),
            "results": str(out / "results.csv"), "analysis": str(out / "analysis"),
            "models": str(out / "models")}
    write_atomic(out / "study.json", json.dumps(body, indent=1, default=str))
    return out / "study.json"


def earlier_seconds(out: Path) -> dict[str, float]:
    """Stage name -> seconds it took in the run that did it, from ``<out>/study.json`` (a rerun skips
    finished stages but keeps their times)."""
    try:
        body = json.loads((out / "study.json").read_text())
    except (OSError, ValueError):
        return {}
    got = {}
    for s in body.get("stages", []):
        sec = s.get("seconds") if s.get("seconds") is not None else s.get("earlier_seconds")
        if sec is not None:
            got[str(s.get("name"))] = float(sec)
    return got


def stage_times(stages: list[Stage], wall: float | None = None) -> str:
    """One line: seconds of the stages run now, per kind, per evaluated task and in total (and the
    run's wall-clock seconds: less than the total when stages ran side by side)."""
    per: dict[str, float] = {}
    for s in stages:
        if s.seconds is None:
            continue
        key = f"{s.kind} {','.join(s.tasks)}".strip()
        per[key] = per.get(key, 0.0) + s.seconds
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in per.items())
    wall_part = f" in {wall:.0f} s wall" if wall is not None else ""
    return f"stage times (this run): {parts or 'nothing run'}; total {sum(per.values()):.0f} s{wall_part}"


def _threads_env(jobs: int) -> dict[str, str]:
    """Torch threads per stage when ``jobs`` stages share the machine: the cores split between them
    (a setting the user exported already wins)."""
    if jobs <= 1:
        return {}
    per = str(max(1, (os.cpu_count() or 1) // jobs))
    return {k: os.environ.get(k, per) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def run(cfg: DictConfig, runner: Callable[[Stage, Path], int] = subprocess_runner,
        echo: Callable[[str], None] = print) -> int:
    """Run the study's unfinished stages, ``study.jobs`` at a time (a stage starts once the stages it
    needs have finished; the analysis starts after every other stage); returns 0, or 1 when a
    stage failed."""
    stages = plan(cfg)
    # every input, device and disk the stages need; all problems, then an error
    budget = preflight(cfg, stages, echo)
    out = Path(cfg.dir)
    jobs = max(1, int(cfg.study.get("jobs") or 1))
    if runner is subprocess_runner:
        runner = partial(subprocess_runner, env=_threads_env(jobs))
    total = len(stages)
    todo = sum(not s.done for s in stages)
    echo(f"study {cfg.study.name}: {total} stages, {total - todo} already done, {todo} to run"
         f"{f', {jobs} at a time' if jobs > 1 else ''}; directory {out}")
    before = earlier_seconds(out)
    for s in stages:
        if s.done:
            s.earlier_seconds = before.get(s.name)
    started = time.monotonic()
    write_manifest(cfg, stages)
    failed: set[str] = set()
    finished: set[str] = set()
    number = {s.name: i for i, s in enumerate(stages, 1)}
    tag = lambda s: f"[{number[s.name]}/{total}] {s.name}"  # noqa: E731
    where = lambda s: f" -> {Path(s.out) / 'model'}" if s.kind == "train" else ""  # noqa: E731

    def launchable(s: Stage) -> bool:
        """Settle ``s`` without running it (done before, blocked, dry run, no sizes): False; else True."""
        if s.kind == "analyse":  # the CSV may have grown during this run: decide now
            s.done = analysed(out)
        if s.done:
            s.status = "skipped"
            echo(f"{tag(s)}: done before, skipped{where(s)}")
            return False
        blocked = [n for n in s.needs if n in failed]
        if blocked:
            s.status = "blocked"
            failed.add(s.name)
            echo(f"{tag(s)}: not run, it needs {blocked[0]} which failed")
            return False
        if cfg.dry_run:
            s.argv = command(cfg, s, dry_run=True)
            echo(f"{tag(s)}: would run {' '.join(s.argv)}")
            if s.kind == "train" and cfg.study.get("estimate"):
                echo(f"{tag(s)}: {estimate(cfg, s)}")
            return False
        try:
            s.argv = command(cfg, s)   # built once, here
        except StudyError as e:
            s.status = "failed"
            failed.add(s.name)
            echo(f"study: stage {s.name} failed: {e}")
            return False
        return True

    def settle(s: Stage, rc: int, seconds: float) -> None:
        s.seconds = round(seconds, 1)
        if rc != 0:
            s.status = "failed"
            failed.add(s.name)
            echo(f"study: stage {s.name} failed (exit {rc}), log: {s.log}")
        else:
            s.status = "ok"
            echo(f"{tag(s)}: ok in {s.seconds:.0f} s{where(s)}")
            if s.kind == "analyse":
                mark_analysed(out)
            # study.cache=evict: the encoder's caches once its evaluations are done
            evict_caches(cfg, stages, s, echo)
        write_manifest(cfg, stages)

    def timed(s: Stage) -> tuple[int, float]:
        t0 = time.monotonic()
        return runner(s, Path(cfg.paths.root_dir)), time.monotonic() - t0

    pending = list(stages)
    running: dict[Future, Stage] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            before = len(pending)
            while len(running) < jobs:
                ready = [s for s in pending if all(n in finished for n in s.needs if n in number)
                         and not (s.kind == "analyse" and (running or len(pending) > 1))]
                if not ready:
                    break
                # plan order, but another model's stage first: two evaluations of one model at once would
                # encode the same data twice (the activation cache is filled by whichever gets there first)
                busy = {n for r in running.values() for n in r.needs}
                s = min(ready, key=lambda p: (bool(busy & set(p.needs)), number[p.name]))
                pending.remove(s)
                if not launchable(s):
                    finished.add(s.name)
                    continue
                echo(f"{tag(s)}: running (log {s.log})")
                running[pool.submit(timed, s)] = s
            if not running:
                if len(pending) == before:  # nothing can start and nothing runs: a stage needs a later one
                    raise StudyError("study: stages wait on each other: "
                                     f"{', '.join(s.name for s in pending)}")
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: number[running[f].name]):
                s = running.pop(fut)
                settle(s, *fut.result())
                finished.add(s.name)
    manifest = write_manifest(cfg, stages)
    if cfg.dry_run:
        for line in budget.lines():
            echo(line)
    echo(stage_times(stages, time.monotonic() - started))
    echo(heads_line(heads_at_limit(out)))
    echo(f"models: {out / 'models'}/<name>/model   results: {out / 'results.csv'}   "
         f"analysis: {out / 'analysis'}   manifest: {manifest}   logs: {out / 'logs'}")
    if failed:
        echo(f"study {cfg.study.name}: {len(failed)} stage(s) failed or blocked: {', '.join(sorted(failed))}")
        return USER_ERROR
    return 0


def main() -> None:
    import hydra

    @hydra.main(version_base=VERSION_BASE, config_path=SOURCE, config_name="study")
    def _main(cfg: DictConfig) -> None:
        try:
            code = run(cfg)
        except Exception as e:
            exit_on_error(e)
        if code:
            sys.exit(code)

    _main()
