"""The documentation site builds with ``mkdocs build --strict`` (mkdocs.yml at the repository root): a page
missing from the nav, a nav entry without its page, a link to a missing page or to a missing anchor fails
here instead of on the published site."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"{' and '.join(MISSING)} not importable: pip install -e '.[docs]' "
                    "(the test extra has them)")
def test_mkdocs_build_strict(tmp_path):
    # Material's notice about MkDocs 2.0, not a build warning
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
               "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "results" / "small" / "index.html").is_file()  # the results READMEs are pages


def test_readme_links_resolve():
    """README.md is outside the site (GitHub shows it): its relative links must still name files that
    exist."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#", 1)[0] for t in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in t]
    assert any(t.startswith("docs/") for t in targets), targets
    missing = [t for t in targets if t and not (ROOT / t).exists()]
    assert missing == [], f"README.md links to missing files: {missing}"
