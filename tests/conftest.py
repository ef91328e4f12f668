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
    if options is not None and options.now is not None and result.plan.status in ("OPTIMAL", "FEASIBLE"):
        _assert_frozen_kept(result.plan, options)
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


def _assert_frozen_kept(plan, options) -> None:
    """SPEC section 9: baseline flights that took off before `now` are kept; nothing new takes off before it."""

    def key(flight) -> tuple:
        return tuple(sorted(flight.model_dump(by_alias=True, include=None).items()))

    def flights(p) -> set[tuple]:
        return {key(f) for f in [*p.sorties, *p.relocations]}

    new = flights(plan)
    if options.baseline is not None:
        old = [f for f in [*options.baseline.sorties, *options.baseline.relocations] if f.takeoff < options.now]
        lost = [f for f in old if key(f) not in new]
        assert not lost, f"frozen flights not kept: {lost}"
        frozen = {key(f) for f in old}
    else:
        frozen = set()
    early = [f for f in [*plan.sorties, *plan.relocations] if f.takeoff < options.now and key(f) not in frozen]
    assert not early, f"new flights take off before now: {early}"
