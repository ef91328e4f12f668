"""The CP-SAT model against valid plans it did not make: it must accept each of them, with exactly
the objective that scoring gives (so it is neither over-constrained nor mis-scoring)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from allocator.generate import generate
from allocator.io import load_instance
from allocator.solver import objective
from allocator.solver.decompose import solve_by_sector
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule, SortieMin
from allocator.solver.scoring import score
from allocator.solver.search import add_hint
from factory import aircraft, make, request, solve_hint_fixed, t

ROOT = Path(__file__).resolve().parents[2]

INSTANCES = {
    "tiny": lambda: load_instance(ROOT / "instances/tiny.yaml"),
    "surge": lambda: load_instance(ROOT / "instances/arizona-surge.yaml"),
    "gen-1": lambda: generate(seed=1, days=1),
    "gen-4-small": lambda: generate(seed=4, days=1, aircraft=10, requests=30),
    "gen-9-two-days": lambda: generate(seed=9, days=2, aircraft=8, requests=40),
}


def model_value_of(prep: Prepared, schedule: Schedule) -> tuple[str, float | None]:
    """Solve the model with the schedule's decisions fixed: the status and the model's service."""
    v = build_model(prep)
    add_hint(v, schedule)
    objective.maximise_service(v)
    return solve_hint_fixed(v.model)


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_model_accepts_the_fcfs_plan_with_its_exact_service(name: str):
    prep = Prepared(INSTANCES[name]())
    schedule = solve_fcfs(prep)
    status, value = model_value_of(prep, schedule)
    assert status == "OPTIMAL"
    assert value == score(prep, schedule).service


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_hinted_coverage_fills_give_the_schedules_exact_penalty(name: str):
    # the hint computes the best fills itself, so that CP-SAT only completes auxiliaries
    prep = Prepared(INSTANCES[name]())
    schedule = solve_fcfs(prep)
    v = build_model(prep)
    add_hint(v, schedule)
    hint = dict(zip(v.model.proto.solution_hint.vars, v.model.proto.solution_hint.values, strict=True))
    penalties = [rv.penalty if isinstance(rv.penalty, int) else hint[rv.penalty.index] for rv in v.rules]
    assert sum(penalties) == sum(rule.penalty for rule in score(prep, schedule).coverage)


def test_model_accepts_the_sector_decomposition_plan():
    inst = generate(seed=2, days=1, aircraft=12, requests=30)
    prep = Prepared(inst)
    schedule = solve_by_sector(inst, time_limit_s=4, workers=2, seed=0).schedule
    status, value = model_value_of(prep, schedule)
    assert status == "OPTIMAL"
    assert value == score(prep, schedule).service


def test_model_accepts_a_late_relocation_within_the_sector_after_maintenance():
    # maintenance in the morning, then a relocation A -> A2 late in the day, then a sortie from A2
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("06:00"), "end": t("14:00")}])],
        [request("R1", near="A2", north=120, start="20:00", end="23:00", duration=55)],
        coverage={
            "S1": [{"start": t("07:00"), "end": t("19:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 10}]
        },
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert schedule.relocations, "the request is out of range from A, so FCFS surges to A2"
    status, value = model_value_of(prep, schedule)
    assert status == "OPTIMAL" and value == score(prep, schedule).service


def test_maintenance_before_available_from_is_not_counted_twice_in_coverage():
    # L1 is unavailable until 10:00 and in maintenance 08:00-12:00; L2 flies R1 09:45-11:15 + turnaround.
    # Two aircraft, count 1: the shortfall is exactly the overlap 09:45-11:45 = 120 minutes.
    inst = make(
        [
            aircraft(
                "L1",
                available_from=t("10:00"),
                maintenance=[{"start": t("08:00"), "end": t("12:00")}],
                relocatable=False,
            ),
            aircraft("L2", relocatable=False),
        ],
        [request("R1", start="10:00", end="11:00", duration=60, priority=1)],
        coverage={
            "S1": [{"start": t("06:00"), "end": t("18:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 30}]
        },
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert schedule.served() == {"R1"}
    status, value = model_value_of(prep, schedule)
    assert status == "OPTIMAL" and value == score(prep, schedule).service == 1000 - 60


# -- boundaries the model must accept, and plans it must reject -------------------------------------------
# Most planner tests are settled by the FCFS plan reaching the static bound, so the model's own rules are
# pinned here: a valid plan at a boundary is feasible, a plan one minute past it is not.


def test_model_accepts_a_sortie_whose_turnaround_ends_as_maintenance_starts():
    # L1 flies R1 07:45-09:15 and turns around until 09:45, when its maintenance starts (a later start in the
    # window would run into it)
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("09:45"), "end": t("15:00")}])],
        [request("R1", start="08:00", end="12:00")],
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert schedule.sorties == [SortieMin(465, "L1", "R1", "A", 480, 540, 555)]
    assert model_value_of(prep, schedule) == ("OPTIMAL", 50)


def _late_request(duration: int) -> Prepared:
    """L1 and one request from 22:00, 15 minutes out and back, in a horizon ending at 23:59 (minute 1439)."""
    return Prepared(make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=duration)]))


def test_model_accepts_a_sortie_landing_exactly_at_the_horizon_end():
    prep = _late_request(104)  # 21:45 to 23:59
    schedule = Schedule(sorties=[SortieMin(1305, "L1", "R1", "A", 1320, 1424, 1439)])
    assert model_value_of(prep, schedule) == ("OPTIMAL", 50)


def test_model_rejects_a_sortie_landing_one_minute_after_the_horizon_end():
    prep = _late_request(105)  # 21:45 to 00:00
    schedule = Schedule(sorties=[SortieMin(1305, "L1", "R1", "A", 1320, 1425, 1440)])
    assert model_value_of(prep, schedule)[0] == "INFEASIBLE"


def _relocating(max_relocations: int = 1, **extra) -> Prepared:
    """L1 at A with a request near A2 that only A2 is in range of, so that A -> A2 (26 minutes) is a route."""
    inst = make(
        [aircraft("L1", **extra)],
        [request("R1", near="A2", north=120, start="20:00", end="23:00", duration=55)],
        policy={"max_relocations_per_aircraft": max_relocations},
    )
    return Prepared(inst)


def status_with_relocations(prep: Prepared, flights: list[tuple[str, str, int]]) -> str:
    """Solve the model with no request served and L1's relocation slots fixed, in order, to
    `(from, to, takeoff)`: the status."""
    v = build_model(prep)
    slots = v.slots["L1"]
    assert len(slots) >= len(flights)
    for req in prep.instance.requests:
        v.model.add(v.served[req.id] == 0)
    for slot, (origin, dest, takeoff) in zip(slots, flights, strict=False):
        v.model.add(slot.routes[(origin, dest)] == 1)
        v.model.add(slot.start == takeoff)
    for slot in slots[len(flights) :]:
        v.model.add(slot.present == 0)
    objective.maximise_service(v)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    solver.parameters.num_workers = 1
    return solver.status_name(solver.solve(v.model))


def test_model_rejects_a_relocation_landing_after_the_horizon_end():
    prep = _relocating()
    assert prep.ferry(prep.instance.aircraft_by_id("L1"), "A", "A2") == 26
    assert status_with_relocations(prep, [("A", "A2", 1413)]) == "OPTIMAL"  # lands at 1439, the horizon end
    assert status_with_relocations(prep, [("A", "A2", 1414)]) == "INFEASIBLE"  # lands at 1440


def test_model_rejects_a_second_relocation_from_a_base_the_aircraft_has_left():
    prep = _relocating(max_relocations=2)
    assert status_with_relocations(prep, [("A", "A2", 100), ("A2", "A", 300)]) == "OPTIMAL"
    assert status_with_relocations(prep, [("A", "A2", 100), ("A", "A2", 300)]) == "INFEASIBLE"


def test_model_rejects_relocations_flown_out_of_order():
    prep = _relocating(max_relocations=2)
    assert status_with_relocations(prep, [("A", "A2", 100), ("A2", "A", 600)]) == "OPTIMAL"
    assert status_with_relocations(prep, [("A", "A2", 600), ("A2", "A", 100)]) == "INFEASIBLE"


def test_model_rejects_an_aircraft_away_from_home_during_maintenance_between_two_relocations():
    # maintenance 10:00-12:00 (minutes 600-720): away at A2 from 02:06, L1 must be back home, turned around,
    # by 10:00 (back at 08:46, ready at 09:16: valid), not after its maintenance (back at 13:46)
    prep = _relocating(max_relocations=2, maintenance=[{"start": t("10:00"), "end": t("12:00")}])
    assert status_with_relocations(prep, [("A", "A2", 100), ("A2", "A", 500)]) == "OPTIMAL"
    assert status_with_relocations(prep, [("A", "A2", 100), ("A2", "A", 800)]) == "INFEASIBLE"


# -- redundant constraints must not cut off valid plans ------------------------------------------------------


def test_model_accepts_two_sorties_flown_back_to_back_with_exactly_the_turnaround_between():
    # R1 is flown 07:45-09:15 (it could start up to 30 minutes later) and turned around by 09:45, when R2
    # (on station at 10:00 at the latest) takes off
    inst = make(
        [aircraft("L1")], [request("R1", start="08:00", end="09:30"), request("R2", start="10:00", end="11:00")]
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert [s.takeoff for s in sorted(schedule.sorties)] == [465, 585]
    assert model_value_of(prep, schedule) == ("OPTIMAL", 100)


@pytest.mark.parametrize(
    "second",
    [{"hours": 1}, {"maintenance": [{"start": t("07:00"), "end": t("10:00")}]}],
    ids=["fewer-hours", "in-maintenance"],
)
def test_symmetry_breaking_tells_apart_aircraft_that_differ_in_hours_or_maintenance(second):
    # L2 differs from L1 (same type and base) only in `second`, and cannot fly R1 (90 flight minutes, 07:45-09:15):
    # the plan in which L1 flies it must stay feasible, whatever order the symmetry breaking puts them in
    for fleet in ([aircraft("L1"), aircraft("L2", **second)], [aircraft("L2", **second), aircraft("L1")]):
        prep = Prepared(make(fleet, [request("R1", start="08:00", end="09:00")]))
        schedule = Schedule(sorties=[SortieMin(465, "L1", "R1", "A", 480, 540, 555)])
        assert model_value_of(prep, schedule) == ("OPTIMAL", 50)


@pytest.mark.parametrize("relocations", [1, 2])
def test_every_variable_and_interval_has_its_own_name(relocations: int):
    inst = make(
        [aircraft("H1")],
        [request("R1", north=10, near="A"), request("R3", north=30, near="B")],
        policy={"max_relocations_per_aircraft": relocations},
    )
    proto = build_model(Prepared(inst)).model.proto
    names = [x.name for x in proto.variables] + [c.name for c in proto.constraints if c.name]
    assert len(names) == len(set(names))
