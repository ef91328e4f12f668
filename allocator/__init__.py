"""allocator: air asset allocation optimizer for border air operations.

The Python API for notebooks::

    from allocator import load_instance, solve, check
    inst = load_instance("instances/three-sector-day.json")
    result = solve(inst, SolveOptions(time_limit_s=10))
    result.sorties            # pandas DataFrame
    check(inst, result.plan).ok
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from allocator.check import CheckReport, check
from allocator.diff import PlanDiff, diff
from allocator.errors import InputError
from allocator.io import load_instance, load_plan, write_instance, write_plan
from allocator.result import Plan, Reason, Result, SolveStatus

if TYPE_CHECKING:
    from allocator.scenario import Scenario, apply_scenario, load_scenario, replan
    from allocator.solver import SolveOptions, solve, solve_fcfs_plan

__version__ = "0.1.0"

# The planner (and OR-Tools) is imported on first use, so that `import allocator.check` alone, as
# `allocator check` needs it, loads no solver code (the checker is an independent reading of SPEC 4).
_LAZY = {
    "Scenario": "allocator.scenario",
    "apply_scenario": "allocator.scenario",
    "load_scenario": "allocator.scenario",
    "replan": "allocator.scenario",
    "SolveOptions": "allocator.solver",
    "solve": "allocator.solver",
    "solve_fcfs_plan": "allocator.solver",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CheckReport",
    "InputError",
    "Plan",
    "PlanDiff",
    "Reason",
    "Result",
    "Scenario",
    "SolveOptions",
    "SolveStatus",
    "apply_scenario",
    "check",
    "diff",
    "load_instance",
    "load_plan",
    "load_scenario",
    "replan",
    "solve",
    "solve_fcfs_plan",
    "write_instance",
    "write_plan",
]
