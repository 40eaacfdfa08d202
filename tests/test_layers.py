"""The package's layers (issue 21): imports run one way, down the layers of
pyproject's import-linter contract; no module imports another that imports it back; and
an import inside a function is only ever of an optional or heavy third-party package."""

from __future__ import annotations

import ast
import graphlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]

# Imported where used, never at a module's top (each with why):
LAZY = {
    "matplotlib": "drawing: `import lrsched` and the CLI's tables need no pictures",
    "lmfit": "it imports matplotlib",
    "torch": "`import lrsched` and the curve CLI never load it (forecast's Lightning callback)",
    "transformers": "optional: the HF Trainer callback",
    "lightning": "optional: the Lightning callback",
    "tensorboard": "optional extra: reading event files",
    "sklearn": "optional extra: AutoLRS's Gaussian process",
    "threadpoolctl": "comes with scikit-learn (AutoLRS)",
    "tqdm": "optional extra: the harness's progress bar",
}


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                           "lint_imports_command; sys.exit(lint_imports_command())"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_imports_run_down_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check is real: a copy of the package where the laws import the plots fails it."""
    shutil.copytree(ROOT / "lrsched", tmp_path / "lrsched")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    fit = tmp_path / "lrsched" / "laws" / "fit.py"
    fit.write_text(fit.read_text() + "\nfrom lrsched import plot  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert "lrsched.laws.fit -> lrsched.plot" in result.stdout


def test_no_module_imports_one_that_imports_it_back():
    graph = grimp.build_graph("lrsched", exclude_type_checking_imports=True)
    order = graphlib.TopologicalSorter(
        {m: graph.find_modules_directly_imported_by(m) for m in graph.modules})
    order.prepare()  # raises CycleError naming the circle


def function_level_imports():
    """(module path, line, imported name) of every import inside a function."""
    for path in sorted((ROOT / "lrsched").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import):
                        yield from ((path, sub.lineno, a.name) for a in sub.names)
                    elif isinstance(sub, ast.ImportFrom):
                        yield path, sub.lineno, "." * sub.level + (sub.module or "")


def test_function_level_imports_are_only_of_heavy_optional_packages():
    found = list(function_level_imports())
    assert {name.split(".")[0] for _, _, name in found} <= set(LAZY), [
        f"{path.relative_to(ROOT)}:{line} imports {name}" for path, line, name in found
        if name.split(".")[0] not in LAZY]
    assert any(name == "lmfit" for _, _, name in found)  # the walk sees nested imports
