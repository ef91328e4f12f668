"""Fairness floors between agencies (SPEC section 5): the planner trades value for an agency's floor."""

from __future__ import annotations

from typing import Any

import pytest

from allocator import SolveOptions, solve
from factory import aircraft, make, request

QUICK = SolveOptions(time_limit_s=5, workers=1)


def contest(policy: dict[str, Any] | None = None):
    """One aircraft, two requests at the same time: CBP worth 60, ICE worth 50."""
    reqs = [
        request("CBP-1", agency="CBP", value=60, end="09:00"),
        request("ICE-1", agency="ICE", value=50, end="09:00"),
    ]
    return make([aircraft("L1")], reqs, policy=policy)


def served(result) -> set[str]:
    return {s.request for s in result.plan.sorties}


def test_without_a_floor_the_higher_valued_cbp_request_is_served():
    result = solve(contest(), QUICK)
    assert served(result) == {"CBP-1"} and result.service == 60


def test_ice_floor_of_half_makes_the_solver_serve_the_ice_request():
    # serving CBP-1 leaves ICE 25 below its floor ceil(0.5 * 50): 60 - 25 = 35 < 50
    result = solve(contest({"agency_min_share": {"ICE": 0.5}}), QUICK)
    assert served(result) == {"ICE-1"}
    assert result.service == 50 and result.plan.metrics["fairness_penalty"] == 0


def test_a_floor_worth_less_than_the_value_gap_changes_nothing():
    # ICE floor ceil(0.1 * 50) = 5: serving CBP-1 scores 60 - 5 = 55 > 50
    result = solve(contest({"agency_min_share": {"ICE": 0.1}}), QUICK)
    assert served(result) == {"CBP-1"}
    assert result.service == 55 and result.plan.metrics["fairness_penalty"] == 5


@pytest.mark.parametrize("weight", [1, 3])
def test_one_share_for_every_agency_weighs_both_floors(weight: int):
    # share 0.5 for both: serving CBP-1 leaves ICE 25 short (60 - 25w), serving ICE-1 leaves CBP 30 short (50 - 30w)
    result = solve(contest({"agency_min_share": 0.5, "fairness_weight": weight}), QUICK)
    assert served(result) == {"CBP-1"}
    assert result.service == 60 - weight * 25
    assert result.plan.metrics["fairness_penalty"] == weight * 25


def test_a_floor_that_costs_just_more_than_the_value_gap_changes_the_plan():
    # ICE floor ceil(0.08 * 50) = 4 at weight 3: serving CBP-1 scores 60 - 12 = 48 < 50. FCFS serves CBP-1
    # (first by id), so the model must find the better plan; one unit of deficit less and CBP-1 would win.
    result = solve(contest({"agency_min_share": {"ICE": 0.08}, "fairness_weight": 3}), QUICK)
    assert served(result) == {"ICE-1"}
    assert result.service == 50
