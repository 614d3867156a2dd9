"""The study prints each stage kind's time (evaluations per task) and the total at the end of a run."""

import json

from melmo.study import Stage, stage_times
from melmo.study.run import earlier_seconds


def test_stage_times_sum_per_kind_and_task():
    def stage(kind, name, task=None, seconds=None):
        return Stage(kind, name, tasks=[task] if task else [], log=f"{name}.log", seconds=seconds)

    stages = [stage("train", "train-a", seconds=70.0), stage("train", "train-b", seconds=5.5),
              stage("evaluate", "evaluate-a-pos", "pos", 12.0),
              stage("evaluate", "evaluate-b-pos", "pos", 8.0),
              stage("evaluate", "evaluate-a-parsing", "parsing", 30.0),
              stage("evaluate", "evaluate-b-parsing", "parsing"), stage("analyse", "analyse", seconds=4.0)]
    assert stage_times(stages) == ("stage times (this run): train 76 s, evaluate pos 20 s, evaluate parsing "
                                   "30 s, analyse 4 s; total 130 s")
    assert stage_times(stages[-2:-1]) == "stage times (this run): nothing run; total 0 s"
    assert stage_times(stages[:2], wall=50.2) == "stage times (this run): train 76 s; total 76 s in 50 s wall"


def test_a_rerun_reads_the_times_of_the_stages_done_before(tmp_path):
    assert earlier_seconds(tmp_path) == {}  # no manifest yet
    stages = [{"name": "train-a", "seconds": 70.0},
              {"name": "train-b", "seconds": None, "earlier_seconds": 5.5},
              {"name": "analyse", "seconds": None}]
    (tmp_path / "study.json").write_text(json.dumps({"stages": stages}))
    assert earlier_seconds(tmp_path) == {"train-a": 70.0, "train-b": 5.5}
    (tmp_path / "study.json").write_text("{not json")
    assert earlier_seconds(tmp_path) == {}
