"""ruff (configured in pyproject.toml: its rules, the line length) passes over the package, the tests, the
benchmarks and the entry scripts."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return [exe]


def test_ruff_check_passes():
    targets = ["melmo", "tests", "benchmarks", *sorted(p.name for p in ROOT.glob("*.py"))]
    res = subprocess.run([*ruff(), "check", "--no-cache", *targets], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_ruff_reports_what_it_is_configured_to(tmp_path):
    # negative control: the project's settings report an unused import and the banned pytorch_lightning
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport pytorch_lightning\n")
    res = subprocess.run([*ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1 and "F401" in res.stdout and "TID251" in res.stdout, res.stdout
