"""Shared by the melmo.datasets tests: the stand-in official downloads and the command line run in-process."""

import pytest
from official_standin import downloads

from melmo.datasets.__main__ import main


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    """The stand-in official downloads (tests/official_standin.py), built once per test module."""
    return downloads(tmp_path_factory.mktemp("downloads"))


@pytest.fixture
def run(capsys):
    """``run(*argv)``: ``python -m melmo.datasets`` in-process, every argument str()-ed -> (exit status,
    stdout, stderr)."""

    def go(*argv):
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return go
