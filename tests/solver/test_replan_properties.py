"""Property tests of re-planning (SPEC section 9) on small random instances (hypothesis).

The instances are those of `test_properties.py`. A baseline is solved, a random scenario of up to two
changes is applied (an aircraft down, with or without an end, its hours, a transfer, an added aircraft,
a cancelled or re-prioritised request, a policy update) and the baseline is re-planned, with `now`
absent, before the horizon, inside it or on a baseline sortie's takeoff or landing. The tests assert:

- the re-planned plan passes the independent checker against the changed instance;
- every baseline flight that took off before `now` is in the new plan unchanged, and nothing new takes
  off before `now`;
- with no change, the re-plan keeps an optimal baseline: no changed sortie, the same service.

A change the instance cannot take (an `InputError`, e.g. a frozen flight that no longer fits) must be a
sentence, not a crash. conftest.py checks every plan the solver returns as well.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import allocator
from allocator import SolveOptions, check
from allocator.domain import Instance
from allocator.errors import InputError
from allocator.result import Plan
from allocator.scenario import Scenario, apply_scenario, replan
from solver.test_properties import instances

OPTIONS = SolveOptions(time_limit_s=1, workers=1, seed=0)
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _flights(plan: Plan) -> set[tuple[Any, ...]]:
    """Every flight as (takeoff, kind, the rest of its fields)."""
    return {
        (s.takeoff, "sortie", s.aircraft, s.request, s.base, s.on_station, s.off_station, s.landing)
        for s in plan.sorties
    } | {(r.takeoff, "relocation", r.aircraft, r.from_, r.to, r.landing) for r in plan.relocations}


@st.composite
def nows(draw: st.DrawFn, inst: Instance, plan: Plan) -> datetime | None:
    start, end = inst.horizon.start, inst.horizon.end
    span = int((end - start).total_seconds() // 60)
    choices: list[datetime | None] = [None, start - timedelta(minutes=30), end - timedelta(minutes=1)]
    choices.append(start + timedelta(minutes=draw(st.integers(0, span - 1))))
    choices += [s.takeoff for s in plan.sorties] + [s.landing for s in plan.sorties]
    return draw(st.sampled_from(choices))


@st.composite
def scenarios(draw: st.DrawFn, inst: Instance, plan: Plan) -> dict[str, Any]:
    aircraft = [a.id for a in inst.aircraft]
    requests = [r.id for r in inst.requests]
    span = int((inst.horizon.end - inst.horizon.start).total_seconds() // 60)

    def at(minute: int) -> str:
        return (inst.horizon.start + timedelta(minutes=minute)).isoformat()

    changes: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["down", "down", "hours", "transfer", "add", "cancel", "priority", "policy"]))
        tail = draw(st.sampled_from(aircraft))
        if kind == "down":
            start = draw(st.integers(0, span - 1))
            down: dict[str, Any] = {"aircraft": tail, "from": at(start)}
            if draw(st.booleans()):
                down["until"] = at(start + draw(st.integers(1, 360)))
            changes.append({"aircraft_down": down})
        elif kind == "hours":
            changes.append({"hours_update": {"aircraft": tail, "hours_available": draw(st.sampled_from([0, 1, 3]))}})
        elif kind == "transfer":
            changes.append({"transfer": {"aircraft": tail, "base": draw(st.sampled_from(["A", "A2", "B"]))}})
        elif kind == "add":
            new = {"id": f"X{len(changes)}", "type": draw(st.sampled_from(["LIGHT", "MEDIUM"])), "hours_available": 8}
            changes.append({"aircraft_add": {**new, "home_base": draw(st.sampled_from(["A", "A2", "B"]))}})
        elif kind == "cancel" and requests:
            changes.append({"request_cancel": {"request": requests.pop(draw(st.integers(0, len(requests) - 1)))}})
        elif kind == "priority" and requests:
            update = {"request": draw(st.sampled_from(requests)), "priority": draw(st.integers(1, 5))}
            changes.append({"request_update": update})
        elif kind == "policy":
            changes.append({"policy_update": {"max_relocations_per_aircraft": draw(st.integers(0, 2))}})
    return {"name": "random", "changes": changes}


def _assert_frozen_kept(baseline: Plan, new: Plan, now: datetime) -> None:
    frozen = {f for f in _flights(baseline) if f[0] < now}
    kept = _flights(new)
    assert frozen <= kept, f"frozen flights not kept: {sorted(map(str, frozen - kept))}"
    early = [f for f in kept - frozen if f[0] < now]
    assert not early, f"new flights take off before now: {early}"


@SETTINGS
@given(inst=instances(), data=st.data())
def test_a_replanned_scenario_is_valid_and_keeps_the_flights_flown(inst: Instance, data: st.DataObject) -> None:
    baseline = allocator.solve(inst, OPTIONS).plan
    scenario = Scenario.model_validate(data.draw(scenarios(inst, baseline), label="scenario"))
    now = data.draw(nows(inst, baseline), label="now")
    try:
        changed = apply_scenario(inst, scenario)
        new = replan(changed, baseline, now, OPTIONS).plan
    except InputError as exc:  # the scenario cannot be applied, or a frozen flight no longer fits
        assert str(exc).endswith(".") and "\n" not in str(exc)
        event("input error")
        return
    event(f"re-planned ({'no now' if now is None else 'now'})")
    report = check(changed, new)
    assert report.ok, "; ".join(f"[{v.rule}] {v.message}" for v in report.violations)
    if now is not None and new.status in ("OPTIMAL", "FEASIBLE"):
        _assert_frozen_kept(baseline, new, now)


@SETTINGS
@given(inst=instances(), data=st.data())
def test_replanning_without_a_change_keeps_an_optimal_baseline(inst: Instance, data: st.DataObject) -> None:
    baseline = allocator.solve(inst, OPTIONS).plan
    now = data.draw(nows(inst, baseline), label="now")
    new = replan(inst, baseline, now, OPTIONS).plan
    assert check(inst, new).ok
    assert new.objective.service >= baseline.objective.service
    if now is not None:
        _assert_frozen_kept(baseline, new, now)
    if baseline.status == "OPTIMAL":
        assert new.run["changes"] == 0
        assert new.objective.service == baseline.objective.service
