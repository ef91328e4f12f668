"""The independent checker (allocator.check): a valid plan passes, and each rule of SPEC 4 is caught.

Plans are built by hand, never by the solver. Times are minutes since the
horizon start; transit times are worked out with allocator.timeline and
pinned to literal numbers so that a change in the formulas shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from allocator.check import CheckReport, Violation, check
from allocator.domain import Instance
from allocator.io import load_instance
from allocator.result import Objective, Plan, Reason, Relocation, SolveStatus, Sortie, Unserved
from allocator.timeline import Timeline, dist_nm, transit_min

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny.yaml"

# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return load_instance(TINY)


def at(inst: Instance, minute: int) -> Any:
    return Timeline(inst.horizon.start, inst.horizon.end).instant(minute)


def transit(inst: Instance, aircraft: str, base: str, request: str) -> int:
    b, req = inst.base(base), inst.request(request)
    kind = inst.type_of(inst.aircraft_by_id(aircraft))
    return transit_min(dist_nm(b.lat, b.lon, req.lat, req.lon), kind.cruise_kt)


def sortie(
    inst: Instance,
    aircraft: str,
    request: str,
    on: int,
    *,
    base: str | None = None,
    out: int | None = None,
    back: int | None = None,
    off: int | None = None,
) -> Sortie:
    """A sortie on station from `on`; by default for the full duration with exact transit both ways."""
    base = base or inst.aircraft_by_id(aircraft).home_base
    leg = transit(inst, aircraft, base, request)
    out = leg if out is None else out
    back = leg if back is None else back
    off = on + inst.request(request).duration_min if off is None else off
    return Sortie(
        aircraft=aircraft,
        request=request,
        base=base,
        takeoff=at(inst, on - out),
        on_station=at(inst, on),
        off_station=at(inst, off),
        landing=at(inst, off + back),
    )


def relocation(inst: Instance, aircraft: str, src: str, dst: str, takeoff: int, minutes: int) -> Relocation:
    return Relocation.model_validate(
        {
            "aircraft": aircraft,
            "from": src,
            "to": dst,
            "takeoff": at(inst, takeoff),
            "landing": at(inst, takeoff + minutes),
        }
    )


def make_plan(
    inst: Instance,
    sorties: list[Sortie],
    relocations: list[Relocation] | None = None,
    unserved: list[Unserved] | None = None,
    service: int = 0,
    cost: int = 0,
    **extra: Any,
) -> Plan:
    """A plan; by default every request without a sortie is listed unserved once."""
    served = {s.request for s in sorties}
    if unserved is None:
        unserved = [Unserved(request=r.id, reason=Reason.OUTCOMPETED) for r in inst.requests if r.id not in served]
    return Plan(
        instance=inst.name,
        status=SolveStatus.FEASIBLE,
        objective=Objective(service=service, cost=cost),
        sorties=sorties,
        relocations=relocations or [],
        unserved=unserved,
        **extra,
    )


def broken_rules(inst: Instance, plan: Plan) -> set[str]:
    """The rules a plan breaks, leaving out the objective (which most edits change as well)."""
    return check(inst, plan).rules() - {"5-objective"}


def messages(report: CheckReport, rule: str) -> list[str]:
    return [v.message for v in report.violations if v.rule == rule]


def variant(inst: Instance, change: Callable[[dict[str, Any]], None]) -> Instance:
    """A copy of an instance with its document edited by `change`."""
    data = inst.model_dump(mode="json", exclude_none=True)
    change(data)
    return Instance.model_validate(data)


def aircraft_record(data: dict[str, Any], tail: str) -> dict[str, Any]:
    return next(a for a in data["aircraft"] if a["id"] == tail)


def request_record(data: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(r for r in data["requests"] if r["id"] == rid)


# -- tiny: the hand-made valid plan ------------------------------------------------------------
#
# Minutes count from 06:00 local (13:00Z). Transit (minutes): N125AZ (H125, TUS) to R1 22, R3 3,
# R4 26; N60AZ (UH-60, FHU) to R2 23, R4 9; TUS-FHU ferry 23 for the H125, 19 for the UH-60.
#   N125AZ: R1 on station 120-210 (flies 98-232, 134 min); R4 420-520 (flies 394-546, 152 min)
#   N60AZ:  R2 on station 150-210 (flies 127-233, 106 min); R4 420-520 (flies 411-529, 118 min)
# service = R1 50 + R2 1000 + R4 200 = 1250 (R3 unserved)
# cost = 1500 * 286 / 60 + 6500 * 224 / 60 = 7150 + 24266.67 = 31416.67, rounded 31417

TINY_SERVICE = 1250
TINY_COST = 31417


def tiny_sorties(inst: Instance) -> list[Sortie]:
    return [
        sortie(inst, "N125AZ", "R1", 120),
        sortie(inst, "N60AZ", "R2", 150),
        sortie(inst, "N125AZ", "R4", 420),
        sortie(inst, "N60AZ", "R4", 420),
    ]


def tiny_plan(inst: Instance, **kwargs: Any) -> Plan:
    kwargs.setdefault("service", TINY_SERVICE)
    kwargs.setdefault("cost", TINY_COST)
    return make_plan(inst, kwargs.pop("sorties", tiny_sorties(inst)), **kwargs)


def test_transit_times_of_tiny_are_the_hand_computed_ones(tiny: Instance) -> None:
    legs = {(a, r): transit(tiny, a, b, r) for a, b, r in [("N125AZ", "TUS", "R1"), ("N125AZ", "TUS", "R4")]}
    legs |= {(a, r): transit(tiny, a, b, r) for a, b, r in [("N60AZ", "FHU", "R2"), ("N60AZ", "FHU", "R4")]}
    assert legs == {("N125AZ", "R1"): 22, ("N125AZ", "R4"): 26, ("N60AZ", "R2"): 23, ("N60AZ", "R4"): 9}


def test_hand_built_valid_plan_passes(tiny: Instance) -> None:
    report = check(tiny, tiny_plan(tiny))
    assert report.ok, report.summary()
    assert report.violations == []
    assert (report.service, report.cost, report.value_served) == (TINY_SERVICE, TINY_COST, TINY_SERVICE)
    assert report.fairness_penalty == 0
    assert report.per_agency["CBP"] == {
        "requested": 3,
        "served": 3,
        "requested_value": 1250,
        "served_value": 1250,
        "floor": 0,
        "penalty": 0,
    }
    assert report.per_agency["ICE"]["served"] == 0
    assert "valid" in report.summary()


def test_plan_given_as_a_dict_is_checked_too(tiny: Instance) -> None:
    document = tiny_plan(tiny).model_dump(mode="json", by_alias=True)
    assert check(tiny, document).ok


def test_empty_plan_with_every_request_unserved_is_valid(tiny: Instance) -> None:
    assert check(tiny, make_plan(tiny, [])).ok


def test_loitering_longer_than_transit_is_accepted(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=30, back=25)  # flies 145 min, H125 endurance 168
    # cost: H125 flies 145 + 152 = 297 min -> 7425; UH-60 24266.67 -> total 31691.67, rounded 31692
    assert check(tiny, tiny_plan(tiny, sorties=sorties, cost=31692)).ok


# -- SPEC 1 and 3: instants and references -------------------------------------------------------


def test_instant_that_is_not_a_whole_minute_is_a_violation(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    first = plan.sorties[0]
    plan.sorties[0] = first.model_copy(update={"takeoff": first.takeoff.replace(second=30)})
    report = check(tiny, plan)
    assert report.rules() == {"1"}
    assert "takeoff" in messages(report, "1")[0] and "N125AZ" in messages(report, "1")[0]


def test_unknown_ids_are_violations_not_exceptions(tiny: Instance) -> None:
    sorties = [*tiny_sorties(tiny), sortie(tiny, "N125AZ", "R3", 200).model_copy(update={"aircraft": "N999"})]
    sorties.append(sortie(tiny, "N60AZ", "R3", 200).model_copy(update={"request": "R99", "base": "XXX"}))
    relocs = [relocation(tiny, "N77", "TUS", "NOWHERE", 600, 30)]
    unserved = [Unserved(request="R3", reason=Reason.OUTCOMPETED), Unserved(request="R42", reason=Reason.UNAVAILABLE)]
    report = check(tiny, tiny_plan(tiny, sorties=sorties, relocations=relocs, unserved=unserved))
    refs = " ".join(messages(report, "3-reference"))
    for name in ("N999", "R99", "XXX", "N77", "NOWHERE", "R42"):
        assert name in refs


def test_each_unknown_reference_is_reported_once_with_its_own_message(tiny: Instance) -> None:
    # N77 is no aircraft (its bases are known), NOWHERE no base (its aircraft is known), R99 no request: each is
    # named by its own message, and nothing else is wrong. N60AZ flies R2 and R4 (224 minutes) and relocates
    # 600-630 after R4's turnaround (574): cost 1500 * 286 / 60 + 6500 * 254 / 60 = 7150 + 27516.67, rounded 34667
    relocs = [relocation(tiny, "N77", "TUS", "FHU", 600, 30), relocation(tiny, "N60AZ", "FHU", "NOWHERE", 600, 30)]
    unserved = [Unserved(request="R3", reason=Reason.OUTCOMPETED, competitors=["R99"])]
    report = check(tiny, tiny_plan(tiny, relocations=relocs, unserved=unserved, cost=34667))
    assert report.violations == [
        Violation("3-reference", "The relocation of N77 from TUS to FHU names unknown aircraft 'N77'."),
        Violation("3-reference", "The relocation of N60AZ from FHU to NOWHERE names unknown base 'NOWHERE'."),
        Violation("3-reference", "The unserved entry for R3 names unknown competitor 'R99'."),
    ]


def test_flights_of_known_aircraft_from_unknown_bases_are_reference_violations_not_exceptions(
    tiny: Instance,
) -> None:
    # a known aircraft and request, an unknown base: no transit or ferry can be worked out, and none is claimed
    sorties = tiny_sorties(tiny)
    sorties[0] = sorties[0].model_copy(update={"base": "XXX"})
    relocs = [relocation(tiny, "N60AZ", "NOWHERE", "TUS", 600, 30)]
    report = check(tiny, tiny_plan(tiny, sorties=sorties, relocations=relocs, cost=34667))
    assert report.violations == [
        Violation("3-reference", "The sortie of N125AZ for R1 names unknown base 'XXX'."),
        Violation("3-reference", "The relocation of N60AZ from NOWHERE to TUS names unknown base 'NOWHERE'."),
    ]


def test_an_unknown_id_with_control_characters_is_named_escaped_on_one_line(tiny: Instance) -> None:
    odd = sortie(tiny, "N125AZ", "R3", 200).model_copy(update={"aircraft": "N9\n\x00"})
    report = check(tiny, tiny_plan(tiny, sorties=[*tiny_sorties(tiny), odd]))
    refs = messages(report, "3-reference")
    assert any("N9\\n\\u0000" in m for m in refs)
    assert all("\n" not in m and "\x00" not in m for v in report.violations for m in [v.message])


def test_a_plan_naming_another_instance_is_a_violation(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    assert check(tiny, plan).ok
    report = check(tiny, plan.model_copy(update={"instance": "arizona-surge"}))
    assert report.rules() == {"3-instance"}
    assert "for instance 'arizona-surge', not 'tiny'" in messages(report, "3-instance")[0]


def test_unknown_reason_code_is_a_violation(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    plan.unserved[0] = Unserved.model_construct(request="R3", reason="TOO_BUSY", detail="", competitors=[])
    report = check(tiny, plan)
    assert report.rules() == {"6"}
    assert "TOO_BUSY" in messages(report, "6")[0]


def _r3_unserved_as(inst: Instance, reason: Reason, competitors: list[str] | None = None) -> Plan:
    """The tiny plan with R3 unserved for `reason`."""
    entry = Unserved(request="R3", reason=reason, competitors=competitors or [])
    return tiny_plan(inst, unserved=[entry])


def _r3_needs_radar(data: dict[str, Any]) -> None:
    request_record(data, "R3")["capabilities"] = ["maritime_radar"]


def _r3_far_away(data: dict[str, Any]) -> None:
    request_record(data, "R3").update(lat=36.5, lon=-110.9)  # about 260 nm north of Tucson


# R3 made unflyable by the instance alone, and the reason that says so
STATIC_CASES = [(_r3_needs_radar, Reason.NO_CAPABLE_TYPE), (_r3_far_away, Reason.OUT_OF_RANGE)]


@pytest.mark.parametrize(("change", "reason"), STATIC_CASES)
def test_a_static_reason_true_of_the_instance_passes(
    tiny: Instance, change: Callable[[dict[str, Any]], None], reason: Reason
) -> None:
    inst = variant(tiny, change)
    assert check(inst, _r3_unserved_as(inst, reason)).ok


@pytest.mark.parametrize("reason", [Reason.NO_CAPABLE_TYPE, Reason.OUT_OF_RANGE])
def test_a_static_reason_for_a_request_the_fleet_can_reach_is_a_violation(tiny: Instance, reason: Reason) -> None:
    report = check(tiny, _r3_unserved_as(tiny, reason))
    assert report.rules() == {"6"}
    assert reason.value in messages(report, "6")[0] and "R3" in messages(report, "6")[0]


@pytest.mark.parametrize(("change", "expected"), STATIC_CASES)
def test_outcompeted_for_a_request_the_instance_rules_out_is_a_violation(
    tiny: Instance, change: Callable[[dict[str, Any]], None], expected: Reason
) -> None:
    inst = variant(tiny, change)
    report = check(inst, _r3_unserved_as(inst, Reason.OUTCOMPETED, ["R1"]))
    assert report.rules() == {"6"}
    assert f"the reason is {expected.value}" in messages(report, "6")[0]


def test_a_request_needing_more_aircraft_than_qualify_is_no_capable_type(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: request_record(d, "R3").update(aircraft_count=3))
    assert check(inst, _r3_unserved_as(inst, Reason.NO_CAPABLE_TYPE)).ok
    assert "6" in check(inst, _r3_unserved_as(inst, Reason.UNAVAILABLE)).rules()


def test_an_outcompeted_request_may_name_served_competitors_only(tiny: Instance) -> None:
    assert check(tiny, _r3_unserved_as(tiny, Reason.OUTCOMPETED, ["R1", "R4"])).ok
    inst = variant(tiny, lambda d: request_record(d, "R1").update(capabilities=["maritime_radar"]))
    plan = make_plan(inst, tiny_sorties(inst)[1:], service=TINY_SERVICE - 50, cost=0)
    plan.unserved = [
        Unserved(request="R1", reason=Reason.NO_CAPABLE_TYPE),
        Unserved(request="R3", reason=Reason.OUTCOMPETED, competitors=["R1"]),
    ]
    assert any("names R1 as a competitor" in m for m in messages(check(inst, plan), "6"))


def test_request_that_fits_the_endurance_exactly_is_not_out_of_range(tiny: Instance) -> None:
    # R3 is 3 minutes from TUS: 3 + 162 + 3 = 168, the H125's endurance exactly (the UH-60's is 138)
    def long_r3(data: dict[str, Any]) -> None:
        request_record(data, "R3").update(duration_min=162)
        request_record(data, "R3")["window"].update(end="2026-12-01T13:00:00-07:00")

    inst = variant(tiny, long_r3)
    assert check(inst, _r3_unserved_as(inst, Reason.OUTCOMPETED)).ok
    assert check(inst, _r3_unserved_as(inst, Reason.OUT_OF_RANGE)).rules() == {"6"}


def test_request_in_range_only_from_another_base_is_not_out_of_range_when_the_aircraft_may_relocate(
    tiny: Instance,
) -> None:
    # R2 (hoist: N60AZ only) for 100 minutes: 23 + 100 + 23 = 146 from FHU is over the UH-60's 138-minute
    # endurance, 18 + 100 + 18 = 136 from TUS is within it, and N60AZ may relocate to TUS
    inst = variant(tiny, lambda d: request_record(d, "R2").update(duration_min=100))
    sorties = [s for s in tiny_sorties(inst) if s.request != "R2"]  # R2 and R3 are listed OUTCOMPETED
    assert broken_rules(inst, make_plan(inst, sorties)) == set()
    pinned = variant(inst, lambda d: aircraft_record(d, "N60AZ").update(relocatable=False))
    assert broken_rules(pinned, make_plan(pinned, sorties)) == {"6"}


def test_a_request_whose_allow_list_names_every_type_of_the_fleet_is_not_no_capable_type(tiny: Instance) -> None:
    # R3 (eo_ir) allows the H125 and the UH-60 and needs both aircraft: both qualify and reach it
    inst = variant(tiny, lambda d: request_record(d, "R3").update(aircraft_types=["H125", "UH-60"], aircraft_count=2))
    assert check(inst, _r3_unserved_as(inst, Reason.OUTCOMPETED)).ok
    assert check(inst, _r3_unserved_as(inst, Reason.NO_CAPABLE_TYPE)).rules() == {"6"}


def test_a_request_needing_exactly_the_capabilities_of_a_type_is_not_no_capable_type(tiny: Instance) -> None:
    # R3 needs all five capabilities of the UH-60: N60AZ qualifies, and flies it from FHU in 21 + 60 + 21 = 102
    # minutes, within its 138-minute endurance
    caps = ["eo_ir", "hoist", "medium_lift", "night_vision", "surveillance"]
    inst = variant(tiny, lambda d: request_record(d, "R3").update(capabilities=caps))
    assert check(inst, _r3_unserved_as(inst, Reason.OUTCOMPETED)).ok
    assert check(inst, _r3_unserved_as(inst, Reason.NO_CAPABLE_TYPE)).rules() == {"6"}


def test_request_in_range_only_from_another_base_is_out_of_range_when_no_relocation_is_allowed(
    tiny: Instance,
) -> None:
    # R2 for 100 minutes is within the UH-60's endurance from TUS only (see above); with a limit of 0
    # relocations N60AZ cannot get there, so R2 is OUT_OF_RANGE
    inst = variant(tiny, lambda d: request_record(d, "R2").update(duration_min=100))
    inst = variant(inst, lambda d: d.setdefault("policy", {}).update(max_relocations_per_aircraft=0))
    sorties = [s for s in tiny_sorties(inst) if s.request != "R2"]
    assert broken_rules(inst, make_plan(inst, sorties)) == {"6"}
    unserved = [Unserved(request="R2", reason=Reason.OUT_OF_RANGE), Unserved(request="R3", reason=Reason.OUTCOMPETED)]
    assert broken_rules(inst, make_plan(inst, sorties, unserved=unserved)) == set()


# -- 4.1 eligibility -----------------------------------------------------------------------------


def test_aircraft_without_a_required_capability_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[1] = sortie(tiny, "N125AZ", "R2", 150)  # R2 needs a hoist; the H125 has none
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert "4.1" in report.rules()
    assert any("hoist" in m and "N125AZ" in m for m in messages(report, "4.1"))


def test_aircraft_type_off_the_allow_list_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: request_record(d, "R1").update(aircraft_types=["UH-60"]))
    assert broken_rules(inst, tiny_plan(inst)) == {"4.1"}


# -- 4.2 service ---------------------------------------------------------------------------------


def test_request_with_too_few_sorties_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, tiny_plan(tiny, sorties=tiny_sorties(tiny)[:3]))
    assert report.rules() - {"5-objective"} == {"4.2"}
    assert any("R4" in m and "1 sortie" in m for m in messages(report, "4.2"))


def test_same_aircraft_twice_for_one_request_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[3] = sortie(tiny, "N125AZ", "R4", 420)
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert any("N125AZ flies 2 sorties for R4" in m for m in messages(report, "4.2"))


def test_sorties_of_one_request_at_different_times_are_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[3] = sortie(tiny, "N60AZ", "R4", 430)
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert broken_rules(tiny, tiny_plan(tiny, sorties=sorties)) == {"4.2"}
    assert any("not on station together" in m for m in messages(report, "4.2"))


@pytest.mark.parametrize("off", [200, 211])  # 80 minutes, and one more than the 90 R1 asks for
def test_time_on_station_other_than_the_duration_is_a_violation(tiny: Instance, off: int) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, off=off)
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() - {"5-objective"} == {"4.2"}
    assert any(f"{off - 120} minutes" in m and "90-minute" in m for m in messages(report, "4.2"))


@pytest.mark.parametrize("on", [100, 119])  # R1's window opens at minute 120
def test_time_on_station_outside_the_window_is_a_violation(tiny: Instance, on: int) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", on)
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() == {"4.2"}
    assert any("outside its window" in m for m in messages(report, "4.2"))


def test_request_with_more_sorties_than_its_aircraft_count_is_a_violation(tiny: Instance) -> None:
    # R1 needs one aircraft; N60AZ (14 minutes from FHU) joins N125AZ on station 120-210 instead of flying R2
    sorties = tiny_sorties(tiny)
    sorties[1] = sortie(tiny, "N60AZ", "R1", 120)
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() - {"5-objective"} == {"4.2"}
    assert any("R1 has 2 sorties but needs exactly 1" in m for m in messages(report, "4.2"))


def test_off_station_exactly_at_the_window_end_is_allowed(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 210)  # on station 210-300; R1's window closes at minute 300
    assert check(tiny, tiny_plan(tiny, sorties=sorties)).ok


def test_off_station_one_minute_after_the_window_end_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 211)  # on station 211-301
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() == {"4.2"}
    assert any("outside its window" in m for m in messages(report, "4.2"))


def test_window_opening_between_minutes_counts_from_the_next_whole_minute(tiny: Instance) -> None:
    # R1's window opens at 08:00:30 local (minute 120.5): on station at 120 is 30 seconds early, at 121 inside
    inst = variant(tiny, lambda d: request_record(d, "R1")["window"].update(start="2026-12-01T08:00:30-07:00"))
    sorties = tiny_sorties(inst)
    assert broken_rules(inst, tiny_plan(inst, sorties=sorties)) == {"4.2"}
    sorties[0] = sortie(inst, "N125AZ", "R1", 121)
    assert check(inst, tiny_plan(inst, sorties=sorties)).ok


def test_window_closing_between_minutes_ends_at_the_previous_whole_minute(tiny: Instance) -> None:
    # R1's window closes at 11:00:30 local (minute 300.5): off station at 300 is inside, at 301 outside
    inst = variant(tiny, lambda d: request_record(d, "R1")["window"].update(end="2026-12-01T11:00:30-07:00"))
    sorties = tiny_sorties(inst)
    sorties[0] = sortie(inst, "N125AZ", "R1", 210)
    assert check(inst, tiny_plan(inst, sorties=sorties)).ok
    sorties[0] = sortie(inst, "N125AZ", "R1", 211)
    assert broken_rules(inst, tiny_plan(inst, sorties=sorties)) == {"4.2"}


# -- 4.3 transit ---------------------------------------------------------------------------------


def test_takeoff_later_than_transit_allows_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=20)  # needs 22 minutes out
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert broken_rules(tiny, tiny_plan(tiny, sorties=sorties)) == {"4.3"}
    assert any("22-minute transit" in m for m in messages(report, "4.3"))


def test_landing_sooner_than_transit_back_allows_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[1] = sortie(tiny, "N60AZ", "R2", 150, back=22)  # needs 23 minutes back
    assert broken_rules(tiny, tiny_plan(tiny, sorties=sorties)) == {"4.3"}


def test_sortie_from_a_base_other_than_the_operating_base_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[1] = sortie(tiny, "N60AZ", "R2", 150, base="TUS")
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert any("operating base then is FHU" in m for m in messages(report, "4.3"))


def test_takeoff_one_minute_later_than_transit_allows_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=21)  # needs 22 minutes out
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() - {"5-objective"} == {"4.3"}
    assert any("22-minute transit from TUS" in m for m in messages(report, "4.3"))


# -- 4.4 endurance -------------------------------------------------------------------------------


def test_sortie_longer_than_endurance_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=62)  # 62 + 90 + 22 = 174 > 168
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert broken_rules(tiny, tiny_plan(tiny, sorties=sorties)) == {"4.4"}
    assert any("174 minutes" in m and "168-minute" in m for m in messages(report, "4.4"))


def test_sortie_landing_exactly_at_endurance_is_allowed(tiny: Instance) -> None:
    # 56 + 90 + 22 = 168, the H125's endurance. H125 flies 168 + 152 = 320 minutes: 8000 + 24266.67 = 32266.67
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=56)
    report = check(tiny, tiny_plan(tiny, sorties=sorties, cost=32267))
    assert report.ok, report.summary()


def test_sortie_one_minute_over_endurance_is_a_violation(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 120, out=57)  # 57 + 90 + 22 = 169 > 168
    report = check(tiny, tiny_plan(tiny, sorties=sorties))
    assert report.rules() - {"5-objective"} == {"4.4"}
    assert any("169 minutes" in m and "168-minute" in m for m in messages(report, "4.4"))


# -- 4.5 one thing at a time ---------------------------------------------------------------------


def test_flight_inside_the_previous_turnaround_is_a_violation(tiny: Instance) -> None:
    # N125AZ lands from R1 at 232 and needs 30 minutes; R3 from TUS (transit 3) on station at 262 takes off at 259
    inst = variant(tiny, lambda d: request_record(d, "R3")["window"].update(end="2026-12-01T11:30:00-07:00"))
    sorties = [*tiny_sorties(inst), sortie(inst, "N125AZ", "R3", 262)]
    report = check(inst, make_plan(inst, sorties))
    assert broken_rules(inst, make_plan(inst, sorties)) == {"4.5"}
    assert any("N125AZ for R3" in m and "30 minutes" in m for m in messages(report, "4.5"))
    assert broken_rules(inst, make_plan(inst, [*tiny_sorties(inst), sortie(inst, "N125AZ", "R3", 265)])) == set()


def test_overlapping_flights_are_a_violation(tiny: Instance) -> None:
    sorties = [*tiny_sorties(tiny), sortie(tiny, "N125AZ", "R3", 180)]  # inside the R1 sortie 98-232
    assert broken_rules(tiny, make_plan(tiny, sorties)) == {"4.5"}


def test_flight_taking_off_one_minute_inside_the_turnaround_is_a_violation(tiny: Instance) -> None:
    # N125AZ lands from R1 at 232 and may take off again at 262; R3 on station at 264 takes off at 261
    inst = variant(tiny, lambda d: request_record(d, "R3")["window"].update(end="2026-12-01T11:30:00-07:00"))
    sorties = [*tiny_sorties(inst), sortie(inst, "N125AZ", "R3", 264)]
    assert broken_rules(inst, make_plan(inst, sorties)) == {"4.5"}


def test_flight_inside_a_long_flight_does_not_hide_a_later_overlap_with_it(tiny: Instance) -> None:
    # N125AZ flies R1 98-232. A sortie for R3 (107-173) lies inside it; a relocation at 210 clears the R3
    # sortie's turnaround (203) but still takes off before R1's sortie has landed: both are reported.
    sorties = [sortie(tiny, "N125AZ", "R1", 120), sortie(tiny, "N125AZ", "R3", 110)]
    relocs = [relocation(tiny, "N125AZ", "TUS", "FHU", 210, 23)]
    overlaps = messages(check(tiny, make_plan(tiny, sorties, relocs)), "4.5")
    assert len(overlaps) == 2
    assert any(m.startswith("The relocation of N125AZ") and "the sortie of N125AZ for R1 has" in m for m in overlaps)


# -- 4.6 availability ----------------------------------------------------------------------------


def test_flight_before_available_from_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(available_from="2026-12-01T09:00:00-07:00"))
    report = check(inst, tiny_plan(inst))
    assert report.rules() == {"4.6"}
    assert "N60AZ is available" in messages(report, "4.6")[0]


def test_flight_before_the_horizon_start_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: request_record(d, "R1")["window"].update(start="2026-12-01T06:00:00-07:00"))
    sorties = tiny_sorties(inst)
    sorties[0] = sortie(inst, "N125AZ", "R1", 10)  # takes off at -12
    report = check(inst, tiny_plan(inst, sorties=sorties))
    assert report.rules() == {"4.6"}
    assert "horizon start" in messages(report, "4.6")[0]


def test_landing_after_the_horizon_end_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: d["horizon"].update(end="2026-12-01T17:00:00-07:00"))  # horizon 660 minutes
    sorties = tiny_sorties(inst)
    sorties[2:] = [sortie(inst, "N125AZ", "R4", 560), sortie(inst, "N60AZ", "R4", 560)]  # land at 686 and 669
    report = check(inst, tiny_plan(inst, sorties=sorties))
    assert report.rules() == {"4.6"}
    assert len(messages(report, "4.6")) == 2
    assert all("after the horizon end" in m for m in messages(report, "4.6"))


def test_sortie_overlapping_maintenance_is_a_violation(tiny: Instance) -> None:
    window = {"start": "2026-12-01T08:00:00-07:00", "end": "2026-12-01T09:00:00-07:00"}  # minutes 120-180
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(maintenance=[window]))
    report = check(inst, tiny_plan(inst))
    assert report.rules() == {"4.6"}
    assert "maintenance" in messages(report, "4.6")[0] and "N60AZ for R2" in messages(report, "4.6")[0]


def test_turnaround_running_into_maintenance_is_a_violation(tiny: Instance) -> None:
    # N60AZ lands from R2 at 233 and turns around for 45 minutes, until 278; maintenance starts at 245
    window = {"start": "2026-12-01T10:05:00-07:00", "end": "2026-12-01T11:00:00-07:00"}
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(maintenance=[window]))
    assert check(inst, tiny_plan(inst)).rules() == {"4.6"}
    later = {"start": "2026-12-01T10:38:00-07:00", "end": "2026-12-01T11:00:00-07:00"}  # minute 278: clear
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(maintenance=[later]))
    assert check(inst, tiny_plan(inst)).ok


def test_maintenance_away_from_home_is_a_violation(tiny: Instance) -> None:
    # N60AZ relocates FHU -> TUS after R2 (278-297), then has maintenance 13:00-14:00 local while based at TUS
    window = {"start": "2026-12-01T13:00:00-07:00", "end": "2026-12-01T14:00:00-07:00"}
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(maintenance=[window]))
    sorties = tiny_sorties(inst)[:2]
    relocs = [relocation(inst, "N60AZ", "FHU", "TUS", 278, 19)]
    report = check(inst, make_plan(inst, sorties, relocs))
    assert report.rules() - {"5-objective"} == {"4.6"}
    assert "not its home base FHU" in messages(report, "4.6")[0]


def test_takeoff_at_the_horizon_start_is_allowed_one_minute_before_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: request_record(d, "R1")["window"].update(start="2026-12-01T06:00:00-07:00"))
    sorties = tiny_sorties(inst)
    sorties[0] = sortie(inst, "N125AZ", "R1", 22)  # takes off at 0
    assert check(inst, tiny_plan(inst, sorties=sorties)).ok
    sorties[0] = sortie(inst, "N125AZ", "R1", 21)  # takes off at -1
    report = check(inst, tiny_plan(inst, sorties=sorties))
    assert report.rules() == {"4.6"}
    assert "before the horizon start" in messages(report, "4.6")[0]


def _n60az_available_from(inst: Instance, instant: str) -> Instance:
    return variant(inst, lambda d: aircraft_record(d, "N60AZ").update(available_from=instant))


def test_takeoff_exactly_at_available_from_is_allowed(tiny: Instance) -> None:
    inst = _n60az_available_from(tiny, "2026-12-01T08:07:00-07:00")  # N60AZ takes off for R2 at 08:07 (127)
    assert check(inst, tiny_plan(inst)).ok


def test_takeoff_one_minute_before_available_from_is_a_violation(tiny: Instance) -> None:
    inst = _n60az_available_from(tiny, "2026-12-01T08:08:00-07:00")
    report = check(inst, tiny_plan(inst))
    assert report.rules() == {"4.6"}
    assert "N60AZ is available" in messages(report, "4.6")[0]


def test_available_from_between_minutes_counts_from_the_next_whole_minute(tiny: Instance) -> None:
    # available from 08:06:30: the takeoff at 08:07 is allowed; from 08:07:30 it is 30 seconds early
    assert check(_n60az_available_from(tiny, "2026-12-01T08:06:30-07:00"), tiny_plan(tiny)).ok
    inst = _n60az_available_from(tiny, "2026-12-01T08:07:30-07:00")
    assert check(inst, tiny_plan(inst)).rules() == {"4.6"}


def _r4_flown_at(inst: Instance, on: int) -> list[Sortie]:
    """The valid tiny sorties with R4 on station at `on` (N125AZ lands at on + 126, N60AZ at on + 109)."""
    return [*tiny_sorties(inst)[:2], sortie(inst, "N125AZ", "R4", on), sortie(inst, "N60AZ", "R4", on)]


def test_landing_exactly_at_the_horizon_end_is_allowed(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: d["horizon"].update(end="2026-12-01T17:00:00-07:00"))  # horizon 660 minutes
    assert check(inst, tiny_plan(inst, sorties=_r4_flown_at(inst, 534))).ok  # N125AZ lands at 660


def test_landing_one_minute_after_the_horizon_end_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: d["horizon"].update(end="2026-12-01T17:00:00-07:00"))
    report = check(inst, tiny_plan(inst, sorties=_r4_flown_at(inst, 535)))  # N125AZ lands at 661
    assert report.rules() == {"4.6"}
    assert messages(report, "4.6") == [
        "The sortie of N125AZ for R4 lands at 2026-12-02T00:01Z, after the horizon end 2026-12-02T00:00Z."
    ]


def _n60az_maintenance(inst: Instance, start: str, end: str) -> Instance:
    day = "2026-12-01T{}-07:00"
    window = {"start": day.format(start), "end": day.format(end)}
    return variant(inst, lambda d: aircraft_record(d, "N60AZ").update(maintenance=[window]))


def test_takeoff_exactly_when_maintenance_ends_is_allowed(tiny: Instance) -> None:
    inst = _n60az_maintenance(tiny, "07:00:00", "08:07:00")  # N60AZ takes off for R2 at 08:07
    assert check(inst, tiny_plan(inst)).ok


def test_takeoff_one_minute_before_maintenance_ends_is_a_violation(tiny: Instance) -> None:
    inst = _n60az_maintenance(tiny, "07:00:00", "08:08:00")
    report = check(inst, tiny_plan(inst))
    assert report.rules() == {"4.6"}
    assert "N60AZ for R2" in messages(report, "4.6")[0] and "maintenance" in messages(report, "4.6")[0]


def test_turnaround_running_one_minute_into_maintenance_is_a_violation(tiny: Instance) -> None:
    # N60AZ lands from R2 at 233 and turns around until 278 (10:38 local); maintenance from 10:37
    inst = _n60az_maintenance(tiny, "10:37:00", "11:00:00")
    assert check(inst, tiny_plan(inst)).rules() == {"4.6"}


def test_maintenance_between_minutes_grows_to_whole_minutes(tiny: Instance) -> None:
    # from 10:37:30 the turnaround until 10:38 overlaps it by 30 seconds; until 08:07:30 the takeoff at 08:07
    # is inside it
    assert check(_n60az_maintenance(tiny, "10:37:30", "11:00:00"), tiny_plan(tiny)).rules() == {"4.6"}
    assert check(_n60az_maintenance(tiny, "07:00:00", "08:07:30"), tiny_plan(tiny)).rules() == {"4.6"}


# -- 4.7 hours -----------------------------------------------------------------------------------


def test_flying_more_than_the_hours_available_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: aircraft_record(d, "N125AZ").update(hours_available=4.75))  # 285 < 286 minutes
    report = check(inst, tiny_plan(inst))
    assert report.rules() == {"4.7"}
    assert messages(report, "4.7") == ["N125AZ flies 286 minutes, more than its 285-minute budget."]
    assert check(variant(tiny, lambda d: aircraft_record(d, "N125AZ").update(hours_available=4.77)), tiny_plan(tiny)).ok


def test_flight_minutes_over_a_fractional_hour_budget_are_a_violation(tiny: Instance) -> None:
    # 4.76 hours are 285.6 minutes: N125AZ's 286 minutes are over it (the budget is 285 whole minutes)
    inst = variant(tiny, lambda d: aircraft_record(d, "N125AZ").update(hours_available=4.76))
    report = check(inst, tiny_plan(inst))
    assert messages(report, "4.7") == ["N125AZ flies 286 minutes, more than its 285-minute budget."]


def test_relocation_minutes_count_against_the_hour_budget(tiny: Instance) -> None:
    # N60AZ flies R2 for 106 minutes, then relocates FHU -> TUS in 19: 125 minutes, over a 2-hour budget
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(hours_available=2))
    report = check(inst, relocated_plan(inst, [relocation(inst, "N60AZ", "FHU", "TUS", 278, 19)]))
    assert messages(report, "4.7") == ["N60AZ flies 125 minutes, more than its 120-minute budget."]


def test_hour_budget_a_hair_short_of_a_whole_minute_is_not_rounded_up(tiny: Instance) -> None:
    # 4.76666666655 hours are 285.999999993 minutes: N125AZ's 286 minutes are over it. Only the binary
    # float's own error (about 1e-13) may be forgiven, not 7e-9 of a minute.
    inst = variant(tiny, lambda d: aircraft_record(d, "N125AZ").update(hours_available=4.76666666655))
    report = check(inst, tiny_plan(inst))
    assert messages(report, "4.7") == ["N125AZ flies 286 minutes, more than its 285-minute budget."]


# -- 4.8 relocation ------------------------------------------------------------------------------


def relocated_plan(inst: Instance, relocs: list[Relocation]) -> Plan:
    """R1 and R2 as in the valid plan, then the given relocations."""
    return make_plan(inst, tiny_sorties(inst)[:2], relocs)


def test_valid_relocation_then_sortie_from_the_new_base_passes(tiny: Instance) -> None:
    # N125AZ lands from R1 at 232, turns around until 262, ferries TUS -> FHU (23 minutes, 262-285),
    # then flies R4 from FHU (transit `leg`) instead of from TUS.
    leg = transit(tiny, "N125AZ", "FHU", "R4")
    sorties = tiny_sorties(tiny)
    sorties[2] = sortie(tiny, "N125AZ", "R4", 420, base="FHU")
    plan = make_plan(tiny, sorties, [relocation(tiny, "N125AZ", "TUS", "FHU", 262, 23)])
    report = check(tiny, plan)
    assert report.rules() == {"5-objective"}, report.summary()  # only the placeholder objective is wrong
    # cost: H125 flies 134 + 23 + (leg + 100 + leg) minutes at 1500 / hour; UH-60 224 minutes at 6500 / hour
    expected = 1500 * (134 + 23 + 2 * leg + 100) / 60 + 6500 * 224 / 60
    assert report.cost == int(expected + 0.5)
    assert report.service == TINY_SERVICE


def test_relocation_of_a_non_relocatable_aircraft_is_a_violation(tiny: Instance) -> None:
    inst = variant(tiny, lambda d: aircraft_record(d, "N60AZ").update(relocatable=False))
    report = check(inst, relocated_plan(inst, [relocation(inst, "N60AZ", "FHU", "TUS", 278, 19)]))
    assert report.rules() - {"5-objective"} == {"4.8"}
    assert "not relocatable" in messages(report, "4.8")[0]


def test_too_many_relocations_is_a_violation(tiny: Instance) -> None:
    relocs = [relocation(tiny, "N60AZ", "FHU", "TUS", 278, 19), relocation(tiny, "N60AZ", "TUS", "FHU", 400, 19)]
    report = check(tiny, relocated_plan(tiny, relocs))
    assert report.rules() - {"5-objective"} == {"4.8"}
    assert "more than the limit of 1" in messages(report, "4.8")[0]
    two = variant(tiny, lambda d: d.setdefault("policy", {}).update(max_relocations_per_aircraft=2))
    assert check(two, relocated_plan(two, relocs)).rules() == {"5-objective"}


def test_relocation_faster_than_the_ferry_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, relocated_plan(tiny, [relocation(tiny, "N60AZ", "FHU", "TUS", 278, 18)]))
    assert report.rules() - {"5-objective"} == {"4.8"}
    assert "19-minute ferry" in messages(report, "4.8")[0]


def test_relocation_without_refuel_stops_is_too_short(tiny: Instance) -> None:
    # UH-60 endurance 10: transit 19 needs ceil(19 / 10) - 1 = 1 refuel stop of 45 minutes: 64 minutes
    inst = variant(tiny, lambda d: d["aircraft_types"][1].update(endurance_min=10))
    # R2 is now beyond the UH-60's endurance, and make_plan lists it OUTCOMPETED: rule 6 is left out
    report = check(inst, make_plan(inst, [], [relocation(inst, "N60AZ", "FHU", "TUS", 100, 63)]))
    assert report.rules() - {"5-objective", "6"} == {"4.8"}
    assert "64-minute ferry" in messages(report, "4.8")[0]
    plan = make_plan(inst, [], [relocation(inst, "N60AZ", "FHU", "TUS", 100, 64)])
    assert check(inst, plan).rules() - {"6"} == {"5-objective"}


def test_relocation_from_a_base_other_than_the_operating_base_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, relocated_plan(tiny, [relocation(tiny, "N60AZ", "TUS", "FHU", 278, 19)]))
    assert report.rules() - {"5-objective"} == {"4.8"}
    assert "operating base then is FHU" in messages(report, "4.8")[0]


def test_relocation_to_the_same_base_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, relocated_plan(tiny, [relocation(tiny, "N60AZ", "FHU", "FHU", 278, 19)]))
    assert any("does not change base" in m for m in messages(report, "4.8"))


# -- 4.9 completeness ----------------------------------------------------------------------------


def test_unserved_request_missing_from_the_list_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, tiny_plan(tiny, unserved=[]))
    assert report.violations == [Violation("4.9", "R3 is not served and missing from the unserved list.")]


def test_request_listed_twice_as_unserved_is_a_violation(tiny: Instance) -> None:
    twice = [Unserved(request="R3", reason=Reason.OUTCOMPETED)] * 2
    report = check(tiny, tiny_plan(tiny, unserved=twice))
    assert report.violations == [Violation("4.9", "R3 is listed as unserved 2 times.")]


def test_served_request_listed_as_unserved_is_a_violation(tiny: Instance) -> None:
    listed = [Unserved(request="R3", reason=Reason.OUTCOMPETED), Unserved(request="R1", reason=Reason.NOT_PROVEN)]
    report = check(tiny, tiny_plan(tiny, unserved=listed))
    assert report.violations == [Violation("4.9", "R1 is served but listed as unserved.")]


# -- 5 objective ---------------------------------------------------------------------------------


def test_reported_service_that_differs_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, tiny_plan(tiny, service=TINY_SERVICE + 1))
    assert report.rules() == {"5-objective"}
    assert "service 1251" in messages(report, "5-objective")[0] and "1250" in messages(report, "5-objective")[0]


def test_reported_cost_that_differs_is_a_violation(tiny: Instance) -> None:
    report = check(tiny, tiny_plan(tiny, cost=31416))  # 31416.67 rounds up
    assert messages(report, "5-objective") == ["The plan reports cost 31416, but it is 31417."]


def test_bound_below_the_service_is_a_violation(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    plan.bound.service = 1000
    assert check(tiny, plan).rules() == {"5-bound"}


def test_bound_equal_to_the_service_is_allowed(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    plan.bound.service = TINY_SERVICE
    assert check(tiny, plan).ok


def test_an_optimal_plan_has_its_service_as_its_bound(tiny: Instance) -> None:
    plan = tiny_plan(tiny)
    plan.status, plan.bound.service = SolveStatus.OPTIMAL, TINY_SERVICE
    assert check(tiny, plan).ok


@pytest.mark.parametrize("bound", [TINY_SERVICE + 1, None])
def test_an_optimal_plan_with_another_bound_or_none_is_a_violation(tiny: Instance, bound: int | None) -> None:
    plan = tiny_plan(tiny)
    plan.status, plan.bound.service = SolveStatus.OPTIMAL, bound
    assert check(tiny, plan).rules() == {"5-bound"}


def test_not_proven_is_allowed_in_a_feasible_plan(tiny: Instance) -> None:
    assert check(tiny, _r3_unserved_as(tiny, Reason.NOT_PROVEN)).ok


def test_not_proven_in_an_optimal_plan_is_a_violation(tiny: Instance) -> None:
    plan = _r3_unserved_as(tiny, Reason.NOT_PROVEN)
    plan.status, plan.bound.service = SolveStatus.OPTIMAL, TINY_SERVICE
    report = check(tiny, plan)
    assert report.rules() == {"6"} and "NOT_PROVEN, but the plan is OPTIMAL" in messages(report, "6")[0]


def test_every_violation_is_listed_not_just_the_first(tiny: Instance) -> None:
    sorties = tiny_sorties(tiny)
    sorties[0] = sortie(tiny, "N125AZ", "R1", 100, out=70)  # outside window and over endurance
    sorties[1] = sortie(tiny, "N125AZ", "R2", 150)  # no hoist, and overlaps R1
    report = check(tiny, tiny_plan(tiny, sorties=sorties, unserved=[]))
    assert {"4.1", "4.2", "4.4", "4.5", "4.9", "5-objective"} <= report.rules()
    assert "INVALID" in report.summary()


# -- 4.3 coverage and fairness on small hand-made instances ---------------------------------------


def small_instance(
    coverage: list[dict[str, Any]] | None = None, requests: list[dict[str, Any]] | None = None, **policy: Any
) -> Instance:
    """Horizon 00:00Z-12:00Z. Sector S1 has bases A and B, sector S2 has base C."""
    window = {"start": "2026-12-01T01:00:00Z", "end": "2026-12-01T04:00:00Z"}
    default_requests = [
        {
            "id": "Q1",
            "agency": "CBP",
            "sector": "S1",
            "lat": 32.0,
            "lon": -110.0,
            "window": window,
            "duration_min": 40,
            "priority": 3,
            "capabilities": [],
        }
    ]
    return Instance.model_validate(
        {
            "name": "small",
            "horizon": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-01T12:00:00Z"},
            "sectors": [{"id": "S1", "coverage": coverage or []}, {"id": "S2"}],
            "bases": [
                {"id": "A", "sector": "S1", "lat": 32.0, "lon": -110.0},
                {"id": "B", "sector": "S1", "lat": 32.5, "lon": -110.0},
                {"id": "C", "sector": "S2", "lat": 33.5, "lon": -110.0},
            ],
            "aircraft_types": [
                {
                    "id": "H",
                    "cruise_kt": 120,
                    "endurance_min": 180,
                    "turnaround_min": 20,
                    "cost_per_hour": 600,
                    "capabilities": ["eo_ir"],
                },
                {"id": "T", "cruise_kt": 200, "endurance_min": 300, "cost_per_hour": 900, "capabilities": ["lift"]},
            ],
            "aircraft": [
                {"id": "N1", "type": "H", "home_base": "A", "hours_available": 10},
                {
                    "id": "N2",
                    "type": "H",
                    "home_base": "B",
                    "hours_available": 10,
                    "available_from": "2026-12-01T02:50:00Z",
                },
                {"id": "N3", "type": "T", "home_base": "A", "hours_available": 10},
                {"id": "N4", "type": "H", "home_base": "C", "hours_available": 10},
            ],
            "requests": requests if requests is not None else default_requests,
            "policy": policy,
        }
    )


COVERAGE_RULE = {
    "start": "2026-12-01T01:00:00Z",
    "end": "2026-12-01T03:00:00Z",
    "capability": "eo_ir",
    "count": 2,
    "penalty_per_hour": 25,
}


def test_coverage_shortfall_is_recomputed_by_hand() -> None:
    # Rule on S1, minutes 60-180, two eo_ir aircraft. N1 (at A) flies Q1 at A (transit 0) 90-130 and turns
    # around 20 minutes: off alert 90-150. N2 (at B) is available from 170. N3 has no eo_ir; N4 is in S2.
    #   60-90: 1 on alert -> 30;  90-150: 0 -> 2 * 60 = 120;  150-170: 1 -> 20;  170-180: 2 -> 0
    # shortfall 170 minutes, penalty ceil(25 * 170 / 60) = ceil(70.83) = 71; service = 50 - 71 = -21
    # cost = 600 * 40 / 60 = 400
    inst = small_instance([COVERAGE_RULE])
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400)
    report = check(inst, plan)
    assert report.ok, report.summary()
    assert report.coverage == [
        {
            "sector": "S1",
            "index": 0,
            "capability": "eo_ir",
            "count": 2,
            "start_min": 60,
            "end_min": 180,
            "shortfall_min": 170,
            "penalty": 71,
        }
    ]
    assert (report.value_served, report.service, report.cost) == (50, -21, 400)
    assert "170 shortfall minutes" in report.summary()


def test_coverage_counts_maintenance_and_relocation_as_off_alert() -> None:
    # The same rule with no sortie. N1 is in maintenance 01:30-01:40 (minutes 90-100). N4 ferries from C (S2)
    # to B (S1) in 31 minutes, 69-100, turns around until 120, then is on alert in S1. N2 is on alert from 170.
    #   60-90: N1 -> 1 short a minute: 30;  90-100: none -> 2 * 10 = 20;  100-120: N1 -> 20;
    #   120-170: N1 + N4 -> 0;  170-180: three -> 0.   shortfall 70, penalty ceil(25 * 70 / 60) = ceil(29.17) = 30
    # service = -30; cost = 600 * 31 / 60 = 310
    inst = small_instance([COVERAGE_RULE], requests=[])
    data = inst.model_dump(mode="json", exclude_none=True)
    aircraft_record(data, "N1")["maintenance"] = [{"start": "2026-12-01T01:30:00Z", "end": "2026-12-01T01:40:00Z"}]
    inst = Instance.model_validate(data)
    b, c = inst.base("B"), inst.base("C")
    assert transit_min(dist_nm(c.lat, c.lon, b.lat, b.lon), 120) == 31
    plan = make_plan(inst, [], [relocation(inst, "N4", "C", "B", 69, 31)], service=-30, cost=310)
    report = check(inst, plan)
    assert report.ok, report.summary()
    assert report.coverage[0]["shortfall_min"] == 70 and report.coverage[0]["penalty"] == 30


def test_reported_coverage_that_differs_is_a_violation() -> None:
    inst = small_instance([COVERAGE_RULE])
    reported = [{"sector": "S1", "index": 0, "shortfall_min": 100, "penalty": 71}]
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400, coverage=reported)
    report = check(inst, plan)
    assert report.violations == [
        Violation("4.3-coverage", "The plan reports shortfall_min 100 for coverage rule S1#0, but it is 170.")
    ]


def test_reported_coverage_naming_no_rule_is_a_violation_not_a_crash() -> None:
    inst = small_instance([COVERAGE_RULE])
    reported = [{"sector": ["S1"], "index": 0, "shortfall_min": 170, "penalty": 120}]
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400, coverage=reported)
    assert messages(check(inst, plan), "4.3-coverage") == [
        "The plan reports coverage for rule ['S1']#0, which names no rule."
    ]


def test_reported_coverage_for_rule_true_is_a_violation() -> None:
    # `True == 1` in Python: without care, rule `true` would be read as rule #1
    inst = small_instance([COVERAGE_RULE, COVERAGE_RULE])  # two rules of 71 each: service 50 - 142
    reported = [{"sector": "S1", "index": True, "shortfall_min": 170, "penalty": 71}]
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-92, cost=400, coverage=reported)
    assert messages(check(inst, plan), "4.3-coverage") == [
        "The plan reports coverage for rule 'S1'#True, which names no rule."
    ]


def test_a_flight_at_the_end_of_the_calendar_is_reported_in_minutes(tiny: Instance) -> None:
    # 23:59 at UTC-5 on the calendar's last day is past year 9999 in UTC
    last = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))
    far = sortie(tiny, "N125AZ", "R3", 600).model_copy(update={"takeoff": last})
    report = check(tiny, make_plan(tiny, [far]))
    assert any("of the horizon" in v.message for v in report.violations)


def fairness_requests() -> list[dict[str, Any]]:
    window = {"start": "2026-12-01T01:00:00Z", "end": "2026-12-01T04:00:00Z"}
    spot = {"sector": "S1", "lat": 32.0, "lon": -110.0, "window": window, "duration_min": 30, "capabilities": []}
    return [
        {"id": "C1", "agency": "CBP", "priority": 1, **spot},
        {"id": "C2", "agency": "CBP", "value": 10, "priority": 3, **spot},
        {"id": "I1", "agency": "ICE", "value": 10, "priority": 3, **spot},
        {"id": "I2", "agency": "ICE", "value": 20, "priority": 3, **spot},
    ]


def test_fairness_term_is_recomputed_by_hand() -> None:
    # CBP requested 1010, floor ceil(0.5 * 1010) = 505, served C1 = 1000: no penalty.
    # ICE requested 30, floor ceil(0.1 * 30) = 3, served 0 (shares whose binary product overshoots: below).
    # service = 1000 - 2 * 3 = 994; cost = 600 * 30 / 60 = 300
    inst = small_instance(requests=fairness_requests(), agency_min_share={"CBP": 0.5, "ICE": 0.1}, fairness_weight=2)
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "C1", 60)], service=994, cost=300))
    assert report.ok, report.summary()
    assert report.fairness_penalty == 6
    assert report.per_agency["ICE"] == {
        "requested": 2,
        "served": 0,
        "requested_value": 30,
        "served_value": 0,
        "floor": 3,
        "penalty": 6,
    }
    assert report.per_agency["CBP"]["floor"] == 505 and report.per_agency["CBP"]["penalty"] == 0


def test_fairness_with_one_share_for_all_agencies_and_a_missing_agency_share() -> None:
    # one share 0.5: ICE floor 15, served I2 = 20 -> 0; CBP floor 505, served 0 -> 505. service 20 - 505 = -485
    inst = small_instance(requests=fairness_requests(), agency_min_share=0.5)
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "I2", 60)], service=-485, cost=300))
    assert report.ok, report.summary()
    # a map without CBP: CBP has share 0; ICE 0.5 -> floor 15, served 20 -> no penalty at all
    inst = small_instance(requests=fairness_requests(), agency_min_share={"ICE": 0.5})
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "I2", 60)], service=20, cost=300))
    assert report.ok and report.fairness_penalty == 0


def test_coverage_rule_starting_between_minutes_counts_from_the_next_whole_minute() -> None:
    # the hand count of test_coverage_shortfall_is_recomputed_by_hand, with the rule from 01:00:30: minute 60
    # is not wholly inside it, so one aircraft-minute less is short: 169, penalty ceil(25 * 169 / 60) = 71
    inst = small_instance([{**COVERAGE_RULE, "start": "2026-12-01T01:00:30Z"}])
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400))
    assert report.ok, report.summary()
    assert report.coverage[0]["shortfall_min"] == 169


def test_cost_of_exactly_half_a_dollar_rounds_up() -> None:
    # N1 flies Q1 (at its base) for 40 minutes at $15.75 an hour: $10.50, rounded half up to 11, not to the even 10
    inst = variant(small_instance(), lambda d: d["aircraft_types"][0].update(cost_per_hour=15.75))
    assert check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=50, cost=11)).ok
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=50, cost=10))
    assert messages(report, "5-objective") == ["The plan reports cost 10, but it is 11."]


def test_fairness_floor_of_a_fractional_share_rounds_up() -> None:
    # ICE requested 30 with share 0.25: floor ceil(7.5) = 8, served 0 -> penalty 8. service 1000 - 8 = 992
    inst = small_instance(requests=fairness_requests(), agency_min_share={"ICE": 0.25})
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "C1", 60)], service=992, cost=300))
    assert report.ok, report.summary()
    assert report.per_agency["ICE"]["floor"] == 8


def test_fairness_floor_reads_the_share_as_the_decimal_written() -> None:
    # ICE requested 50 with share 0.14: floor exactly 7, where the binary floats give 0.14 * 50 =
    # 7.000000000000001, which would round up to 8. service 1000 - 7 = 993
    requests = fairness_requests()
    requests[2]["value"], requests[3]["value"] = 20, 30
    assert 0.14 * 50 > 7  # the trap this test is about
    inst = small_instance(requests=requests, agency_min_share={"ICE": 0.14})
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "C1", 60)], service=993, cost=300))
    assert report.ok, report.summary()
    assert report.per_agency["ICE"]["floor"] == 7


def test_sortie_taking_off_the_minute_a_relocation_lands_flies_from_the_new_base() -> None:
    # N3 (type T: 200 kt, no turnaround) ferries A -> C in 28 minutes, 4-32, and takes off from C at 32 for Q1
    # (28 minutes away): on station 60-100, lands at 128. cost 900 * (28 + 96) / 60 = 1860
    inst = small_instance()
    plan = make_plan(
        inst,
        [sortie(inst, "N3", "Q1", 60, base="C")],
        [relocation(inst, "N3", "A", "C", 4, 28)],
        service=50,
        cost=1860,
    )
    report = check(inst, plan)
    assert report.ok, report.summary()


def test_relocation_landing_the_minute_maintenance_starts_leaves_the_aircraft_away_from_home() -> None:
    # N3 (no turnaround) lands at C at minute 32 when its maintenance at home A starts: it is not at home
    inst = small_instance(requests=[])
    window = {"start": "2026-12-01T00:32:00Z", "end": "2026-12-01T00:50:00Z"}
    inst = variant(inst, lambda d: aircraft_record(d, "N3").update(maintenance=[window]))
    report = check(inst, make_plan(inst, [], [relocation(inst, "N3", "A", "C", 4, 28)], cost=420))
    assert report.rules() == {"4.6"}
    assert "N3 is based at C, not its home base A" in messages(report, "4.6")[0]


# -- boundaries: allowed exactly at the edge, forbidden one minute past it ---------------------------


def test_a_request_that_exactly_as_many_aircraft_qualify_for_as_it_needs_is_not_no_capable_type(
    tiny: Instance,
) -> None:
    # R3 (eo_ir) with aircraft_count 2: both aircraft qualify and reach it, so neither static reason is true
    inst = variant(tiny, lambda d: request_record(d, "R3").update(aircraft_count=2))
    assert check(inst, _r3_unserved_as(inst, Reason.OUTCOMPETED)).ok
    for reason in (Reason.NO_CAPABLE_TYPE, Reason.OUT_OF_RANGE):
        assert check(inst, _r3_unserved_as(inst, reason)).rules() == {"6"}


def test_ferry_whose_transit_equals_the_endurance_needs_no_refuel_stop() -> None:
    # N1 (type H, turnaround 20) ferries A -> C, a 46-minute transit. Endurance 46: ceil(46 / 46) - 1 = 0 stops,
    # 46 minutes. Endurance 45: ceil(46 / 45) - 1 = 1 stop, 46 + 20 = 66 minutes.
    def with_endurance(minutes: int) -> Instance:
        return variant(small_instance(requests=[]), lambda d: d["aircraft_types"][0].update(endurance_min=minutes))

    def ferry(inst: Instance, minutes: int) -> Plan:
        return make_plan(inst, [], [relocation(inst, "N1", "A", "C", 100, minutes)])

    inst = with_endurance(46)
    assert broken_rules(inst, ferry(inst, 46)) == set()
    assert messages(check(inst, ferry(inst, 45)), "4.8") == [
        "The relocation of N1 from A to C takes 45 minutes (2026-12-01T01:40Z to 2026-12-01T02:25Z), "
        "less than the 46-minute ferry."
    ]
    inst = with_endurance(45)
    assert broken_rules(inst, ferry(inst, 66)) == set()
    assert "less than the 66-minute ferry" in messages(check(inst, ferry(inst, 65)), "4.8")[0]


def test_one_relocation_is_allowed_with_a_limit_of_one_and_forbidden_with_a_limit_of_zero() -> None:
    inst = small_instance(requests=[])
    plan = make_plan(inst, [], [relocation(inst, "N1", "A", "C", 100, 46)])
    assert broken_rules(inst, plan) == set()
    none = variant(inst, lambda d: d["policy"].update(max_relocations_per_aircraft=0))
    assert messages(check(none, plan), "4.8") == ["N1 relocates 1 time, more than the limit of 0."]


def _n1_maintenance(inst: Instance, start: str, end: str = "2026-12-01T14:00:00Z") -> Instance:
    return variant(inst, lambda d: aircraft_record(d, "N1").update(maintenance=[{"start": start, "end": end}]))


def test_turnaround_past_the_horizon_end_may_run_into_maintenance_beyond_it() -> None:
    # N1 flies Q1 (at its base A) 660-700 and turns around 20 minutes, until the horizon end 720 (12:00Z).
    # Maintenance from 12:00 lies beyond the horizon (read clipped): allowed. From 11:59 it is inside the
    # horizon and the turnaround runs one minute into it: forbidden.
    window = {"start": "2026-12-01T11:00:00Z", "end": "2026-12-01T12:00:00Z"}
    spot = {"agency": "CBP", "sector": "S1", "lat": 32.0, "lon": -110.0, "priority": 3, "capabilities": []}
    inst = small_instance(requests=[{"id": "Q1", "window": window, "duration_min": 40, **spot}])
    assert broken_rules(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 660)])) == set()
    allowed = _n1_maintenance(inst, "2026-12-01T12:00:00Z")
    assert broken_rules(allowed, make_plan(allowed, [sortie(allowed, "N1", "Q1", 660)])) == set()
    forbidden = _n1_maintenance(inst, "2026-12-01T11:59:00Z")
    report = check(forbidden, make_plan(forbidden, [sortie(forbidden, "N1", "Q1", 660)]))
    assert report.rules() - {"5-objective"} == {"4.6"}
    assert "then 20 minutes of turnaround) overlaps N1's maintenance" in messages(report, "4.6")[0]


def test_maintenance_beyond_the_horizon_end_does_not_keep_the_aircraft_at_home() -> None:
    # N1 relocates A -> C (46 minutes) and stays there. Maintenance from the horizon end (12:00Z) is read
    # clipped to nothing; from 11:59 it holds the last minute, when N1 is based at C, not at home.
    inst = small_instance(requests=[])
    relocs = [relocation(inst, "N1", "A", "C", 100, 46)]
    allowed = _n1_maintenance(inst, "2026-12-01T12:00:00Z")
    assert broken_rules(allowed, make_plan(allowed, [], relocs)) == set()
    forbidden = _n1_maintenance(inst, "2026-12-01T11:59:00Z")
    report = check(forbidden, make_plan(forbidden, [], relocs))
    assert report.rules() - {"5-objective"} == {"4.6"}
    assert "N1 is based at C, not its home base A" in messages(report, "4.6")[0]


def test_coverage_counts_half_open_minutes_a_takeoff_at_the_rule_end_costs_nothing() -> None:
    # Rule S1 01:00-02:00 (minutes 60-120), one eo_ir aircraft: only N1 is on alert in S1 then (N2 from 170).
    # N1 flies Q1 at its base, taking off at 120: no shortfall; at 119: one shortfall minute, penalty
    # ceil(25 * 1 / 60) = 1. cost 600 * 40 / 60 = 400
    rule = {**COVERAGE_RULE, "end": "2026-12-01T02:00:00Z", "count": 1}
    inst = small_instance([rule])
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 120)], service=50, cost=400))
    assert report.ok, report.summary()
    assert report.coverage[0]["shortfall_min"] == 0
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 119)], service=49, cost=400))
    assert report.ok, report.summary()
    assert (report.coverage[0]["shortfall_min"], report.coverage[0]["penalty"]) == (1, 1)


def test_coverage_rule_partly_outside_the_horizon_counts_the_minutes_inside_only() -> None:
    # Horizon 00:00-12:00Z, no flights. 23:00 (the day before) to 00:30, two aircraft: N1 alone on alert in S1
    # (N2 from 02:50): 30 minutes one short. 11:45 to 13:00, three: N1 and N2: 15 minutes one short.
    # service -(30 + 15) * 60 / 60 = -45
    rules = [
        {**COVERAGE_RULE, "start": "2026-11-30T23:00:00Z", "end": "2026-12-01T00:30:00Z", "penalty_per_hour": 60},
        {
            **COVERAGE_RULE,
            "start": "2026-12-01T11:45:00Z",
            "end": "2026-12-01T13:00:00Z",
            "count": 3,
            "penalty_per_hour": 60,
        },
    ]
    inst = small_instance(rules, requests=[])
    report = check(inst, make_plan(inst, [], service=-45))
    assert report.ok, report.summary()
    assert [(c["start_min"], c["end_min"], c["shortfall_min"]) for c in report.coverage] == [
        (0, 30, 30),
        (705, 720, 15),
    ]


def test_reported_coverage_entries_without_a_sector_and_an_index_are_not_checked() -> None:
    # SPEC 3 welcomes further keys: entries that do not name a rule by sector and index claim nothing
    inst = small_instance([COVERAGE_RULE])
    reported = [{"shortfall_min": 5}, {"sector": "S1", "penalty": 1}, {"index": 0, "shortfall_min": 5}]
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400, coverage=reported)
    assert check(inst, plan).ok


def test_reported_coverage_for_a_rule_the_instance_lacks_is_a_violation() -> None:
    inst = small_instance([COVERAGE_RULE])  # S1 has one rule (#0), S2 none
    reported = [{"sector": "S1", "index": 1, "shortfall_min": 0}, {"sector": "S2", "index": 0, "penalty": 0}]
    plan = make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=-21, cost=400, coverage=reported)
    assert check(inst, plan).violations == [
        Violation("4.3-coverage", "The plan reports coverage for unknown rule S1#1."),
        Violation("4.3-coverage", "The plan reports coverage for unknown rule S2#0."),
    ]


def test_coverage_rule_wholly_outside_the_horizon_costs_nothing() -> None:
    # the horizon is 00:00-12:00Z; a rule the evening before and one after the end hold no minute of it
    rules = [
        {**COVERAGE_RULE, "start": "2026-11-30T20:00:00Z", "end": "2026-11-30T22:00:00Z"},
        {**COVERAGE_RULE, "start": "2026-12-01T13:00:00Z", "end": "2026-12-01T14:00:00Z"},
    ]
    inst = small_instance(rules, requests=[])
    report = check(inst, make_plan(inst, []))
    assert report.ok, report.summary()
    assert [(c["shortfall_min"], c["penalty"]) for c in report.coverage] == [(0, 0), (0, 0)]


def test_coverage_rule_no_aircraft_can_meet_is_short_its_count_every_minute() -> None:
    # S2 asks for two `lift` aircraft 01:00-02:00: the only one (N3) is based in S1. 2 * 60 = 120 shortfall
    # minutes, penalty ceil(60 * 120 / 60) = 120
    rule = {**COVERAGE_RULE, "end": "2026-12-01T02:00:00Z", "capability": "lift", "penalty_per_hour": 60}
    inst = variant(small_instance(requests=[]), lambda d: d["sectors"][1].update(coverage=[rule]))
    report = check(inst, make_plan(inst, [], service=-120))
    assert report.ok, report.summary()
    assert (report.coverage[0]["shortfall_min"], report.coverage[0]["penalty"]) == (120, 120)


def test_coverage_rule_ending_between_minutes_ends_at_the_previous_whole_minute() -> None:
    # the rule of test_coverage_shortfall_is_recomputed_by_hand until 02:00:30: minutes 60-120. N1 on alert
    # 60-90 (1 short), off 90-150 (2 short): 30 + 60 = 90 shortfall minutes; minute 120 is not wholly inside.
    # penalty ceil(25 * 90 / 60) = ceil(37.5) = 38; service 50 - 38 = 12
    inst = small_instance([{**COVERAGE_RULE, "end": "2026-12-01T02:00:30Z"}])
    report = check(inst, make_plan(inst, [sortie(inst, "N1", "Q1", 90)], service=12, cost=400))
    assert report.ok, report.summary()
    assert (report.coverage[0]["end_min"], report.coverage[0]["shortfall_min"]) == (120, 90)


def test_alert_intervals_end_when_a_relocation_takes_off_and_start_at_the_new_base() -> None:
    # N3 (no turnaround) ferries A -> C 4-32: on alert at A 0-4, at C from 32. N2 from 170; N1 and N4 all day.
    # cost 900 * 28 / 60 = 420
    inst = small_instance(requests=[])
    report = check(inst, make_plan(inst, [], [relocation(inst, "N3", "A", "C", 4, 28)], cost=420))
    assert report.ok, report.summary()
    assert report.alert == [
        ("N1", 0, 720, "A"),
        ("N2", 170, 720, "B"),
        ("N3", 0, 4, "A"),
        ("N3", 32, 720, "C"),
        ("N4", 0, 720, "C"),
    ]


def test_aircraft_relocated_out_of_a_sector_no_longer_covers_it() -> None:
    # Rule S1 01:00-03:00 (60-180), one eo_ir aircraft. N1 ferries A (S1) -> C (S2) 100-146 and is on alert at
    # C from 166; N2 is on alert at B (S1) from 170. S1 is one short 100-170: 70 minutes, penalty
    # ceil(25 * 70 / 60) = ceil(29.17) = 30. cost 600 * 46 / 60 = 460
    inst = small_instance([{**COVERAGE_RULE, "count": 1}], requests=[])
    report = check(inst, make_plan(inst, [], [relocation(inst, "N1", "A", "C", 100, 46)], service=-30, cost=460))
    assert report.ok, report.summary()
    assert report.coverage[0]["shortfall_min"] == 70


def test_aircraft_relocated_to_an_unknown_base_covers_no_sector() -> None:
    # N1 ferries A -> Z (no base) 0-46. One eo_ir aircraft is asked for 01:00-02:00 in S1 (N1 gone, N2 from
    # 170), in S3 (no base) and two in S2 (N4 alone): each rule is one short all 60 minutes, penalty 60.
    # service -180; cost 600 * 46 / 60 = 460
    one = {**COVERAGE_RULE, "end": "2026-12-01T02:00:00Z", "count": 1, "penalty_per_hour": 60}
    inst = small_instance([one], requests=[])
    inst = variant(inst, lambda d: d["sectors"][1].update(coverage=[{**one, "count": 2}]))
    inst = variant(inst, lambda d: d["sectors"].append({"id": "S3", "coverage": [one]}))
    report = check(inst, make_plan(inst, [], [relocation(inst, "N1", "A", "Z", 0, 46)], service=-180, cost=460))
    assert report.violations == [Violation("3-reference", "The relocation of N1 from A to Z names unknown base 'Z'.")]
    assert [c["shortfall_min"] for c in report.coverage] == [60, 60, 60]


def test_maintenance_from_before_the_horizon_start_is_read_from_minute_zero() -> None:
    # N1 is in maintenance from 23:00 the day before until 00:30: off alert 0-30 (minute 0 included). Rule S1
    # 00:00-01:00, one eo_ir aircraft (N2 only from 170): 30 shortfall minutes, penalty ceil(25 * 30 / 60) = 13
    rule = {**COVERAGE_RULE, "start": "2026-12-01T00:00:00Z", "end": "2026-12-01T01:00:00Z", "count": 1}
    inst = _n1_maintenance(small_instance([rule], requests=[]), "2026-11-30T23:00:00Z", "2026-12-01T00:30:00Z")
    report = check(inst, make_plan(inst, [], service=-13))
    assert report.ok, report.summary()
    assert report.coverage[0]["shortfall_min"] == 30


def test_flight_wholly_before_the_horizon_start_does_not_overlap_maintenance_read_from_minute_zero() -> None:
    # N3 (no turnaround) ferries A -> C from 23:27 to 23:55 the day before; its maintenance from 23:50 until
    # 00:20 is read clipped to the horizon, 00:00-00:20, which the ferry does not overlap. It breaks 4.6 by
    # taking off before the horizon start, and by being based at C during that maintenance.
    inst = small_instance(requests=[])
    window = {"start": "2026-11-30T23:50:00Z", "end": "2026-12-01T00:20:00Z"}
    inst = variant(inst, lambda d: aircraft_record(d, "N3").update(maintenance=[window]))
    report = check(inst, make_plan(inst, [], [relocation(inst, "N3", "A", "C", -33, 28)], cost=420))
    assert report.violations == [
        Violation("4.6", "The relocation of N3 from A to C takes off at 2026-11-30T23:27Z, before the horizon start."),
        Violation(
            "4.6",
            "N3 is based at C, not its home base A, during its maintenance 2026-12-01T00:00Z to 2026-12-01T00:20Z.",
        ),
    ]


def _q0_at_a(start: str, end: str) -> list[dict[str, Any]]:
    """One 40-minute request at base A (transit 0 for N1), window `start` to `end`."""
    spot = {"agency": "CBP", "sector": "S1", "lat": 32.0, "lon": -110.0, "priority": 3, "capabilities": []}
    return [{"id": "Q0", "window": {"start": start, "end": end}, "duration_min": 40, **spot}]


def test_window_opening_before_the_horizon_start_is_read_from_minute_zero() -> None:
    # Q0 may be flown 23:00 the day before to 02:00. N1 on station 0-40 (transit 0) is allowed: cost 400.
    # On station from minute -1 it takes off before the horizon (4.6) and is outside the window read
    # clipped to the horizon, [0, 120) (4.2)
    inst = small_instance(requests=_q0_at_a("2026-11-30T23:00:00Z", "2026-12-01T02:00:00Z"))
    assert check(inst, make_plan(inst, [sortie(inst, "N1", "Q0", 0)], service=50, cost=400)).ok
    assert broken_rules(inst, make_plan(inst, [sortie(inst, "N1", "Q0", -1)], service=50, cost=400)) == {"4.2", "4.6"}


def test_window_closing_after_the_horizon_end_is_read_to_the_horizon_end() -> None:
    # Q0 may be flown 11:00 to 13:00; the horizon ends at 12:00 (720). On station 680-720, landing at 720:
    # allowed. 681-721 lands after the horizon end (4.6) and leaves the window read as [660, 720) (4.2)
    inst = small_instance(requests=_q0_at_a("2026-12-01T11:00:00Z", "2026-12-01T13:00:00Z"))
    assert check(inst, make_plan(inst, [sortie(inst, "N1", "Q0", 680)], service=50, cost=400)).ok
    assert broken_rules(inst, make_plan(inst, [sortie(inst, "N1", "Q0", 681)], service=50, cost=400)) == {"4.2", "4.6"}


def test_aircraft_available_from_the_horizon_start_may_take_off_at_minute_zero() -> None:
    inst = small_instance(requests=_q0_at_a("2026-12-01T00:00:00Z", "2026-12-01T02:00:00Z"))
    inst = variant(inst, lambda d: aircraft_record(d, "N1").update(available_from="2026-12-01T00:00:00Z"))
    assert check(inst, make_plan(inst, [sortie(inst, "N1", "Q0", 0)], service=50, cost=400)).ok


# -- performance ---------------------------------------------------------------------------------


def week_instance(n_aircraft: int = 240, sorties_per_aircraft: int = 20) -> tuple[Instance, Plan]:
    """A week, 8 bases in 4 sectors with 10 coverage rules each, and a dense hand-laid plan."""
    sectors = [
        {
            "id": f"S{s}",
            "coverage": [
                {
                    "start": f"2026-12-0{1 + k % 7}T00:00:00Z",
                    "end": f"2026-12-0{2 + k % 7}T00:00:00Z",
                    "capability": "eo_ir",
                    "count": 3 + k % 4,
                    "penalty_per_hour": 10,
                }
                for k in range(10)
            ],
        }
        for s in range(4)
    ]
    bases = [{"id": f"B{b}", "sector": f"S{b % 4}", "lat": 30 + b * 0.2, "lon": -110.0} for b in range(8)]
    kind = {"id": "H", "cruise_kt": 120, "endurance_min": 600, "turnaround_min": 30, "capabilities": ["eo_ir"]}
    aircraft = [
        {"id": f"N{i}", "type": "H", "home_base": f"B{i % 8}", "hours_available": 200} for i in range(n_aircraft)
    ]
    requests, sorties = [], []
    for i in range(n_aircraft):
        for k in range(sorties_per_aircraft):
            on = 60 + k * 480 + (i % 7) * 10
            rid = f"R{i}-{k}"
            window = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z"}
            requests.append(
                {
                    "id": rid,
                    "agency": "CBP",
                    "sector": "S0",
                    "lat": 30 + (i % 8) * 0.2,
                    "lon": -110.0,
                    "window": window,
                    "duration_min": 120,
                    "priority": 3,
                    "capabilities": [],
                }
            )
            sorties.append((f"N{i}", f"B{i % 8}", rid, on))
    inst = Instance.model_validate(
        {
            "name": "week",
            "horizon": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z"},
            "sectors": sectors,
            "bases": bases,
            "aircraft_types": [kind],
            "aircraft": aircraft,
            "requests": requests,
        }
    )
    plan = make_plan(inst, [sortie(inst, a, r, on, base=b) for a, b, r, on in sorties])
    return inst, plan


def test_week_long_plan_is_checked_rule_by_rule() -> None:
    inst, plan = week_instance()
    report = check(inst, plan)
    assert report.rules() == {"5-objective"}, report.summary()[:2000]
    assert len(report.coverage) == 40
