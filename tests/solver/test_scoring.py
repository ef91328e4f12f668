"""The SPEC section 5 objective of a fixed schedule, hand-computed (docs/decisions.md readings)."""

from __future__ import annotations

from typing import Any

from allocator.domain import Instance
from allocator.io.instance_files import load_instance
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.solver.scoring import (
    AgencyFulfilment,
    alert_counts,
    fairness_floor,
    operating_base_timeline,
    score,
)
from factory import aircraft, make, request, t

from .test_fcfs import week_instance


def rule(start: str, end: str, count: int = 1, penalty: int = 60, capability: str = "eo_ir") -> dict[str, Any]:
    """A coverage rule on the factory's test day."""
    return {"start": t(start), "end": t(end), "capability": capability, "count": count, "penalty_per_hour": penalty}


def sortie(ac: str, rid: str, takeoff: int, on: int, off: int, landing: int, base: str = "A") -> SortieMin:
    return SortieMin(takeoff, ac, rid, base, on, off, landing)


def with_changes(inst: Instance, **changes: Any) -> Instance:
    """The instance re-validated with top-level keys replaced."""
    data = inst.model_dump(mode="json", exclude_none=True)
    data.update(changes)
    return Instance.model_validate(data)


# -- coverage ---------------------------------------------------------------------------------------
def test_coverage_shortfall_counts_missing_aircraft_minutes_while_a_sortie_and_its_turnaround_fly():
    # L1 flies 07:45-09:15 and turns around until 09:45; L2 sits in the other sector.
    # Rule S1 08:00-10:00, two aircraft: 105 min with none (2 missing) + 15 min with one = 225.
    inst = make(
        [aircraft("L1"), aircraft("L2", home="B")],
        [request("R1", start="08:00", end="09:00")],
        coverage={"S1": [rule("08:00", "10:00", count=2, penalty=7)]},
    )
    prep = Prepared(inst)
    result = score(prep, Schedule(sorties=[sortie("L1", "R1", 465, 480, 540, 555)]))
    (short,) = result.coverage
    assert (short.sector, short.rule, short.start, short.end, short.count) == ("S1", 0, 480, 600, 2)
    assert short.shortfall_min == 225
    assert short.penalty == 27  # ceil(7 * 225 / 60) = ceil(26.25)
    assert result.value_served == 50
    assert result.service == 50 - 27


def test_coverage_counts_maintenance_and_availability_as_off_alert():
    # L1 in maintenance 08:30-09:00; L3 (other S1 base) available from 08:10. Two needed 08:00-10:00:
    # 08:00-08:10 one missing (10) + 08:30-09:00 one missing (30) = 40 minutes, 60/h -> 40.
    inst = make(
        [
            aircraft("L1", maintenance=[{"start": t("08:30"), "end": t("09:00")}]),
            aircraft("L3", home="A2", available_from=t("08:10")),
        ],
        [],
        coverage={"S1": [rule("08:00", "10:00", count=2)]},
    )
    (short,) = score(Prepared(inst), Schedule()).coverage
    assert (short.shortfall_min, short.penalty) == (40, 40)


def test_coverage_follows_the_operating_base_after_a_relocation():
    # L2 leaves B (sector S2) at 01:40 and lands at A; it is on alert in S1 from landing + 30 min turnaround.
    inst = make(
        [aircraft("L1"), aircraft("L2", home="B")],
        [],
        coverage={"S1": [rule("07:00", "10:00", count=2)], "S2": [rule("00:00", "02:00")]},
    )
    prep = Prepared(inst)
    ferry = prep.ferry(inst.aircraft_by_id("L2"), "B", "A")
    landing = 100 + ferry
    schedule = Schedule(relocations=[RelocationMin(100, "L2", "B", "A", landing)])
    s1, s2 = score(prep, schedule).coverage
    assert s1.shortfall_min == landing + 30 - 420
    assert s2.shortfall_min == 20  # flying from 01:40, the rule ends at 02:00
    assert operating_base_timeline(prep, inst.aircraft_by_id("L2"), schedule) == [
        (0, landing, "B"),
        (landing, prep.horizon_min, "A"),
    ]


def test_coverage_counts_only_aircraft_with_the_rule_capability():
    inst = make(
        [aircraft("L1"), aircraft("M1", "MEDIUM")],
        [],
        coverage={"S1": [rule("08:00", "09:00", count=2, capability="hoist")]},
    )
    (short,) = score(Prepared(inst), Schedule()).coverage
    assert short.shortfall_min == 60  # only the MEDIUM has a hoist


def test_coverage_rule_is_clipped_to_the_horizon():
    inst = make(
        [aircraft("L1", maintenance=[{"start": t("20:00"), "end": t("23:59")}])],
        [],
        coverage={"S1": [rule("22:00", "23:59"), {**rule("00:00", "00:00"), "end": "2026-12-02T06:00:00Z"}]},
        end="23:00",
    )
    late, long = score(Prepared(inst), Schedule()).coverage
    assert (late.start, late.end, late.shortfall_min) == (1320, 1380, 60)
    assert (long.start, long.end, long.shortfall_min) == (0, 1380, 180)  # maintenance 20:00-23:00


def test_coverage_rule_between_minutes_counts_only_the_whole_minutes_inside_it():
    # 08:00:30-08:59:30 holds the minutes 08:01 to 08:58 (481-539); one of the two aircraft is missing
    inst = make([aircraft("L1")], [], coverage={"S1": [rule("08:00", "09:00", count=2)]})
    data = inst.model_dump(mode="json", exclude_none=True)
    data["sectors"][0]["coverage"][0].update(start="2026-12-01T08:00:30Z", end="2026-12-01T08:59:30Z")
    (short,) = score(Prepared(Instance.model_validate(data)), Schedule()).coverage
    assert (short.start, short.end, short.shortfall_min) == (481, 539, 58)


def test_coverage_minutes_with_aircraft_to_spare_do_not_make_up_for_short_minutes():
    # two aircraft, one needed: L1 flies 07:45-09:15 and turns around until 09:45 (L3 covers); no shortfall,
    # not a negative one for the minutes both stand alert
    inst = make([aircraft("L1"), aircraft("L3", home="A2")], [], coverage={"S1": [rule("07:00", "12:00")]})
    result = score(Prepared(inst), Schedule(sorties=[sortie("L1", "R1", 465, 480, 540, 555)]))
    (short,) = result.coverage
    assert (short.shortfall_min, short.penalty) == (0, 0)


def test_alert_counts_are_per_minute_arrays():
    inst = make([aircraft("L1"), aircraft("L3", home="A2")], [], coverage={"S1": [rule("08:00", "09:00")]})
    counts = alert_counts(Prepared(inst), Schedule(sorties=[sortie("L1", "R1", 100, 115, 175, 190)]))
    on_alert = counts[("S1", "eo_ir")]
    assert on_alert.shape == (1439,)
    assert (on_alert[99], on_alert[100], on_alert[219], on_alert[220]) == (2, 1, 1, 2)


# -- cost, service, fairness ----------------------------------------------------------------------
def test_cost_is_the_total_rounded_half_up():
    inst = make([aircraft("L1")], [request("R1")])
    types = [{**kind.model_dump(mode="json"), "cost_per_hour": 90} for kind in inst.aircraft_types]
    prep = Prepared(with_changes(inst, aircraft_types=types))
    # 90 $/h is 1.5 $/min: 3 minutes cost 4.5, rounded half up to 5 (not 4, as round() would give).
    assert score(prep, Schedule(sorties=[sortie("L1", "R1", 10, 11, 12, 13)])).cost == 5
    # Rounding is of the total: two 1-minute flights cost 3, not round(1.5) + round(1.5) = 4.
    flights = [sortie("L1", "R1", 10, 10, 11, 11), RelocationMin(20, "L1", "A", "A2", 21)]
    assert score(prep, Schedule(sorties=flights[:1], relocations=flights[1:])).cost == 3


def test_cost_reads_the_hourly_rate_as_written_in_decimal():
    # 1200.6 $/h for 150 minutes is exactly 3001.5 $, rounded half up to 3002; read as the binary float
    # 1200.59999... it would round to 3001, and the independent checker (which reads 1200.6) would object
    inst = make([aircraft("L1")], [request("R1")])
    types = [{**kind.model_dump(mode="json"), "cost_per_hour": 1200.6} for kind in inst.aircraft_types]
    prep = Prepared(with_changes(inst, aircraft_types=types))
    assert score(prep, Schedule(sorties=[sortie("L1", "R1", 0, 10, 140, 150)])).cost == 3002


def test_cost_of_the_tiny_fcfs_plan_matches_its_flight_minutes():
    prep = Prepared(load_instance("instances/tiny.yaml"))
    schedule = solve_fcfs(prep)
    rate = {ac.id: prep.type_of(ac).cost_per_hour for ac in prep.instance.aircraft}
    dollars = sum(rate[s.aircraft] * (s.landing - s.takeoff) / 60 for s in schedule.sorties)
    assert score(prep, schedule).cost == int(dollars + 0.5)


def test_service_uses_value_overrides_and_priority_weights():
    inst = make(
        [aircraft("L1")],
        [request("R1", priority=1), request("R2", priority=2, value=7), request("R3", priority=5)],
        policy={"priority_weights": {1: 900, 2: 200, 3: 50, 4: 10, 5: 3}},
    )
    schedule = Schedule(sorties=[sortie("L1", "R2", 0, 15, 75, 90), sortie("L1", "R3", 200, 215, 275, 290)])
    result = score(Prepared(inst), schedule)
    assert (result.value_served, result.service) == (10, 10)


def test_fairness_penalty_with_one_share_for_every_agency():
    # CBP asks 1000 + 50, gets 50: floor ceil(525) -> 475 short. ICE asks 50, gets 0: floor 25 -> 25 short.
    inst = make(
        [aircraft("L1")],
        [request("C1", priority=1), request("C2", agency="CBP"), request("I1", agency="ICE")],
        policy={"agency_min_share": 0.5, "fairness_weight": 2},
    )
    result = score(Prepared(inst), Schedule(sorties=[sortie("L1", "C2", 0, 15, 75, 90)]))
    assert result.fairness_penalty == 2 * (475 + 25)
    assert result.service == 50 - 1000
    assert result.per_agency == {
        "CBP": AgencyFulfilment(requested=2, served=1, value_requested=1050, value_served=50),
        "ICE": AgencyFulfilment(requested=1, served=0, value_requested=50, value_served=0),
    }
    assert result.per_sector == {"S1": AgencyFulfilment(3, 1, 1100, 50)}


def test_fairness_penalty_with_a_share_map_ignores_agencies_not_in_it():
    inst = make(
        [aircraft("L1")],
        [request("C1", priority=1), request("I1", agency="ICE")],
        policy={"agency_min_share": {"ICE": 0.3}},
    )
    assert score(Prepared(inst), Schedule()).fairness_penalty == 15  # ceil(0.3 * 50); CBP has share 0


def test_fairness_floor_reads_the_share_as_written():
    assert fairness_floor(0.07, 100) == 7  # 0.07 * 100 is 7.000000000000001 in floating point
    assert fairness_floor(0.3, 10) == 3
    assert fairness_floor(0.25, 10) == 3
    assert fairness_floor(0.0, 10) == 0


def test_fairness_floor_reads_a_share_whose_binary_product_overshoots_as_written():
    assert 0.14 * 50 > 7 and 0.56 * 25 > 14  # 7.000000000000001 and 14.000000000000002 in floating point
    assert fairness_floor(0.14, 50) == 7
    assert fairness_floor(0.56, 25) == 14


def test_an_agency_served_above_its_floor_does_not_offset_another_agency_short_of_its_own():
    # share 0.5: CBP asks 1000 + 50 and gets 1000, over its floor 525; ICE asks 50, gets 0: 25 short
    inst = make(
        [aircraft("L1")],
        [request("C1", priority=1), request("C2", agency="CBP"), request("I1", agency="ICE")],
        policy={"agency_min_share": 0.5},
    )
    result = score(Prepared(inst), Schedule(sorties=[sortie("L1", "C1", 0, 15, 75, 90)]))
    assert result.fairness_penalty == 25
    assert result.service == 1000 - 25


def test_no_fairness_penalty_without_agency_min_share():
    inst = make([aircraft("L1")], [request("C1", priority=1)])
    result = score(Prepared(inst), Schedule())
    assert (result.fairness_penalty, result.service, result.coverage) == (0, 0, [])


# -- speed --------------------------------------------------------------------------------------------
def test_scoring_a_week_with_240_aircraft_and_dozens_of_rules_reports_every_rule():
    inst = week_instance()
    rules = []
    for day in range(1, 8):
        for hour, cap in ((0, "eo_ir"), (8, "night_vision"), (16, "hoist")):
            rules.append(
                {
                    "start": f"2026-12-0{day}T{hour:02d}:00:00Z",
                    "end": f"2026-12-0{day}T{hour + 8:02d}:00:00Z" if hour < 16 else f"2026-12-0{day}T23:59:00Z",
                    "capability": cap,
                    "count": 6,
                    "penalty_per_hour": 40,
                }
            )
    sectors = [{"id": "S1", "coverage": rules}, {"id": "S2", "coverage": rules}]
    prep = Prepared(with_changes(inst, sectors=sectors))
    schedule = solve_fcfs(prep)
    result = score(prep, schedule)
    assert len(result.coverage) == 42
