"""allocator: air asset allocation optimizer for border air operations.

The Python API for notebooks::

    from allocator import load_instance, solve, check
    inst = load_instance("instances/three-sector-day.json")
    result = solve(inst, SolveOptions(time_limit_s=10))
    result.sorties            # pandas DataFrame
    check(inst, result.plan).ok
"""

from allocator.check import CheckReport, check
from allocator.diff import PlanDiff, diff
from allocator.errors import InputError
from allocator.io import load_instance, load_plan, write_instance, write_plan
from allocator.result import Plan, Reason, Result, SolveStatus
from allocator.scenario import Scenario, apply_scenario, load_scenario, replan
from allocator.solver import SolveOptions, solve, solve_fcfs_plan

__version__ = "0.1.0"

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
