"""Conflicts between agencies' operations (SPEC section 8): planted pairs are found, false pairs are not."""

from __future__ import annotations

import json
from typing import Any

from allocator import SolveOptions, solve
from allocator.deconflict import conflicts_for_plan, find_conflicts, plan_conflicts
from factory import aircraft, make, request


def pairs(inst) -> dict[frozenset[str], list[str]]:
    return {frozenset((c.a.request, c.b.request)): c.kinds for c in find_conflicts(inst)}


def two(a: dict[str, Any], b: dict[str, Any], policy: dict[str, Any] | None = None, fleet=None):
    return make(fleet or [aircraft("L1")], [a, b], policy=policy)


# -- what conflicts ------------------------------------------------------------------------------------
def test_every_planted_conflict_is_found_with_its_kind():
    inst = make(
        [aircraft("L1")],
        [
            # same target, far apart and at different times
            request("T-CBP", agency="CBP", near="A", start="06:00", end="08:00", target="vessel MARLIN"),
            request("T-ICE", agency="ICE", near="B", start="15:00", end="18:00", target="vessel MARLIN"),
            # 2 nm apart with overlapping windows
            request("N-CBP", agency="CBP", north=30, start="09:00", end="11:00"),
            request("N-ICE", agency="ICE", north=32, start="10:00", end="12:00"),
            # both at once: same target, nearby, overlapping
            request("B-CBP", agency="CBP", north=60, start="13:00", end="15:00", target="case 77"),
            request("B-ICE", agency="ICE", north=61, start="14:00", end="16:00", target="case 77"),
        ],
    )
    assert pairs(inst) == {
        frozenset({"T-CBP", "T-ICE"}): ["same_target"],
        frozenset({"N-CBP", "N-ICE"}): ["nearby"],
        frozenset({"B-CBP", "B-ICE"}): ["same_target", "nearby"],
    }


def test_nearby_requests_with_windows_that_do_not_overlap_do_not_conflict():
    a = request("C", agency="CBP", north=30, start="08:00", end="10:00")
    b = request("I", agency="ICE", north=31, start="10:00", end="12:00")  # half-open: touching is not overlapping
    assert pairs(two(a, b)) == {}
    assert pairs(two(a, {**b, "window": {"start": "2026-12-01T09:59:00Z", "end": "2026-12-01T12:00:00Z"}})) != {}


def test_same_agency_pairs_never_conflict():
    a = request("C1", agency="CBP", north=30, target="vessel X")
    b = request("C2", agency="CBP", north=30, target="vessel X")
    assert pairs(two(a, b)) == {}


def test_the_radius_comes_from_the_policy():
    a = request("C", agency="CBP", north=30)
    b = request("I", agency="ICE", north=40)  # 10 nm apart
    assert pairs(two(a, b)) == {}  # default radius 5 nm
    assert pairs(two(a, b, policy={"deconfliction_radius_nm": 12})) == {frozenset({"C", "I"}): ["nearby"]}


def test_places_exactly_at_the_radius_are_within_it():
    a = request("C", agency="CBP", north=30)
    b = request("I", agency="ICE", north=32.5)  # haversine: 2.5000000000001563 nm
    assert pairs(two(a, b, policy={"deconfliction_radius_nm": 2.5})) == {frozenset({"C", "I"}): ["nearby"]}
    assert pairs(two(a, b, policy={"deconfliction_radius_nm": 2.49})) == {}


def test_places_exactly_at_the_radius_can_be_merged():
    a = request("C", agency="CBP", north=30, start="08:00", end="10:00", caps=["eo_ir"])
    b = request("I", agency="ICE", north=32.5, start="08:00", end="10:00", caps=["eo_ir"])  # 2.5000000000001563 nm
    (conflict,) = find_conflicts(two(a, b, policy={"deconfliction_radius_nm": 2.5}))
    assert conflict.action == "merge"


def test_targets_are_compared_without_surrounding_spaces_or_case():
    a = request("C", agency="CBP", near="A", start="06:00", end="08:00", target="Vessel MARLIN")
    b = request("I", agency="ICE", near="B", start="15:00", end="18:00", target=" vessel marlin ")
    assert pairs(two(a, b)) == {frozenset({"C", "I"}): ["same_target"]}
    assert pairs(two(a, {**b, "target": "vessel MARLIN 2"})) == {}


def test_empty_or_missing_targets_are_not_the_same_target():
    a = request("C", agency="CBP", near="A", target="")
    b = request("I", agency="ICE", near="B", target="")
    assert pairs(two(a, b)) == {}
    assert pairs(two({**a, "target": None}, {**b, "target": None})) == {}


# -- recommended action ------------------------------------------------------------------------------
def test_merge_when_one_type_meets_both_and_the_windows_hold_the_longer_duration():
    a = request("C", agency="CBP", north=30, start="08:00", end="10:00", caps=["eo_ir"])
    b = request("I", agency="ICE", north=31, start="08:30", end="10:30", caps=["night_vision"], duration=90)
    (conflict,) = find_conflicts(two(a, b))
    assert conflict.action == "merge" and conflict.joint_type == "LIGHT"
    assert "joint sortie" in conflict.recommendation() and "CBP unit" in conflict.recommendation()


def test_sequence_when_no_joint_type_but_one_can_finish_before_the_other_starts():
    a = request("C", agency="CBP", north=30, start="08:00", end="11:00", caps=["hoist"])
    b = request("I", agency="ICE", north=31, start="08:00", end="11:00", aircraft_types=["LIGHT"])
    fleet = [aircraft("L1"), aircraft("M1", "MEDIUM")]
    (conflict,) = find_conflicts(two(a, b, fleet=fleet))
    assert conflict.action == "sequence" and conflict.first in {"C", "I"}


def test_times_and_recommendations_are_in_the_sectors_local_time_with_its_zone():
    # windows written in UTC (08:00-11:00Z) for a sector whose bases keep Central time: a planner reads CST
    a = request("C", agency="CBP", north=30, start="08:00", end="11:00", caps=["hoist"])
    b = request("I", agency="ICE", north=31, start="08:00", end="11:00", aircraft_types=["LIGHT"])
    inst = two(a, b, fleet=[aircraft("L1"), aircraft("M1", "MEDIUM")])
    inst = inst.model_copy(update={"bases": [b.model_copy(update={"timezone": "America/Chicago"}) for b in inst.bases]})
    (conflict,) = find_conflicts(inst)
    assert conflict.action == "sequence"
    text = conflict.recommendation()
    assert "off station from Dec 01 03:00 CST" in text and "on station by 04:00 CST at the latest" in text
    assert conflict.a.times() == "window Dec 01 02:00–05:00 CST"


def test_escalate_when_neither_a_joint_sortie_nor_a_sequence_fits():
    a = request("C", agency="CBP", north=30, start="08:00", end="09:00", caps=["hoist"])
    b = request("I", agency="ICE", north=31, start="08:00", end="09:00", aircraft_types=["LIGHT"])
    fleet = [aircraft("L1"), aircraft("M1", "MEDIUM")]
    (conflict,) = find_conflicts(two(a, b, fleet=fleet))
    assert conflict.action == "escalate"
    assert "escalate to both units" in conflict.recommendation()


def test_no_merge_into_a_type_the_fleet_does_not_have():
    a = request("C", agency="CBP", north=30, start="08:00", end="10:00", caps=["hoist"])
    b = request("I", agency="ICE", north=31, start="08:00", end="10:00")
    (conflict,) = find_conflicts(two(a, b))  # only LIGHT in the fleet: no hoist
    assert conflict.action != "merge"


# -- with a plan --------------------------------------------------------------------------------------
def test_sorties_on_station_together_nearby_are_scheduled_conflicts():
    inst = make(
        [aircraft("L1"), aircraft("L2")],
        [
            request("C", agency="CBP", north=30, start="08:00", end="09:00"),
            request("I", agency="ICE", north=31, start="08:00", end="09:00"),
        ],
    )
    plan = solve(inst, SolveOptions(time_limit_s=5, workers=1)).plan
    (conflict,) = plan_conflicts(inst, plan)
    assert conflict.scheduled and conflict.a.aircraft and conflict.b.aircraft
    records = conflicts_for_plan(inst, plan)
    assert json.loads(json.dumps(records))[0]["scheduled"] is True
    assert {"a", "b", "kinds", "distance_nm", "action", "recommendation"} <= set(records[0])


def test_a_request_conflict_flown_at_different_times_is_not_scheduled():
    # windows overlap, but one aircraft flies them one after the other
    inst = make(
        [aircraft("L1")],
        [
            request("C", agency="CBP", north=30, start="08:00", end="12:00"),
            request("I", agency="ICE", north=31, start="08:00", end="12:00"),
        ],
    )
    plan = solve(inst, SolveOptions(time_limit_s=5, workers=1)).plan
    assert len({s.request for s in plan.sorties}) == 2
    assert plan_conflicts(inst, plan) == []
    (record,) = conflicts_for_plan(inst, plan)
    assert record["scheduled"] is False and record["a"]["on_station"] and record["b"]["on_station"]


def test_every_plan_the_solver_writes_carries_its_conflicts(tmp_path):
    from allocator.io import load_plan, write_plan

    inst = make(
        [aircraft("L1"), aircraft("L2")],
        [
            request("C", agency="CBP", north=30, start="09:00", end="11:00"),
            request("I", agency="ICE", north=31, start="09:00", end="11:00"),
        ],
    )
    result = solve(inst, SolveOptions(time_limit_s=5, workers=1))
    for plan in (result.plan, result.baseline):
        assert [frozenset((c["a"]["request"], c["b"]["request"])) for c in plan.conflicts] == [frozenset({"C", "I"})]
    assert result.plan.conflicts[0]["scheduled"] is True  # both are flown, on station at the same time
    write_plan(result.plan, tmp_path / "plan.json")
    assert json.loads((tmp_path / "plan.json").read_text())["conflicts"] == result.plan.conflicts
    assert load_plan(tmp_path / "plan.json").conflicts == result.plan.conflicts
