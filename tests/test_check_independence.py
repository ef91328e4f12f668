"""`allocator check` is an independent reading of SPEC section 4: it never imports the solver."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path


def test_checker_does_not_import_the_solver_or_ortools():
    module = importlib.import_module("allocator.check")  # the module, not the re-exported function
    tree = ast.parse(Path(module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported, "the parser found no imports at all"
    assert not {m for m in imported if m.startswith(("allocator.solver", "ortools"))}


def test_importing_the_checker_loads_no_solver_code():
    # in a fresh interpreter: the package's own __init__ must not pull the planner in either
    probe = (
        "import sys, allocator.check; "
        "print(sorted(m for m in sys.modules if m.startswith(('allocator.solver', 'allocator.scenario', 'ortools'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
