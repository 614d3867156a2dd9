"""The whole study as one command: ``python -m melmo.study study=sample|small|paper``.

plan.py   the models of the family, every stage's command (train, evaluate, the floors, analyse) and
          whether it is done already
run.py    running the unfinished stages as subprocesses, the manifest study.json, the stage times, the CLI
"""

from melmo.study.plan import Model, Stage, StudyError, length_overrides, models, plan
from melmo.study.run import main, run, stage_times, subprocess_runner, write_manifest

__all__ = ["Model", "Stage", "StudyError", "length_overrides", "main", "models", "plan", "run", "stage_times",
           "subprocess_runner", "write_manifest"]
