"""ruff (configured in pyproject.toml: its rules, the line length) passes over the package, the tests, the
benchmarks, the scripts and the entry scripts."""

import re
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


def check_with_project_settings(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*ruff(), "check", "--no-cache", "--output-format", "concise", "--config",
                           str(ROOT / "pyproject.toml"), str(path)],
                          capture_output=True, text=True, timeout=300)


def test_ruff_check_passes():
    targets = ["melmo", "tests", "benchmarks", "scripts", *sorted(p.name for p in ROOT.glob("*.py"))]
    res = subprocess.run([*ruff(), "check", "--no-cache", *targets], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_ruff_reports_what_it_is_configured_to(tmp_path):
    # negative control: the project's settings report an unused import, the banned pytorch_lightning and a
    # line one character over the line length; a line of exactly the line length passes
    limit = int(re.search(r"^line-length\s*=\s*(\d+)", (ROOT / "pyproject.toml").read_text(), re.M).group(1))
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nimport pytorch_lightning\n" + "x = " + repr("a" * (limit - 5)) + "\n")
    res = check_with_project_settings(bad)
    assert res.returncode == 1 and all(code in res.stdout for code in ("F401", "TID251")), res.stdout
    assert f"bad.py:3:{limit + 1}: E501" in res.stdout, res.stdout
    ok = tmp_path / "ok.py"
    ok.write_text("x = " + repr("a" * (limit - 6)) + "\n")
    res = check_with_project_settings(ok)
    assert res.returncode == 0, res.stdout
