"""The value-first greedy plans that start the search (`solver/greedy.py`)."""

from __future__ import annotations

import pytest

from allocator.check import check
from allocator.generate import generate
from allocator.result import Objective, SolveStatus
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.greedy import solve_greedy
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import explain_unserved
from allocator.solver.scoring import score
from factory import aircraft, make, request


def test_greedy_serves_the_higher_priority_request_the_chain_would_have_turned_down():
    # one helicopter, two requests at the same hours: the routine one was submitted first
    inst = make(
        [aircraft("H1")],
        [
            request("ROUTINE", start="08:00", end="09:30", duration=60, priority=4, submitted="06:00"),
            request("RESCUE", start="08:00", end="09:30", duration=60, priority=1, submitted="07:00"),
        ],
    )
    prep = Prepared(inst)
    assert solve_fcfs(prep).served() == {"ROUTINE"}
    schedule, _ = solve_greedy(prep)
    assert schedule.served() == {"RESCUE"}


def test_greedy_keeps_fcfs_when_the_requests_do_not_compete():
    inst = make(
        [aircraft("H1")],
        [
            request("MORNING", start="08:00", end="09:30", duration=60, priority=4),
            request("AFTERNOON", start="14:00", end="15:30", duration=60, priority=1),
        ],
    )
    prep = Prepared(inst)
    schedule, _ = solve_greedy(prep)
    assert schedule.served() == solve_fcfs(prep).served() == {"MORNING", "AFTERNOON"}


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_greedy_plans_pass_the_checker(seed: int):
    inst = generate(seed=seed, days=2, aircraft=10, requests=40)
    prep = Prepared(inst)
    schedule, order = solve_greedy(prep)
    result = score(prep, schedule)
    plan = schedule.to_plan(
        inst.name,
        prep.timeline,
        SolveStatus.FEASIBLE,
        Objective(service=result.service, cost=result.cost),
        None,
        explain_unserved(prep, schedule, proven=False, baseline=False),
    )
    report = check(inst, plan)
    assert report.ok, "; ".join(v.message for v in report.violations)
    assert order
