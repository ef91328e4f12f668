"""The CP-SAT planner, rule by rule: each rule has an allowed and a forbidden case.

Tests assert status and objective (and which requests are served), not one particular assignment.
Every plan is also run through `allocator check` by the autouse fixture in conftest.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import allocator
import allocator.solver as solver_package
from allocator import SolveOptions
from allocator.domain import Instance
from allocator.generate import generate
from allocator.io import load_instance
from allocator.result import Reason, SolveStatus
from allocator.solver import search
from allocator.solver.prepare import Prepared
from factory import aircraft, make, request, t

FAST = SolveOptions(time_limit_s=10, workers=2, seed=0)


def solve(inst):
    return allocator.solve(inst, FAST)


def served(result) -> set[str]:
    return {s.request for s in result.plan.sorties}


def reason(result, rid: str) -> Reason:
    return next(u.reason for u in result.plan.unserved if u.request == rid)


def flight_cost(inst, aircraft_id: str, request_id: str) -> float:
    prep = Prepared(inst)
    ac = inst.aircraft_by_id(aircraft_id)
    shape = prep.shape(ac, inst.request(request_id), ac.home_base)
    return inst.type_of(ac).cost_per_hour * shape.flight_min / 60


# -- 4.1 eligibility ---------------------------------------------------------------------------


def test_request_is_flown_by_a_type_with_every_capability():
    inst = make([aircraft("M1", "MEDIUM")], [request("R1", caps=["hoist"])])
    result = solve(inst)
    assert result.status == SolveStatus.OPTIMAL
    assert served(result) == {"R1"}
    assert result.service == 50


def test_request_needing_a_missing_capability_is_not_flown():
    inst = make([aircraft("L1", "LIGHT")], [request("R1", caps=["hoist"])])
    result = solve(inst)
    assert result.status == SolveStatus.OPTIMAL
    assert result.service == 0
    assert reason(result, "R1") == Reason.NO_CAPABLE_TYPE


def test_type_allow_list_excludes_other_capable_types():
    inst = make([aircraft("M1", "MEDIUM")], [request("R1", aircraft_types=["LIGHT"])])
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.NO_CAPABLE_TYPE


# -- 4.2 service: all or nothing, on station together ----------------------------------------------


def test_two_aircraft_request_is_served_by_two_aircraft_on_station_together():
    inst = make([aircraft("L1"), aircraft("L2")], [request("R1", aircraft_count=2, priority=2)])
    result = solve(inst)
    assert result.service == 200
    sorties = result.plan.sorties
    assert len(sorties) == 2 and {s.aircraft for s in sorties} == {"L1", "L2"}
    assert len({(s.on_station, s.off_station) for s in sorties}) == 1


def test_two_aircraft_request_with_one_aircraft_is_not_served():
    inst = make([aircraft("L1")], [request("R1", aircraft_count=2)])
    result = solve(inst)
    assert result.service == 0
    assert result.plan.sorties == []
    assert reason(result, "R1") == Reason.NO_CAPABLE_TYPE


def test_on_station_time_lies_inside_the_window():
    inst = make([aircraft("L1")], [request("R1", start="08:00", end="09:00", duration=60)])
    result = solve(inst)
    (s,) = result.plan.sorties
    assert s.on_station.isoformat().startswith(t("08:00")[:16])


# -- 4.3 transit, 4.4 endurance -----------------------------------------------------------------


def test_sortie_takes_off_a_transit_before_it_is_on_station():
    inst = make([aircraft("L1")], [request("R1", north=30)])
    (s,) = solve(inst).plan.sorties
    assert (s.on_station - s.takeoff).total_seconds() == 15 * 60
    assert (s.landing - s.off_station).total_seconds() == 15 * 60


def test_request_within_endurance_is_flown():
    # 60 nm = 30 min each way; 30 + 120 + 30 = 180 = endurance
    inst = make([aircraft("L1")], [request("R1", north=60, duration=120)])
    assert served(solve(inst)) == {"R1"}


def test_request_beyond_endurance_is_out_of_range():
    inst = make([aircraft("L1", relocatable=False)], [request("R1", north=60, duration=121)])
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.OUT_OF_RANGE


# -- 4.5 one thing at a time ----------------------------------------------------------------------


def test_one_aircraft_flies_two_requests_with_turnaround_between():
    # R1 08:00-09:00 lands 09:15, turnaround to 09:45, R2 takes off 09:45, on station 10:00
    inst = make(
        [aircraft("L1")], [request("R1", start="08:00", end="09:00"), request("R2", start="10:00", end="11:00")]
    )
    result = solve(inst)
    assert served(result) == {"R1", "R2"}
    assert result.service == 100


def test_one_aircraft_cannot_fly_two_requests_closer_than_turnaround():
    inst = make(
        [aircraft("L1")],
        [request("R1", start="08:00", end="09:00"), request("R2", start="09:59", end="10:59", priority=2)],
    )
    result = solve(inst)
    assert result.status == SolveStatus.OPTIMAL
    assert served(result) == {"R2"}
    assert result.service == 200
    assert reason(result, "R1") == Reason.OUTCOMPETED
    assert "R2" in next(u for u in result.plan.unserved if u.request == "R1").detail


# -- 4.6 availability and maintenance ---------------------------------------------------------------


def test_sortie_fits_before_maintenance_with_its_turnaround():
    # flight 07:45-09:15, turnaround to 09:45 = maintenance start
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("09:45"), "end": t("15:00")}])],
        [request("R1", start="08:00", end="09:00")],
    )
    assert served(solve(inst)) == {"R1"}


def test_sortie_cannot_overlap_maintenance():
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("09:44"), "end": t("15:00")}])],
        [request("R1", start="08:00", end="09:00")],
    )
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.UNAVAILABLE


def test_aircraft_flies_from_available_from():
    inst = make([aircraft("L1", available_from=t("07:45"))], [request("R1", start="08:00", end="09:00")])
    assert served(solve(inst)) == {"R1"}


def test_aircraft_does_not_fly_before_available_from():
    inst = make([aircraft("L1", available_from=t("07:46"))], [request("R1", start="08:00", end="09:00")])
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.UNAVAILABLE


def test_flight_that_lands_before_the_horizon_end_is_flown():
    # on station 22:00, 100 minutes, lands 23:55 <= 23:59
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=100)], end="23:59")
    assert served(solve(inst)) == {"R1"}


def test_flight_that_would_land_after_the_horizon_is_not_flown():
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=110)], end="23:59")
    result = solve(inst)
    # 22:00 on station is the earliest; 22:00 + 110 + 15 = 00:05 > 23:59
    assert result.service == 0
    assert reason(result, "R1") == Reason.UNAVAILABLE


# -- 4.7 hours -------------------------------------------------------------------------------------


def test_hour_budget_limits_the_sorties_and_the_higher_value_wins():
    # each sortie is 90 flight minutes; 2.5 hours = 150 minutes allows one
    inst = make(
        [aircraft("L1", hours=2.5)],
        [request("R1", start="08:00", end="10:00"), request("R2", start="14:00", end="16:00", priority=2)],
    )
    result = solve(inst)
    assert served(result) == {"R2"}
    assert result.service == 200


def test_hour_budget_that_fits_both_sorties_serves_both():
    inst = make(
        [aircraft("L1", hours=3)],
        [request("R1", start="08:00", end="10:00"), request("R2", start="14:00", end="16:00", priority=2)],
    )
    assert served(solve(inst)) == {"R1", "R2"}


def test_hour_budget_a_fraction_of_a_minute_short_of_two_sorties_serves_only_the_better_one():
    # 2.995 hours are 179.7 minutes: the budget is 179 whole minutes, one short of the two 90-minute sorties.
    # FCFS flies R1 (first by id), so the model must find that R2 alone is better.
    inst = make(
        [aircraft("L1", hours=2.995)],
        [request("R1", start="08:00", end="10:00"), request("R2", start="14:00", end="16:00", priority=2)],
    )
    result = solve(inst)
    assert served(result) == {"R2"}
    assert result.service == 200


# -- instants between whole minutes (docs/decisions.md: allowed periods round inwards, maintenance outwards)


def _utc(hhmmss: str) -> str:
    return f"2026-12-01T{hhmmss}Z"


def test_aircraft_available_between_minutes_is_not_flown_before_the_next_whole_minute():
    # available from 07:45:30: the takeoff at 07:45 for an 08:00-09:00 hour on station is 30 seconds early
    inst = make([aircraft("L1", available_from=_utc("07:45:30"))], [request("R1", start="08:00", end="09:00")])
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.UNAVAILABLE


def test_window_opening_between_minutes_is_flown_from_the_next_whole_minute():
    r1 = request("R1", end="09:30")
    r1["window"]["start"] = _utc("08:00:30")
    (s,) = solve(make([aircraft("L1")], [r1])).plan.sorties
    assert s.on_station.isoformat().startswith(t("08:01")[:16])


def test_window_closing_between_minutes_ends_at_the_previous_whole_minute():
    # L1 is on station at 08:01 at the earliest; the hour would end at 09:01, 30 seconds after the window
    r1 = request("R1", start="08:00")
    r1["window"]["end"] = _utc("09:00:30")
    result = solve(make([aircraft("L1", available_from=t("07:46"))], [r1]))
    assert result.service == 0


def test_maintenance_ending_between_minutes_blocks_its_last_minute():
    # maintenance until 07:45:30: the takeoff at 07:45 would be inside it
    window = {"start": t("06:00"), "end": _utc("07:45:30")}
    inst = make([aircraft("L1", maintenance=[window])], [request("R1", start="08:00", end="09:00")])
    assert solve(inst).service == 0


def test_maintenance_starting_between_minutes_blocks_its_first_minute():
    # maintenance from 09:44:30: the turnaround after the 07:45-09:15 flight, until 09:45, would run into it
    window = {"start": _utc("09:44:30"), "end": t("15:00")}
    inst = make([aircraft("L1", maintenance=[window])], [request("R1", start="08:00", end="09:00")])
    assert solve(inst).service == 0


# -- 4.8 relocation ----------------------------------------------------------------------------------


def test_relocatable_aircraft_relocates_to_reach_a_request():
    inst = make([aircraft("L1")], [request("R1", near="B", start="14:00", end="18:00", priority=1)])
    result = solve(inst)
    assert served(result) == {"R1"}
    (reloc,) = result.plan.relocations
    assert (reloc.from_, reloc.to) == ("A", "B")
    (s,) = result.plan.sorties
    assert s.base == "B" and s.takeoff >= reloc.landing


def test_aircraft_that_is_not_relocatable_stays_home():
    inst = make([aircraft("L1", relocatable=False)], [request("R1", near="B", start="14:00", end="18:00")])
    result = solve(inst)
    assert result.service == 0 and result.plan.relocations == []
    assert reason(result, "R1") == Reason.OUT_OF_RANGE


def test_policy_without_relocations_keeps_aircraft_home():
    inst = make(
        [aircraft("L1")],
        [request("R1", near="B", start="14:00", end="18:00")],
        policy={"max_relocations_per_aircraft": 0},
    )
    result = solve(inst)
    assert result.service == 0 and result.plan.relocations == []


def test_relocation_waits_for_the_last_maintenance_window():
    # maintenance until 20:00 at home; the ferry A->B takes hours, so the 14:00-18:00 request is lost
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("10:00"), "end": t("20:00")}])],
        [request("R1", near="B", start="14:00", end="18:00", priority=1)],
    )
    result = solve(inst)
    assert result.service == 0
    assert reason(result, "R1") == Reason.UNAVAILABLE


def test_relocation_is_only_made_when_it_pays():
    inst = make([aircraft("L1")], [request("R1", start="08:00", end="12:00")])
    result = solve(inst)
    assert result.plan.relocations == []


# -- coverage -----------------------------------------------------------------------------------------


def _alert_rule(penalty: int) -> dict[str, list[dict]]:
    return {
        "S1": [{"start": t("06:00"), "end": t("18:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": penalty}]
    }


def test_coverage_shortfall_is_accepted_when_the_request_is_worth_more():
    # flying R1 (value 50) with the only aircraft leaves S1 without alert for 90 + 30 = 120 minutes
    inst = make([aircraft("L1")], [request("R1")], coverage=_alert_rule(20))
    result = solve(inst)
    assert served(result) == {"R1"}
    assert result.service == 50 - 40
    assert result.plan.metrics["coverage_shortfall_min"] == 120


def test_coverage_is_kept_when_the_shortfall_costs_more_than_the_request():
    inst = make([aircraft("L1")], [request("R1")], coverage=_alert_rule(30))
    result = solve(inst)
    assert result.status == SolveStatus.OPTIMAL
    assert served(result) == set()
    assert result.service == 0


def test_second_aircraft_keeps_alert_while_the_first_flies():
    inst = make([aircraft("L1"), aircraft("L2")], [request("R1")], coverage=_alert_rule(30))
    result = solve(inst)
    assert served(result) == {"R1"}
    assert result.service == 50


def test_penalty_rounds_up_per_rule():
    # 120 shortfall minutes at 7 per hour = 14 exactly; at 8 per hour, 16
    inst = make([aircraft("L1")], [request("R1", priority=2)], coverage=_alert_rule(7))
    assert solve(inst).service == 200 - 14


# -- objective: lexicographic, fairness ------------------------------------------------------------------


def test_cheaper_aircraft_is_chosen_when_service_is_equal():
    inst = make([aircraft("M1", "MEDIUM"), aircraft("L1", "LIGHT")], [request("R1")])
    result = solve(inst)
    assert result.status == SolveStatus.OPTIMAL
    assert result.cost == math.floor(flight_cost(inst, "L1", "R1") + 0.5)


def test_cost_stage_never_loses_service():
    inst = make([aircraft("M1", "MEDIUM")], [request("R1", priority=5)])
    result = solve(inst)
    assert result.service == 1 and served(result) == {"R1"}


def test_higher_priority_request_gets_the_only_aircraft():
    inst = make([aircraft("L1")], [request("R3", priority=3, end="09:00"), request("R1", priority=1, end="09:00")])
    result = solve(inst)
    assert served(result) == {"R1"}
    assert result.service == 1000


def test_request_value_overrides_priority_weight():
    inst = make(
        [aircraft("L1")], [request("R3", priority=3, value=5000, end="09:00"), request("R1", priority=1, end="09:00")]
    )
    assert served(solve(inst)) == {"R3"}


def test_agency_floor_changes_the_plan():
    # one aircraft, two conflicting requests: CBP P3 (50) vs ICE P4 (10)
    reqs = [request("C", priority=3, agency="CBP", end="09:00"), request("I", priority=4, agency="ICE", end="09:00")]
    assert served(solve(make([aircraft("L1")], reqs))) == {"C"}
    # ICE floor = 10 (share 1.0) with weight 10: losing I costs 100 > 50 - 10
    fair = make([aircraft("L1")], reqs, policy={"agency_min_share": {"ICE": 1.0}, "fairness_weight": 10})
    result = solve(fair)
    assert served(result) == {"I"}
    assert result.service == 10  # CBP has no floor; ICE's floor of 10 is met
    assert result.plan.metrics["fairness_penalty"] == 0


# -- solver behaviour -------------------------------------------------------------------------------------


def test_same_seed_with_one_worker_gives_the_same_plan():
    inst = make(
        [aircraft("L1"), aircraft("L2"), aircraft("M1", "MEDIUM")],
        [request(f"R{i}", start=f"{8 + i:02d}:00", end=f"{10 + i:02d}:00", priority=1 + i % 5) for i in range(6)],
    )
    options = SolveOptions(time_limit_s=10, workers=1, seed=3)
    first = allocator.solve(inst, options).plan
    second = allocator.solve(inst, options).plan
    assert first.sorties == second.sorties and first.relocations == second.relocations


def test_optimized_plan_never_scores_below_fcfs():
    # FCFS gives the aircraft to the early low-priority request
    inst = make(
        [aircraft("L1")],
        [
            request("LOW", priority=5, submitted="00:00", end="09:00"),
            request("HIGH", priority=1, submitted="01:00", end="09:00"),
        ],
    )
    result = solve(inst)
    assert result.baseline is not None
    assert result.baseline.objective.service == 1
    assert result.service == 1000 >= result.baseline.objective.service


def test_one_worker_run_stopped_by_its_time_limit_is_reproducible():
    inst = load_instance(Path(__file__).resolve().parents[2] / "instances" / "three-sector-day.json")
    options = SolveOptions(time_limit_s=2, workers=1, seed=5)
    first = allocator.solve(inst, options).plan
    second = allocator.solve(inst, options).plan
    assert first.status == SolveStatus.FEASIBLE  # stopped by the limit, not by a proof
    assert first.sorties == second.sorties and first.relocations == second.relocations
    assert first.objective == second.objective


@pytest.mark.parametrize(("max_pairs", "decomposed"), [(None, True), (10, False)])
def test_decomposition_and_time_grid_run_only_on_instances_small_enough(monkeypatch, max_pairs, decomposed):
    # every relaxation holds about the whole fleet and the grid adds thousands of literals: beyond the
    # size limit the full model alone gets the time
    if max_pairs is not None:
        monkeypatch.setattr(solver_package, "LARGE_INSTANCE_PAIRS", max_pairs)
    inst = generate(seed=2, days=1, aircraft=10, requests=24)  # 240 aircraft x request pairs
    result = allocator.solve(inst, SolveOptions(time_limit_s=4, workers=2, seed=0))
    assert result.plan.run["sector_decomposition"] is decomposed
    assert result.plan.run["coverage_grid_min"] == (30 if decomposed else None)
    assert result.plan.objective.service >= result.baseline.objective.service


def test_large_model_search_settings_still_prove_the_tiny_instance(monkeypatch):
    # probing is switched off above a model size; the tiny instance solved that way keeps its optimum
    monkeypatch.setattr(search, "LARGE_MODEL_VARIABLES", 0)
    result = solve(load_instance(Path(__file__).resolve().parents[2] / "instances" / "tiny.yaml"))
    assert result.plan.status == SolveStatus.OPTIMAL
    assert result.plan.objective.service == 1250


@pytest.mark.parametrize("method", ["cp", "fcfs"])
def test_a_horizon_starting_between_minutes_counts_from_the_next_whole_minute(method: str):
    # minute 0 is 06:01, not 06:00:30: plan instants are whole minutes, none before the horizon start
    data = load_instance(Path("instances/tiny.yaml")).model_dump(mode="json")
    data["horizon"]["start"] = "2026-12-01T06:00:30-07:00"
    inst = Instance.model_validate(data)
    plan = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1, method=method)).plan
    assert plan.sorties  # (and the autouse fixture checks the plan)
    assert all(s.takeoff >= inst.horizon.start and s.takeoff.second == 0 for s in plan.sorties)


@pytest.mark.parametrize("available", [t("23:50"), t("01:00", day="2026-12-02")])
def test_an_aircraft_available_only_at_the_end_of_the_horizon_is_planned_without_it(available: str):
    # found by fuzzing explain: H2, relocatable, available when no ferry can land before the horizon ends
    # (or only after it ends) gave CP-SAT a relocation takeoff with an empty domain, and the model crashed
    inst = make(
        [aircraft("H1"), aircraft("H2", available_from=available)],
        [request("R1"), request("R2", near="A2")],
        policy={"max_relocations_per_aircraft": 2},
    )
    result = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1))
    assert result.status == SolveStatus.OPTIMAL
    assert not any(f.aircraft == "H2" for f in [*result.plan.sorties, *result.plan.relocations])
