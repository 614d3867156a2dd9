"""Deliberate programming errors, for tests/house/test_errors.py (a bug must show its traceback)."""


def run(cfg):  # a task entry with a bug
    return [][len(cfg.task.name)]


class Broken:  # a _target_ whose constructor has a bug
    def __init__(self, size: int):
        self.size = size + None
