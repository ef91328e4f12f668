"""Property tests of the planner on small random instances (hypothesis).

Each instance is built with `tests/factory.py`: 1–3 aircraft of the two factory types, 1–5 requests with random
windows, durations, priorities, capabilities and `aircraft_count` 1–2, and optionally maintenance, late
availability, a sector alert coverage rule, and requests at the far base B that only a relocation can reach.
For every plan `allocator.solve` returns, the tests assert:

- it passes the independent checker (`allocator.check`; conftest.py runs it too, on the FCFS baseline as well);
- every request is either served or listed in `unserved`, exactly once;
- its service is never below the FCFS baseline's;
- when its status is OPTIMAL, its proven bound equals its service.

The planner returns the better of its starting plans (FCFS, greedy) and CP-SAT's, so the bare model is
also solved on its own: its plan must pass the checker, with the service the model's objective says.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allocator
from allocator import SolveOptions, check
from allocator.domain import Instance
from allocator.result import SolveStatus
from factory import aircraft, make, request, solve_model_alone, t

OPTIONS = SolveOptions(time_limit_s=5, workers=1, seed=0)

HORIZON_END = 23 * 60 + 59
# The busy part of the day where windows are drawn, so that requests compete for aircraft.
DAY_START, DAY_END = 8 * 60, 14 * 60

# Mostly capabilities both types have; `hoist` only MEDIUM has, `radar` neither.
CAPABILITIES: list[list[str]] = [
    *[["eo_ir"]] * 4,
    ["night_vision"],
    ["eo_ir", "night_vision"],
    [],
    [],
    ["hoist"],
    ["eo_ir", "hoist"],
    ["radar"],
]


def hhmm(minute: int) -> str:
    """`HH:MM` of a minute of the test day."""
    minute = max(0, min(HORIZON_END, minute))
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def fleets(draw: st.DrawFn) -> list[dict[str, Any]]:
    fleet = []
    for i in range(draw(st.integers(1, 3))):
        extra: dict[str, Any] = {}
        if draw(st.integers(0, 2)) == 2:
            start = draw(st.integers(DAY_START - 60, DAY_END))
            length = draw(st.integers(30, 360))
            extra["maintenance"] = [{"start": t(hhmm(start)), "end": t(hhmm(start + length))}]
        if draw(st.integers(0, 3)) == 3:  # late, sometimes too late for any ferry, or after the horizon
            late = [t(hhmm(draw(st.integers(0, DAY_END)))), t(hhmm(HORIZON_END - 5)), t("01:00", day="2026-12-02")]
            extra["available_from"] = draw(st.sampled_from(late))
        if draw(st.integers(0, 4)) == 4:
            extra["relocatable"] = False
        hours = draw(st.sampled_from([10.0, 6.0, 14.0, 8.0, 3.25, 2.0, 1.37, 0.0]))
        fleet.append(
            aircraft(
                f"N{i}",
                draw(st.sampled_from(["LIGHT", "MEDIUM"])),
                home=draw(st.sampled_from(["A", "A", "A2"])),
                hours=hours,
                **extra,
            )
        )
    return fleet


@st.composite
def requests(draw: st.DrawFn, far: bool) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(1, 5))):
        duration = draw(st.integers(10, 120))
        start = draw(st.integers(DAY_START, DAY_END))
        end = min(HORIZON_END, start + duration + draw(st.integers(0, 240)))
        start = min(start, end - duration)
        extra: dict[str, Any] = {}
        if draw(st.integers(0, 3)) == 3:
            extra["aircraft_types"] = [draw(st.sampled_from(["LIGHT", "MEDIUM"]))]
        if draw(st.integers(0, 4)) == 4:
            extra["value"] = draw(st.integers(0, 500))
        out.append(
            request(
                f"R{i}",
                north=draw(st.sampled_from([5, 15, 30, 45, 60])),
                near=draw(st.sampled_from(["A", "A", "A2", "B"] if far else ["A", "A", "A2"])),
                start=hhmm(start),
                end=hhmm(end),
                duration=duration,
                priority=draw(st.integers(1, 5)),
                agency=draw(st.sampled_from(["CBP", "ICE"])),
                caps=draw(st.sampled_from(CAPABILITIES)),
                submitted=hhmm(draw(st.integers(0, 600))),
                aircraft_count=draw(st.sampled_from([1, 1, 1, 2])),
                **extra,
            )
        )
    return out


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    far = draw(st.booleans())
    fleet = draw(fleets())
    reqs = draw(requests(far))
    coverage: dict[str, list[dict[str, Any]]] = {}
    if draw(st.booleans()):
        start = draw(st.integers(0, DAY_END))
        end = min(HORIZON_END, start + draw(st.integers(30, 600)))
        rule = {
            "start": t(hhmm(start)),
            "end": t(hhmm(end)),
            "capability": draw(st.sampled_from(["eo_ir", "hoist"])),
            "count": draw(st.integers(1, 2)),
            "penalty_per_hour": draw(st.integers(0, 300)),
        }
        coverage[draw(st.sampled_from(["S1", "S2"]))] = [rule]
    policy = {"max_relocations_per_aircraft": draw(st.integers(0, 2)) if far else 0}
    return make(fleet, reqs, coverage=coverage, policy=policy)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances())
def test_plan_is_valid_complete_and_never_below_fcfs(inst: Instance) -> None:
    result = allocator.solve(inst, OPTIONS)
    plan = result.plan
    report = check(inst, plan)
    assert report.ok, report.summary()

    served = {s.request for s in plan.sorties}
    unserved = Counter(u.request for u in plan.unserved)
    ids = [r.id for r in inst.requests]
    for rid in ids:
        listed = unserved[rid]
        assert (rid in served) + listed == 1, f"{rid}: served={rid in served}, listed {listed} times as unserved"
    assert set(unserved) <= set(ids)

    assert result.baseline is not None
    assert plan.objective.service >= result.baseline.objective.service
    if plan.status == SolveStatus.OPTIMAL:
        assert plan.bound.service == plan.objective.service


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances())
def test_the_bare_models_plan_is_valid_and_scored_as_the_model_scores_it(inst: Instance) -> None:
    status, value, plan = solve_model_alone(inst, time_limit_s=5)
    assert status in ("OPTIMAL", "FEASIBLE")
    report = check(inst, plan)
    assert report.ok, report.summary()
    assert value is not None and round(value) == report.service
