"""The pattern relaxation (`patterns.py`): its patterns are exactly the maximal request sets an aircraft can
fly, and it never bounds service below a plan."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from ortools.sat.python import cp_model

import allocator
from allocator import SolveOptions
from allocator.domain import Instance
from allocator.solver.model import build_model
from allocator.solver.patterns import coverage_pool, relaxation, request_sets
from allocator.solver.prepare import Prepared
from factory import aircraft, make, request
from solver.test_enumeration import SEEDS, Brute, random_instance
from solver.test_properties import instances


def solve_relaxation(inst: Instance, grid: int | None = None) -> tuple[str, float]:
    """The relaxation solved to the end: its status and optimum."""
    relaxed = relaxation(build_model(Prepared(inst)), grid)
    assert relaxed is not None
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20
    status = solver.solve(relaxed.model)
    return solver.status_name(status), solver.objective_value


@pytest.mark.parametrize("seed", SEEDS)
def test_patterns_are_exactly_the_maximal_request_sets_an_aircraft_can_fly(seed: int):
    # the enumeration's independent reading of SPEC 4 says which request sets each aircraft can fly
    inst = random_instance(seed)
    brute = Brute(inst)
    v = build_model(Prepared(inst))
    for a, ac in enumerate(inst.aircraft):
        ids = [r.id for r in inst.requests]
        flyable = {
            frozenset(ids[i] for i in chosen)
            for k in range(1, len(ids) + 1)
            for chosen in itertools.combinations(range(len(ids)), k)
            if brute.feasible(a, chosen)
        }
        maximal = {s for s in flyable if not any(s < other for other in flyable)}
        assert set(request_sets(v, ac) or []) == maximal


@pytest.mark.parametrize("seed", SEEDS)
def test_without_coverage_or_shared_requests_the_relaxation_is_exact(seed: int):
    # single-aircraft requests, no alert coverage: every aircraft is relaxed and nothing is lost by it
    inst = random_instance(seed)
    status, optimum = solve_relaxation(inst)
    assert status == "OPTIMAL" and optimum == Brute(inst).optimum()


def test_identical_aircraft_share_patterns_and_together_fly_a_two_aircraft_request():
    inst = make([aircraft("H1"), aircraft("H2")], [request("PAIR", aircraft_count=2, priority=1)])
    status, optimum = solve_relaxation(inst)
    assert status == "OPTIMAL" and optimum == 1000


def test_one_aircraft_cannot_count_twice_towards_a_two_aircraft_request():
    inst = make([aircraft("H1"), aircraft("M1", "MEDIUM")], [request("PAIR", aircraft_count=3, priority=1)])
    status, optimum = solve_relaxation(inst)
    assert status == "OPTIMAL" and optimum == 0


def test_aircraft_that_can_stand_alert_keep_their_exact_model():
    rule = {"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T12:00:00Z", "capability": "hoist", "count": 1,
            "penalty_per_hour": 60}  # fmt: skip
    inst = make([aircraft("L1"), aircraft("M1", "MEDIUM")], [request("R1")], coverage={"S1": [rule]})
    assert [ac.id for ac in coverage_pool(Prepared(inst))] == ["M1"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_every_aircraft_of_a_plan_flies_requests_of_one_of_its_patterns(inst: Instance):
    # relocations, multi-aircraft requests, maintenance: each aircraft's requests in a valid plan lie in one
    # of its maximal patterns, so the relaxation never cuts a plan off
    plan = allocator.solve(inst, SolveOptions(time_limit_s=1, workers=1)).plan
    v = build_model(Prepared(inst))
    for ac in inst.aircraft:
        flown = frozenset(s.request for s in plan.sorties if s.aircraft == ac.id)
        sets = request_sets(v, ac)
        assert sets is not None
        assert not flown or any(flown <= p for p in sets), (ac.id, sorted(flown))


def test_a_solve_bounded_by_the_relaxation_says_so_and_its_plan_is_checked():
    inst = make([aircraft("H1"), aircraft("H2")], [request("R1"), request("R2", start="08:30", priority=2)])
    plan = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=2, pattern_bound=True)).plan
    assert plan.run["pattern_bound"] is True and plan.bound.service == plan.objective.service == 250
    assert allocator.check(inst, plan).ok
