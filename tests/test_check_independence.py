"""`allocator check` is an independent reading of SPEC section 4: it never imports the solver."""

from __future__ import annotations

import ast
import importlib
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
