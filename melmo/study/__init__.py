"""The whole study as one command: ``python -m melmo.study study=sample|small|paper``.

plan.py   the models of the family, every stage as a record (train, evaluate, the floors, analyse:
          kind, model, tasks, languages, overrides, needs) and whether it is done already
run.py    each stage's command line, built at launch; running the unfinished stages as subprocesses, the
          manifest study.json, the stage times, the CLI
"""

from melmo.study.plan import Model, Stage, StudyError, length_overrides, models, plan
from melmo.study.run import command, main, run, stage_times, subprocess_runner, write_manifest

__all__ = ["Model", "Stage", "StudyError", "command", "length_overrides", "main", "models", "plan", "run",
           "stage_times", "subprocess_runner", "write_manifest"]
