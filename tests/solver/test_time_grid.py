"""The time-indexed coverage bound (`constraints.add_coverage_time_grid`): redundant, so it must never
cut off a plan, and the hint must give every one of its variables a consistent value."""

from __future__ import annotations

import pytest
from ortools.sat.python import cp_model

from allocator.generate import generate
from allocator.solver import objective
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule
from allocator.solver.scoring import score
from allocator.solver.search import add_hint
from allocator.solver.variables import TimeGrid
from factory import solve_bare_model, solve_hint_fixed


def small_day(seed: int):
    """Eight aircraft, sixteen requests, three sectors with alert cover, relocations allowed."""
    return generate(seed=seed, days=1, aircraft=8, requests=16)


def best_service(prep: Prepared, grid: int | None, time_limit_s: float) -> tuple[str, int, Schedule]:
    status, value, schedule = solve_bare_model(prep, time_limit_s, workers=2, coverage_grid_min=grid)
    assert value is not None and schedule is not None, status
    return status, round(value), schedule


def service_with_grid(prep: Prepared, schedule: Schedule) -> tuple[str, float | None, int]:
    """The schedule hinted into the model with the grid, every hinted variable fixed: status, service and
    the number of grid variables left without a hint."""
    v = build_model(prep, coverage_grid_min=30)
    assert v.grid is not None
    add_hint(v, schedule, relabel=False)
    objective.maximise_service(v)
    hinted = set(v.model.proto.solution_hint.vars)
    grid_vars = [
        *v.grid.alert.values(),
        *(c for c, _, _ in v.grid.covered),
        *(p.lit for p in v.grid.placements),
        *(total for total, _, _ in v.grid.running),
    ]
    unhinted = sum(1 for var in grid_vars if var.index not in hinted)
    return (*solve_hint_fixed(v.model), unhinted)


def test_grid_pieces_are_cut_at_bucket_edges():
    grid = TimeGrid(30, 1440)
    assert grid.pieces(10, 75) == [(10, 29), (30, 59), (60, 75)]
    assert grid.pieces(30, 30) == [(30, 30)]
    assert grid.pieces(5, 4) == []


def test_grid_buckets_end_at_the_horizon():
    grid = TimeGrid(30, 100)
    assert list(grid.buckets(20, 100)) == [0, 1, 2, 3]
    assert grid.end(3) == 100
    assert grid.overlap(85, 200, 3) == 10  # bucket 3 is [90, 100)
    assert grid.overlap(0, 10, 1) == 0


@pytest.mark.parametrize(("value", "expected"), [(45, [False, True]), (80, [False, False]), (0, [True, False])])
def test_placement_literal_marks_the_piece_holding_the_value(value: int, expected: list[bool]):
    m = cp_model.CpModel()
    x = m.new_int_var(0, 100, "x")
    present = m.new_bool_var("present")
    grid = TimeGrid(30, 100)
    pieces = grid.place(m, x, present, "x", grid.pieces(0, 59))  # 60..100: after every piece
    m.add(x == value)
    m.add(present == 1)
    solver = cp_model.CpSolver()
    assert solver.solve(m) == cp_model.OPTIMAL
    assert [bool(solver.value(lit)) for _, _, lit in pieces] == expected


def test_placement_literals_are_false_when_absent():
    m = cp_model.CpModel()
    x = m.new_int_var(0, 100, "x")
    present = m.new_bool_var("present")
    grid = TimeGrid(30, 100)
    pieces = grid.place(m, x, present, "x", grid.pieces(0, 100), complete=True)
    m.add(present == 0)
    solver = cp_model.CpSolver()
    assert solver.solve(m) == cp_model.OPTIMAL
    assert not any(solver.value(lit) for _, _, lit in pieces)


@pytest.mark.parametrize("seed", range(8))
def test_time_grid_accepts_every_plan_of_the_model_without_it(seed: int):
    # a redundant constraint that cut off a valid plan would make the reported bound a lie
    prep = Prepared(small_day(seed))
    _, _, schedule = best_service(prep, None, 3)
    status, value, unhinted = service_with_grid(prep, schedule)
    assert status == "OPTIMAL"
    assert value == score(prep, schedule).service
    assert unhinted == 0


@pytest.mark.parametrize("seed", [1, 4])
def test_time_grid_accepts_the_plans_of_a_three_day_horizon(seed: int):
    # several rules per sector (one a day) and departures or arrivals on any day: the running sums of
    # the relocation literals and the busy intervals each rule keeps must still admit every plan
    prep = Prepared(generate(seed=seed, days=3, aircraft=8, requests=30))
    _, _, schedule = best_service(prep, None, 3)
    status, value, unhinted = service_with_grid(prep, schedule)
    assert status == "OPTIMAL"
    assert value == score(prep, schedule).service
    assert unhinted == 0


@pytest.mark.parametrize("seed", [2, 6, 7])
def test_time_grid_keeps_the_optimum(seed: int):
    prep = Prepared(small_day(seed))
    status_without, without, _ = best_service(prep, None, 30)
    status_with, with_grid, _ = best_service(prep, 30, 30)
    assert status_without == status_with == "OPTIMAL"
    assert with_grid == without
