"""The package's floors: each stage of the data flow is one folder and imports only what comes before it.

errors (the one base of user-facing errors) → languages, utils, conf (the shipped Hydra configs; shared by
every stage) → formats (every file format: CoNLL-U, NLI, Tatoeba, compressed text, hashes, the export's
metadata name) → datasets (the official downloads as a data root, checked with the format readers) → corpus →
data → model → pretrain (LM training, export) → encode → results → tasks → analysis → study. Besides the
order, some pairs must never meet (NEVER): the datasets never import the tasks, the frozen encoder never
imports the LM training. An import inside a function counts too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "melmo"
FLOORS = ["errors", "languages", "utils", "conf", "formats", "datasets", "corpus", "sampling", "data",
          "model", "pretrain", "encode", "results", "tasks", "analysis", "study"]
# floor -> floors it never imports, whatever the order above becomes
NEVER = {"datasets": {"tasks"}, "encode": {"pretrain"},
         "formats": set(FLOORS) - {"errors", "languages", "utils", "conf", "formats"}}
# melmo/__init__.py imports melmo.embed lazily (a public convenience), melmo/sampling.py is the public alias
# of melmo.corpus.sampling: both sit above every floor.
TOP = {"__init__", "sampling"}
# bilm-tf's character vocabulary (melmo.model.chars: byte ids, BOW/EOW, truncation) is a convention every
# stage shares: corpus preparation counts the tokens it cuts, the LM batches encode with it.
SHARED = {"melmo.model.chars"}


def floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if node.module == "melmo":
                out += [(node.lineno, n) for n in names[1:]]
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in out if m == "melmo" or m.startswith("melmo.")]


def wrong_way_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0].removesuffix(".py")
        if own in TOP and len(rel.parts) == 1:
            continue
        assert own in FLOORS, (f"melmo/{rel}: {own!r} is no floor of the data flow; "
                               "add it to FLOORS in its place")
        for line, module in imports(path):
            other = floor(module)
            if other in ("", "__version__") or module in SHARED:
                continue
            if other == "sampling" and own != "sampling":
                bad.append(
                    f"melmo/{rel}:{line} imports {module}: use melmo.corpus.sampling inside the package")
            elif other in NEVER.get(own, ()):
                bad.append(f"melmo/{rel}:{line} imports {module} ({own} never imports {other})")
            elif other in FLOORS and FLOORS.index(other) > FLOORS.index(own):
                bad.append(f"melmo/{rel}:{line} imports {module} ({other} comes after {own})")
    return bad


def test_no_stage_imports_a_later_stage():
    assert wrong_way_imports() == []


def test_the_check_sees_a_wrong_way_import(tmp_path, monkeypatch):
    # negative control: a task module importing the analysis, lazily, is reported
    fake = tmp_path / "melmo"
    (fake / "tasks").mkdir(parents=True)
    (fake / "tasks" / "x.py").write_text("def f():\n    from melmo.analysis.tables import summary_table\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert wrong_way_imports() == [
        "melmo/tasks/x.py:2 imports melmo.analysis.tables (analysis comes after tasks)"]


@pytest.mark.parametrize("own, module", [("datasets", "melmo.tasks.pos"), ("encode", "melmo.pretrain.export"),
                                         ("formats", "melmo.corpus.readers")])
def test_the_check_sees_a_pair_that_must_never_meet(tmp_path, monkeypatch, own, module):
    # negative controls: each pair of NEVER is reported, whatever the order of the floors says
    fake = tmp_path / "melmo"
    (fake / own).mkdir(parents=True)
    (fake / own / "x.py").write_text(f"import {module}\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    other = module.split(".")[1]
    assert wrong_way_imports() == [f"melmo/{own}/x.py:1 imports {module} ({own} never imports {other})"]


def conllu_readers(package: Path) -> list[str]:
    """Modules that cut CoNLL-U rows into their tab-separated columns themselves."""
    out = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "conllu" in text.lower() and ('split("\\t")' in text or 'count("\\t")' in text):
            out.append(str(path.relative_to(package)))
    return out


def test_one_conllu_reader():
    # UDPipe parses its own CoNLL-U input for its trainer (melmo/corpus/udpipe/conllu.py hands it the text)
    assert conllu_readers(PACKAGE) == ["formats/conllu.py"]


@pytest.mark.parametrize("name", ["melmo.embed", "melmo.model.io.load_bilm", "melmo.model.io.save_bilm",
                                  "melmo.sampling.target_sizes", "melmo.model.chars.batch_to_ids",
                                  "melmo.formats.conllu.read_conllu", "melmo.formats.files.open_text",
                                  "melmo.tasks.parsing.conllu_scores", "melmo.analysis.summary_table",
                                  "melmo.analysis.size_correlation"])
def test_public_names_stay_importable(name):
    import importlib

    module, attr = name.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), attr))


def test_docs_layout_names_every_module():
    page = (PACKAGE.parent / "docs" / "layout.md").read_text(encoding="utf-8")
    layout = page.split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if path.name == "__init__.py" and len(rel.parts) > 1:
            name = rel.parts[-2] + "/"
        elif path.name in ("__init__.py",):
            continue
        elif path.name == "__main__.py":
            name = "__main__.py" if rel.parts[0] == "analysis" else None
        else:
            name = path.stem if len(rel.parts) > 2 else path.name
        if name and name not in layout:
            missing.append(str(rel))
    assert missing == [], f"docs/layout.md's Layout section does not name: {', '.join(missing)}"
