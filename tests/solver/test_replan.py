"""Re-planning (SPEC section 9): the baseline as a stability stage, flights frozen before `now`, and
requests that must be served. Plans are checked by the autouse fixture, which also checks that frozen
flights are kept and nothing new takes off before `now`."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

import pytest
from ortools.sat.python import cp_model

import allocator
from allocator import SolveOptions
from allocator.domain import Instance
from allocator.errors import InputError
from allocator.generate import generate
from allocator.result import Objective, Plan, SolveStatus
from allocator.scenario import Scenario, apply_scenario
from allocator.solver import Progress, objective
from allocator.solver.anchor import anchor_of, repaired, schedule_of
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule
from allocator.solver.scoring import score
from allocator.solver.search import service_part
from factory import aircraft, make, request, t

FAST = SolveOptions(time_limit_s=10, workers=2, seed=0)


def solve(inst: Instance, **changes) -> allocator.Result:
    options = SolveOptions(**{**FAST.__dict__, **changes})
    return allocator.solve(inst, options)


def served(plan: Plan) -> set[str]:
    return {s.request for s in plan.sorties}


def flights(plan: Plan) -> set[tuple]:
    return {(s.aircraft, s.request, s.takeoff, s.on_station, s.landing) for s in plan.sorties}


def down(inst: Instance, aircraft_id: str, start: str, end: str = "23:59") -> Instance:
    """The instance with one more maintenance window on an aircraft."""
    data = inst.model_dump(mode="json", by_alias=True)
    for ac in data["aircraft"]:
        if ac["id"] == aircraft_id:
            ac["maintenance"] = [*ac.get("maintenance", []), {"start": t(start), "end": t(end)}]
    return Instance.model_validate(data)


def instant(hhmm: str) -> datetime:
    return datetime.fromisoformat(t(hhmm))


# two identical helicopters, four requests: two in the morning, two in the afternoon
FLEET = [aircraft("H1"), aircraft("H2")]
REQUESTS = [
    request("AM1", start="08:00", end="10:00", priority=2),
    request("AM2", start="08:00", end="10:00", priority=3),
    request("PM1", start="14:00", end="16:00", priority=2),
    request("PM2", start="14:00", end="16:00", priority=3),
]


def test_replanning_an_unchanged_instance_keeps_the_baseline():
    inst = make(FLEET, REQUESTS)
    first = solve(inst)
    again = solve(inst, baseline=first.plan)
    assert again.status == SolveStatus.OPTIMAL
    assert again.plan.run["changes"] == 0
    assert flights(again.plan) == flights(first.plan)
    assert again.plan.objective == first.plan.objective


def test_aircraft_down_changes_only_its_own_sorties():
    inst = make([*FLEET, aircraft("H3")], REQUESTS)
    first = solve(inst)
    victim = next(s.aircraft for s in first.plan.sorties if s.request == "PM1")
    others = {f for f in flights(first.plan) if f[0] != victim}
    result = solve(down(inst, victim, "12:00"), baseline=first.plan)
    assert result.status == SolveStatus.OPTIMAL
    assert served(result.plan) == served(first.plan)  # a third helicopter takes over
    assert others <= flights(result.plan)
    moved = sum(1 for s in first.plan.sorties if s.aircraft == victim and s.takeoff >= instant("12:00"))
    assert result.plan.run["changes"] == moved >= 1


def test_without_a_spare_aircraft_the_lower_priority_request_is_dropped():
    inst = make(FLEET, REQUESTS)
    first = solve(inst)
    victim = next(s.aircraft for s in first.plan.sorties if s.request == "PM1")
    result = solve(down(inst, victim, "12:00"), baseline=first.plan)
    assert result.status == SolveStatus.OPTIMAL
    assert served(result.plan) == {"AM1", "AM2", "PM1"}
    assert result.service == 200 + 50 + 200


def test_flights_before_now_are_frozen_even_when_moving_them_would_pay():
    # the baseline flies the priority-3 request in the morning; a priority-1 request arrives for the
    # same slot: before `now` nothing can change, after `now` the new request takes the aircraft
    inst = make([aircraft("H1")], [request("AM2", start="08:00", end="09:30", priority=3)])
    first = solve(inst)
    assert served(first.plan) == {"AM2"}
    urgent = make(
        [aircraft("H1")],
        [request("AM2", start="08:00", end="09:30", priority=3), request("P1", start="08:00", end="09:30", priority=1)],
    )
    free = solve(urgent, baseline=first.plan)
    assert served(free.plan) == {"P1"}
    frozen = solve(urgent, baseline=first.plan, now=instant("08:00"))
    assert served(frozen.plan) == {"AM2"}
    assert flights(frozen.plan) == flights(first.plan)
    assert frozen.plan.run["frozen_flights"] == 1


def test_nothing_new_takes_off_before_now():
    inst = make([aircraft("H1")], [request("R1", start="08:00", end="12:00")])
    result = solve(inst, now=instant("10:00"))
    assert served(result.plan) == {"R1"}
    assert min(s.takeoff for s in result.plan.sorties) >= instant("10:00")


def test_request_that_can_only_be_flown_before_now_is_not_served():
    inst = make([aircraft("H1")], [request("R1", start="08:00", end="09:30")])
    result = solve(inst, now=instant("10:00"))
    assert result.status == SolveStatus.OPTIMAL
    assert served(result.plan) == set()
    assert result.bound == 0  # nothing can be gained any more


def test_frozen_flight_overlapping_new_maintenance_is_a_clear_input_error():
    inst = make([aircraft("H1")], [request("R1", start="08:00", end="09:30")])
    first = solve(inst)
    with pytest.raises(InputError, match=r"H1.*R1.*maintenance"):
        solve(down(inst, "H1", "08:30"), baseline=first.plan, now=instant("09:00"))


def test_an_aircraft_grounded_in_the_air_is_told_when_it_is_back_in_the_offset_of_now():
    # R1 is flown with its takeoff before 09:00; the outage from 08:30 starts while the aircraft is still
    # in the air: the message says when it is back and turned around, in --now's UTC offset (-07:00)
    inst = make([aircraft("H1")], [request("R1", start="08:00", end="09:30")])
    first = solve(inst)
    (sortie,) = first.plan.sorties
    now = instant("09:00").astimezone(timezone(timedelta(hours=-7)))
    back = (sortie.landing + timedelta(minutes=30)).astimezone(now.tzinfo)  # the LIGHT type's turnaround
    with pytest.raises(InputError) as error:
        solve(down(inst, "H1", "08:30"), baseline=first.plan, now=now)
    assert "overlaps maintenance of H1 from 2026-12-01T01:30:00-07:00" in str(error.value)
    assert f"it is back on the ground and turned around at {back.isoformat()}" in str(error.value)


def test_frozen_flight_of_a_cancelled_request_is_a_clear_input_error():
    inst = make([aircraft("H1")], [request("R1", start="08:00", end="09:30")])
    first = solve(inst)
    other = make([aircraft("H1")], [request("R2", start="12:00", end="14:00")])
    with pytest.raises(InputError, match="R1 is no longer in the instance"):
        solve(other, baseline=first.plan, now=instant("09:00"))


def test_required_request_is_served_at_the_expense_of_a_better_one(caplog: pytest.LogCaptureFixture):
    inst = make([aircraft("H1")], [request("HIGH", priority=2, end="09:30"), request("LOW", priority=4, end="09:30")])
    free = solve(inst)
    assert served(free.plan) == {"HIGH"}
    with caplog.at_level(logging.INFO, logger="allocator"):
        forced = solve(inst, require=frozenset({"LOW"}))
    assert forced.status == SolveStatus.OPTIMAL
    assert served(forced.plan) == {"LOW"}
    assert forced.service == 10 == forced.plan.bound.service
    # FCFS's 200 does not serve LOW: it is no lower bound on a plan that must, and the bound 10 stands
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_required_request_that_cannot_be_flown_gives_infeasible():
    inst = make([aircraft("H1")], [request("R1", caps=["hoist"]), request("R2")])
    result = solve(inst, require=frozenset({"R1"}))
    assert result.status == SolveStatus.INFEASIBLE
    assert "required" in result.plan.run["note"]


def test_unknown_required_request_is_a_clear_input_error():
    inst = make([aircraft("H1")], [request("R1")])
    with pytest.raises(InputError, match="R9"):
        solve(inst, require=frozenset({"R9"}))


def test_overlapping_maintenance_windows_are_read_as_one():
    fleet = [
        aircraft("N1", maintenance=[{"start": t("07:00"), "end": t("13:00")}, {"start": t("12:00"), "end": t("23:59")}])
    ]
    result = solve(make(fleet, [request("R1", start="04:00", end="06:00")]))
    assert result.status == SolveStatus.OPTIMAL
    assert served(result.plan) == {"R1"}


def _relocating_plan():
    """H1 must relocate from A to A2 to reach R1 (out of range from A, just in range from A2)."""
    inst = make([aircraft("H1")], [request("R1", near="A2", north=80, start="10:00", end="14:00", duration=100)])
    first = solve(inst)
    assert [(r.from_, r.to) for r in first.plan.relocations] == [("A", "A2")]
    return inst, first.plan


def test_replanning_an_unchanged_instance_keeps_the_baseline_relocation_at_its_minute():
    inst, plan = _relocating_plan()
    again = solve(inst, baseline=plan)
    assert again.plan.relocations == plan.relocations
    assert (again.plan.run["changes"], again.plan.run["relocation_changes"]) == (0, 0)


def test_a_retimed_baseline_relocation_counts_as_a_change_ranked_below_a_changed_sortie():
    # stage 1 of a re-plan maximises weight * service - (changed sorties, then changed relocations)
    inst, plan = _relocating_plan()
    prep = Prepared(inst)
    v = build_model(prep, anchor_of(prep, plan, None, frozenset()))
    objective.maximise_service_then_stability(v)
    service, weight = score(prep, schedule_of(prep, plan)).service, objective.stability_weight(v)
    takeoff = prep.timeline.minutes(plan.relocations[0].takeoff)

    def best(*constraints) -> tuple[float, int, int]:
        for constraint in constraints:
            v.model.add(constraint)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(v.model) == cp_model.OPTIMAL
        changed = solver.value(v.terms.changes), solver.value(v.terms.relocation_changes)
        return solver.objective_value, *changed

    assert best() == (weight * service, 0, 0)
    retimed = best(v.slots["H1"][0].start != takeoff)
    assert retimed == (weight * service - 1, 0, 1)


def changed(inst: Instance, policy: dict | None = None, **aircraft_fields) -> Instance:
    """The instance with policy fields and fields of every aircraft changed."""
    data = inst.model_dump(mode="json", by_alias=True)
    data["policy"] = {**data.get("policy", {}), **(policy or {})}
    data["aircraft"] = [{**a, **aircraft_fields} for a in data["aircraft"]]
    return Instance.model_validate(data)


def test_frozen_relocation_beyond_the_new_relocation_limit_is_a_clear_input_error():
    inst, plan = _relocating_plan()
    after = plan.relocations[0].takeoff.strftime("%H:%M")
    now = instant(after) + (instant("00:01") - instant("00:00"))
    with pytest.raises(InputError, match=r"relocation of H1 to A2.*relocate only 0 time"):
        solve(changed(inst, policy={"max_relocations_per_aircraft": 0}), baseline=plan, now=now)


def _broken(plan: Plan, how: str) -> Plan:
    """The plan with one of its flights made into something that is not a flight."""
    sortie, move = plan.sorties[0], plan.relocations[0]
    minute = timedelta(minutes=1)
    if how == "twice":
        return plan.model_copy(update={"sorties": [sortie, sortie]})
    if how == "out of order":
        return plan.model_copy(update={"sorties": [sortie.model_copy(update={"on_station": sortie.takeoff - minute})]})
    if how == "nowhere":
        return plan.model_copy(update={"relocations": [move.model_copy(update={"to": move.from_})]})
    if how == "backwards":
        return plan.model_copy(update={"relocations": [move.model_copy(update={"landing": move.takeoff})]})
    early = sortie.model_copy(
        update={
            k: getattr(sortie, k) - (sortie.takeoff - move.landing)
            for k in ("takeoff", "on_station", "off_station", "landing")
        }
    )
    return plan.model_copy(update={"sorties": [early]})  # takes off as the relocation lands: no turnaround


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("twice", "the plan gives it twice"),
        ("out of order", "times are out of order"),
        ("nowhere", "it goes from A to A"),
        ("backwards", "does not land after it takes off"),
        ("no turnaround", "takes off before the relocation of H1 to A2 has landed and turned around"),
    ],
)
def test_a_frozen_flight_that_is_not_a_flight_is_named(how: str, message: str):
    inst, plan = _relocating_plan()
    with pytest.raises(InputError, match=message):
        solve(inst, baseline=_broken(plan, how), now=instant("15:30"))


def test_now_at_or_after_the_horizon_end_is_a_clear_input_error():
    inst, plan = _relocating_plan()
    with pytest.raises(InputError, match=r"--now .* is not before the horizon's end .*nothing re-planned"):
        solve(inst, baseline=plan, now=inst.horizon.end)
    assert solve(inst, baseline=plan, now=inst.horizon.end - timedelta(minutes=1)).plan.run["changes"] == 0


def test_frozen_flights_beyond_the_new_flight_hours_are_a_clear_input_error():
    inst, plan = _relocating_plan()
    flown = sum((f.landing - f.takeoff).total_seconds() / 60 for f in (*plan.sorties, *plan.relocations))
    assert flown > 60
    with pytest.raises(InputError, match=r"H1 would then have flown \d+ minutes, more than its 1 flight hour \(60"):
        solve(changed(inst, hours_available=1), baseline=plan, now=instant("15:30"))


def test_frozen_flights_before_the_aircraft_is_now_available_are_a_clear_input_error():
    inst, plan = _relocating_plan()
    assert plan.relocations[0].takeoff < instant("12:00")
    with pytest.raises(InputError, match=r"relocation of H1 to A2 .* H1 is now available only from"):
        solve(changed(inst, available_from=t("12:00")), baseline=plan, now=instant("15:30"))


def test_frozen_flight_from_a_base_the_aircraft_no_longer_operates_from_is_a_clear_input_error():
    inst, plan = _relocating_plan()
    sortie = plan.sorties[0]
    now = sortie.takeoff + (instant("00:01") - instant("00:00"))
    with pytest.raises(InputError, match=r"relocation of H1 to A2.*leaves from A while .* operates from A2"):
        solve(changed(inst, home_base="A2"), baseline=plan, now=now)


def test_a_baseline_relocation_to_a_base_no_longer_in_the_instance_is_replaced():
    inst, plan = _relocating_plan()
    moved = plan.relocations[0].model_copy(update={"to": "GONE"})
    result = solve(inst, baseline=plan.model_copy(update={"relocations": [moved]}))
    assert result.plan.objective.service == plan.objective.service
    assert [(r.from_, r.to) for r in result.plan.relocations] == [("A", "A2")]


QUICK = {"time_limit_s": 2, "workers": 1}


def _relocating_plan_quick() -> tuple[Instance, Plan]:
    """`_relocating_plan`, solved with one worker."""
    inst = make([aircraft("H1")], [request("R1", near="A2", north=80, start="10:00", end="14:00", duration=100)])
    plan = solve(inst, **QUICK).plan
    assert [(r.from_, r.to) for r in plan.relocations] == [("A", "A2")]
    return inst, plan


def test_a_baseline_relocation_to_an_unknown_base_is_dropped_before_alert_coverage_is_scored():
    # the repaired baseline used to keep the relocation to GONE; scoring its alert coverage then failed
    # with a KeyError (the sector of base GONE) instead of re-planning without it
    rule = {"start": t("00:00"), "end": t("23:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 60}
    inst = make([aircraft("H1")], [request("R1")], coverage={"S1": [rule]})
    plan = solve(inst, **QUICK).plan
    gone = {"aircraft": "H1", "from": "A", "to": "GONE", "takeoff": t("20:00"), "landing": t("20:30")}
    baseline = Plan.model_validate({**plan.model_dump(mode="json", by_alias=True), "relocations": [gone]})
    again = solve(inst, baseline=baseline, **QUICK)
    assert again.plan.relocations == []
    assert again.plan.objective == plan.objective


@pytest.mark.parametrize("how", ["nowhere", "too short", "before the horizon", "no turnaround"])
def test_repaired_baseline_keeps_no_flight_that_breaks_spec_4(how: str):
    # the start of a re-plan without `now` keeps each aircraft's longest valid run of flights: a relocation
    # that goes nowhere, is shorter than the ferry flight or takes off before the horizon, or a sortie that
    # takes off before the relocation has landed and turned around, ends the run
    inst, plan = _relocating_plan_quick()
    move, minute = plan.relocations[0], timedelta(minutes=1)
    if how == "too short":
        broken = plan.model_copy(update={"relocations": [move.model_copy(update={"landing": move.takeoff + minute})]})
    elif how == "before the horizon":
        early = {"takeoff": inst.horizon.start - minute, "landing": move.landing - (move.takeoff - inst.horizon.start)}
        broken = plan.model_copy(update={"relocations": [move.model_copy(update=early)]})
    else:
        broken = _broken(plan, how)
    prep = Prepared(inst)
    start = repaired(prep, schedule_of(prep, broken))
    scored = score(prep, start)
    objective_ = Objective(service=scored.service, cost=scored.cost)
    as_plan = start.to_plan(inst.name, prep.timeline, SolveStatus.FEASIBLE, objective_, None, [])
    assert not [v for v in allocator.check(inst, as_plan).violations if v.rule not in {"4.9", "5-objective"}]
    assert start.sorties == []
    assert len(start.relocations) == (1 if how == "no turnaround" else 0)


def test_an_input_error_about_now_shows_its_seconds():
    # `now` between two minutes: the errors used to cut its seconds off, so that a flight at 09:00 "took off
    # before 09:00:00", and a now of 23:58:30 was "not before the horizon's end 23:59"
    inst, plan = _relocating_plan_quick()
    seconds = timedelta(seconds=30)
    with pytest.raises(InputError, match=r"--now 2026-12-01T23:58:30Z, rounded up to the whole minute, is not before"):
        solve(inst, baseline=plan, now=inst.horizon.end - seconds, **QUICK)
    takeoff = plan.relocations[0].takeoff
    fewer = changed(inst, policy={"max_relocations_per_aircraft": 0})
    with pytest.raises(InputError, match=rf"took off before {takeoff.strftime('%Y-%m-%dT%H:%M')}:30Z and must be"):
        solve(fewer, baseline=plan, now=takeoff + seconds, **QUICK)


def test_frozen_relocation_and_sortie_are_kept_when_they_still_fit():
    inst, plan = _relocating_plan()
    now = plan.sorties[0].takeoff + (instant("00:01") - instant("00:00"))
    result = solve(inst, baseline=plan, now=now)
    assert result.plan.run["frozen_flights"] == 2
    assert result.plan.run["changes"] == 0


@pytest.mark.parametrize(
    ("objective", "weight", "service"),
    [(47, 10, 5), (50.0, 10, 5), (49.99, 10, 5), (41, 10, 5), (40, 10, 4), (7, 1, 7)],
)
def test_service_part_of_a_weighted_objective(objective: float, weight: int, service: int):
    # stage 1 of a re-plan maximises weight * service - changes, with 0 <= changes < weight
    assert service_part(objective, weight) == service


def test_replan_reports_when_its_service_is_proven():
    inst = make(FLEET, REQUESTS)
    first = solve(inst)
    reports: list[Progress] = []
    again = solve(down(inst, "H2", "13:00"), baseline=first.plan, progress=reports.append)
    assert again.plan.run["service_proven_optimal"] is True
    assert any(r.service_proven for r in reports if r.stage.startswith("service"))
    assert not any(r.service_proven for r in reports if r.stage == "cost")


def test_aircraft_down_away_from_home_without_a_relocation_left_is_a_clear_input_error():
    # SPEC 4.6: maintenance is at the home base; H1 has used its only relocation to reach A2
    inst, plan = _relocating_plan()
    expected = r"H1 relocated to A2 before .* home base A for maintenance from .* no relocation left"
    with pytest.raises(InputError, match=expected):
        solve(down(inst, "H1", "18:00"), baseline=plan, now=instant("15:30"))


def test_the_advice_to_ground_an_aircraft_away_from_home_gives_a_valid_re_plan():
    # the error names the flight hours that ground H1 where it is: those it has flown, rounded up to
    # hundredths of an hour, which the budget rounds down to the same minutes again
    inst, plan = _relocating_plan()
    with pytest.raises(InputError, match=r"give it ([0-9.]+) flight hours") as error:
        solve(down(inst, "H1", "18:00"), baseline=plan, now=instant("15:30"))
    hours = float(re.search(r"give it ([0-9.]+) flight hours", str(error.value)).group(1))
    flown = sum((f.landing - f.takeoff).total_seconds() / 60 for f in (*plan.sorties, *plan.relocations))
    assert int(60 * hours + 1e-9) == flown
    again = solve(changed(inst, hours_available=hours), baseline=plan, now=instant("15:30"))
    assert again.plan.relocations == plan.relocations  # it stays at A2
    assert again.plan.sorties == plan.sorties


def test_aircraft_down_away_from_home_flies_home_first_when_it_may_relocate_again():
    inst, plan = _relocating_plan()
    again = solve(
        down(changed(inst, policy={"max_relocations_per_aircraft": 2}), "H1", "18:00"),
        baseline=plan,
        now=instant("15:30"),
    )
    assert [(r.from_, r.to) for r in again.plan.relocations] == [("A", "A2"), ("A2", "A")]


def test_repaired_baseline_flies_home_for_maintenance_when_a_relocation_is_left(caplog: pytest.LogCaptureFixture):
    # the starting point of the search honours SPEC 4.6 too: H1, away at A2, flies home after `now`
    inst, plan = _relocating_plan()
    inst = down(changed(inst, policy={"max_relocations_per_aircraft": 2}), "H1", "18:00")
    prep = Prepared(inst)
    now, maintenance = prep.timeline.minutes(instant("15:30")), prep.timeline.minutes(instant("18:00"))
    start = repaired(prep, schedule_of(prep, plan), not_before=now)
    home = [r for r in start.relocations if r.dest == "A"]
    assert [(r.origin, r.dest) for r in start.relocations] == [("A", "A2"), ("A2", "A")]
    assert home[0].takeoff == now
    assert home[0].landing + prep.type_of(inst.aircraft[0]).turnaround_min <= maintenance
    assert [s.request for s in start.sorties] == ["R1"]
    with caplog.at_level(logging.INFO, logger="allocator"):
        solve(inst, baseline=plan, now=instant("15:30"))
    assert "starting from the baseline" in caplog.text


def test_repaired_baseline_stays_home_when_no_relocation_is_left_for_the_flight_home():
    # with one relocation, H1 cannot both reach A2 and be home for maintenance: the start drops the
    # relocation and what H1 flew from A2 (R1), instead of a plan that breaks SPEC 4.6
    inst, plan = _relocating_plan()
    prep = Prepared(down(inst, "H1", "18:00"))
    start = repaired(prep, schedule_of(prep, plan))
    assert start.relocations == []
    assert start.sorties == []


def test_repaired_baseline_drops_a_sortie_away_to_make_room_for_the_flight_home():
    # H1 (at A2 since 08:50, frozen) can no longer fly R1 from A2 and be home, turned around, by 13:15:
    # the start gives up R1 and flies home once turned around (09:20) instead of missing the maintenance
    inst, plan = _relocating_plan()
    prep = Prepared(down(changed(inst, policy={"max_relocations_per_aircraft": 2}), "H1", "13:15"))
    start = repaired(prep, schedule_of(prep, plan), not_before=prep.timeline.minutes(instant("09:00")))
    assert [(r.origin, r.dest, r.takeoff) for r in start.relocations] == [
        ("A", "A2", prep.timeline.minutes(plan.relocations[0].takeoff)),
        ("A2", "A", prep.timeline.minutes(instant("09:20"))),
    ]
    assert start.sorties == []


def test_repaired_baseline_flies_home_from_the_end_of_a_chain_of_relocations():
    inst, plan = _relocating_plan()
    prep = Prepared(down(changed(inst, policy={"max_relocations_per_aircraft": 2}), "H1", "20:00"))
    away = schedule_of(prep, plan).relocations[0]
    ferry = prep.ferry(inst.aircraft[0], "A2", "B")
    onwards = RelocationMin(away.landing + 30, "H1", "A2", "B", away.landing + 30 + ferry)
    start = repaired(prep, Schedule([], [away, onwards]))
    # A -> A2 -> B leaves no relocation to get home from B: keep A -> A2 and fly home from A2 instead
    assert [(r.origin, r.dest) for r in start.relocations] == [("A", "A2"), ("A2", "A")]


@pytest.mark.parametrize(
    ("maintenance", "hours", "why"),
    [
        ("10:15", 10, r"could not be back and turned around before 2026-12-01T10:16"),  # 08:50 + 30 + 26 + 30
        ("18:00", 0.8, r"has not the flight hours left for the 26-minute flight home"),  # 26 + 26 > 48 min
    ],
)
def test_aircraft_down_away_from_home_that_cannot_get_home_in_time_is_a_clear_input_error(
    maintenance: str, hours: float, why: str
):
    inst, plan = _relocating_plan()
    inst = down(changed(inst, policy={"max_relocations_per_aircraft": 2}, hours_available=hours), "H1", maintenance)
    with pytest.raises(InputError, match=rf"H1 relocated to A2 before .* home base A for maintenance .* but it {why}"):
        solve(inst, baseline=plan, now=instant("09:00"))


def test_repaired_baseline_keeps_a_relocation_when_maintenance_ends_before_it():
    inst, plan = _relocating_plan()
    prep = Prepared(down(inst, "H1", "00:30", "01:30"))
    start = repaired(prep, schedule_of(prep, plan))
    assert [(r.origin, r.dest) for r in start.relocations] == [("A", "A2")]
    assert [s.request for s in start.sorties] == ["R1"]


def test_long_replan_after_now_is_bounded_apart_without_cutting_off_the_optimum():
    # beyond two days a re-plan after `now` gets its bound from the full model's LP-based workers alone
    # (with 2 workers); one worker skips that stage and proves the optimum for comparison
    inst = generate(seed=3, days=3, aircraft=5, requests=15)
    base = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=2, seed=0)).plan
    now = inst.horizon.start + (inst.horizon.end - inst.horizon.start) / 2
    busiest = max({s.aircraft for s in base.sorties}, key=lambda a: sum(s.aircraft == a for s in base.sorties))
    turnaround = timedelta(minutes=inst.type_of(inst.aircraft_by_id(busiest)).turnaround_min)
    flown = [*base.sorties, *base.relocations]
    airborne = [f.landing + turnaround for f in flown if f.aircraft == busiest and f.takeoff < now]
    broken = max([now, *airborne]).isoformat()
    change = {"aircraft_down": {"aircraft": busiest, "from": broken}}
    changed = apply_scenario(inst, Scenario.model_validate({"changes": [change]}))
    exact = allocator.solve(changed, SolveOptions(time_limit_s=30, workers=1, baseline=base, now=now))
    assert exact.plan.run["service_proven_optimal"]
    bounded = allocator.solve(changed, SolveOptions(time_limit_s=10, workers=2, baseline=base, now=now))
    assert bounded.bound is not None and bounded.bound >= exact.service
    assert bounded.service <= exact.service


def test_long_plain_solve_gives_the_sector_plans_cost_stages_and_a_long_replan_searches_the_full_model(
    monkeypatch: pytest.MonkeyPatch,
):
    # a re-plan ranks fewest changes before cost, and only the full model counts changes; a plain solve's
    # sector plans are made cheapest instead, with all the time they leave (tests/solver/test_decompose.py:
    # when the plain solve then ends)
    import allocator.solver as solver_module

    real = solver_module.solve_by_sector
    cost_times: list[float] = []

    def recording(*args, **kwargs):
        cost_times.append(kwargs["cost_time_s"])
        return real(*args, **kwargs)

    monkeypatch.setattr(solver_module, "solve_by_sector", recording)
    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    baseline = solve(inst, time_limit_s=4).plan
    replanned = solve(inst, time_limit_s=4, baseline=baseline)
    assert cost_times[0] > 0 and cost_times[1] == 0
    assert baseline.run["sector_decomposition"]
    assert replanned.plan.run["full_model_searched"]
    assert replanned.plan.run["changes"] == 0 or replanned.service > baseline.objective.service


def test_long_solve_with_a_required_request_searches_the_full_model():
    # the sector plans know nothing of required requests: the full model must make the plan
    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    plain = solve(inst, time_limit_s=4).plan
    wanted = next(u.request for u in plain.unserved if u.reason in ("OUTCOMPETED", "NOT_PROVEN"))
    forced = solve(inst, time_limit_s=6, require=frozenset({wanted}))
    assert forced.plan.run["full_model_searched"]
    assert wanted in served(forced.plan) or forced.status in (SolveStatus.INFEASIBLE, SolveStatus.UNKNOWN)


def test_ctrl_c_before_the_search_of_a_solve_with_a_required_request_says_the_plan_lacks_it(
    monkeypatch: pytest.MonkeyPatch,
):
    # the only plan then is FCFS's, which does not serve the required request: not a FEASIBLE answer
    import allocator.solver as solver_module

    inst = generate(seed=2, days=1, aircraft=8, requests=25)
    fcfs = allocator.solve(inst, SolveOptions(method="fcfs")).plan
    wanted = next(u.request for u in fcfs.unserved if u.reason == "OUTCOMPETED")

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solver_module, "build_model", ctrl_c)
    result = solve(inst, require=frozenset({wanted}))
    assert result.interrupted
    assert result.status == SolveStatus.UNKNOWN and result.plan.run["required"] == [wanted]
    assert wanted not in served(result.plan)
