"""The CP-SAT model against valid plans it did not make: it must accept each of them, with exactly
the objective that scoring gives (so it is neither over-constrained nor mis-scoring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from allocator.generate import generate
from allocator.io import load_instance
from allocator.solver import objective
from allocator.solver.decompose import solve_by_sector
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule
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
        [aircraft("L1", available_from=t("10:00"), maintenance=[{"start": t("08:00"), "end": t("12:00")}],
                  relocatable=False),
         aircraft("L2", relocatable=False)],
        [request("R1", start="10:00", end="11:00", duration=60, priority=1)],
        coverage={"S1": [{"start": t("06:00"), "end": t("18:00"), "capability": "eo_ir", "count": 1,
                          "penalty_per_hour": 30}]},
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert schedule.served() == {"R1"}
    status, value = model_value_of(prep, schedule)
    assert status == "OPTIMAL" and value == score(prep, schedule).service == 1000 - 60
