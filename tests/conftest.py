"""Every plan the solver makes during the tests is run through the independent checker."""

from __future__ import annotations

import pytest

import allocator
import allocator.solver
from allocator.check import check

_real_solve = allocator.solver.solve


def checked_solve(instance, options=None):
    """`solve`, then `allocator check` on the plan and on its FCFS baseline: any violation fails the test."""
    result = _real_solve(instance, options)
    for plan in (result.plan, result.baseline):
        if plan is None:
            continue
        report = check(instance, plan)
        assert report.ok, f"plan ({plan.run.get('method')}) fails the checker: " + "; ".join(
            f"[{v.rule}] {v.message}" for v in report.violations
        )
    return result


@pytest.fixture(autouse=True)
def _check_every_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.solver, "solve", checked_solve)
    monkeypatch.setattr(allocator, "solve", checked_solve)
