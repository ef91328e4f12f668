"""Reasons for unserved requests (SPEC section 6, docs/decisions.md "Reasons")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from allocator.domain import Instance
from allocator.result import Reason
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import Clock, explain_unserved, static_reason
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.timeline import Timeline
from factory import aircraft, make, relocating_candidate, request, t

FAR = {"near": "B", "start": "12:00", "end": "18:00"}  # base B is ~650 nm from A


def reason_of(inst: Instance, rid: str) -> Reason | None:
    return static_reason(Prepared(inst), inst.request(rid))


def one(unserved: list, rid: str):
    (found,) = [u for u in unserved if u.request == rid]
    return found


def every_code_instance() -> tuple[Instance, Schedule]:
    """One non-relocatable light helicopter at A (maintenance 14:00-18:00) and a request for each reason."""
    inst = make(
        [aircraft("L1", relocatable=False, maintenance=[{"start": t("14:00"), "end": t("18:00")}])],
        [
            request("R-WIN", start="08:00", end="09:00", priority=1),
            request("R-LOST", start="08:00", end="09:00", priority=3),
            request("R-NOCAP", caps=["hoist"]),
            request("R-FAR", **FAR),
            request("R-MAINT", start="14:30", end="17:00"),
        ],
    )
    return inst, Schedule(sorties=[SortieMin(465, "L1", "R-WIN", "A", 480, 540, 555)])


# -- every code on one hand-built instance ---------------------------------------------------------
def test_every_reason_code_on_a_hand_built_instance():
    inst, schedule = every_code_instance()
    prep = Prepared(inst)
    proven = {u.request: u.reason for u in explain_unserved(prep, schedule, proven=True)}
    assert proven == {
        "R-LOST": Reason.OUTCOMPETED,
        "R-NOCAP": Reason.NO_CAPABLE_TYPE,
        "R-FAR": Reason.OUT_OF_RANGE,
        "R-MAINT": Reason.UNAVAILABLE,
    }
    unproven = {u.request: u.reason for u in explain_unserved(prep, schedule, proven=False)}
    assert unproven["R-LOST"] == Reason.NOT_PROVEN
    assert {k: v for k, v in unproven.items() if k != "R-LOST"} == {k: v for k, v in proven.items() if k != "R-LOST"}


def test_outcompeted_names_the_competitors_in_detail_and_list():
    inst, schedule = every_code_instance()
    lost = one(explain_unserved(Prepared(inst), schedule, proven=True), "R-LOST")
    assert lost.competitors == ["R-WIN"]
    assert "L1 flew R-WIN (P1, CBP)" in lost.detail


def test_not_proven_still_names_the_competitors():
    inst, schedule = every_code_instance()
    lost = one(explain_unserved(Prepared(inst), schedule, proven=False), "R-LOST")
    assert lost.reason == Reason.NOT_PROVEN and lost.competitors == ["R-WIN"]
    assert "solver stopped" in lost.detail and "R-WIN" in lost.detail


def test_not_proven_recorded_in_a_proven_plan_does_not_say_the_solver_stopped():
    inst, schedule = every_code_instance()
    codes = {"R-LOST": Reason.NOT_PROVEN}
    lost = one(explain_unserved(Prepared(inst), schedule, proven=True, codes=codes), "R-LOST")
    assert lost.reason == Reason.NOT_PROVEN and lost.competitors == ["R-WIN"]
    assert "solver stopped" not in lost.detail and "proven optimal" in lost.detail and "R-WIN" in lost.detail


def test_every_unserved_request_appears_once_and_no_served_one():
    inst, schedule = every_code_instance()
    unserved = explain_unserved(Prepared(inst), schedule, proven=True)
    assert sorted(u.request for u in unserved) == sorted({r.id for r in inst.requests} - {"R-WIN"})
    assert all(u.detail for u in unserved)


# -- NO_CAPABLE_TYPE -----------------------------------------------------------------------------------
def test_no_capable_type_when_no_type_has_the_capability():
    inst, _ = every_code_instance()
    assert reason_of(inst, "R-NOCAP") == Reason.NO_CAPABLE_TYPE


def test_no_capable_type_when_fewer_eligible_aircraft_than_needed():
    inst = make([aircraft("M1", "MEDIUM"), aircraft("L1")], [request("R1", caps=["hoist"], aircraft_count=2)])
    assert reason_of(inst, "R1") == Reason.NO_CAPABLE_TYPE
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert "only 1 that qualify (M1)" in unserved.detail


def test_no_capable_type_when_the_allow_list_excludes_the_capable_types():
    inst = make([aircraft("M1", "MEDIUM")], [request("R1", aircraft_types=["LIGHT"])])
    assert reason_of(inst, "R1") == Reason.NO_CAPABLE_TYPE


# -- OUT_OF_RANGE --------------------------------------------------------------------------------------
def test_out_of_range_when_no_base_it_could_operate_from_is_within_endurance():
    inst, _ = every_code_instance()
    assert reason_of(inst, "R-FAR") == Reason.OUT_OF_RANGE
    detail = one(explain_unserved(Prepared(inst), Schedule(), proven=True), "R-FAR").detail
    assert "L1 from A" in detail and "endurance of 180 min" in detail


def test_out_of_range_when_the_policy_allows_no_relocation():
    inst = make([aircraft("L1")], [request("R1", **FAR)], policy={"max_relocations_per_aircraft": 0})
    assert reason_of(inst, "R1") == Reason.OUT_OF_RANGE


def test_out_of_range_when_the_sortie_exceeds_endurance_from_every_base():
    inst = make([aircraft("L1")], [request("R1", north=60, duration=150)])
    assert reason_of(inst, "R1") == Reason.OUT_OF_RANGE


def test_a_relocatable_aircraft_can_reach_a_far_request_by_relocating():
    inst = make([aircraft("L1")], [request("R1", **FAR)])
    assert reason_of(inst, "R1") is None


# -- UNAVAILABLE ---------------------------------------------------------------------------------------
def test_unavailable_when_the_aircraft_is_in_maintenance_during_the_window():
    inst, _ = every_code_instance()
    assert reason_of(inst, "R-MAINT") == Reason.UNAVAILABLE
    detail = one(explain_unserved(Prepared(inst), Schedule(), proven=True), "R-MAINT").detail
    assert "L1 is in maintenance" in detail


def test_unavailable_when_the_hours_budget_is_too_small():
    inst = make([aircraft("L1", hours=1)], [request("R1")])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert "L1 has 60 flight minutes, the sortie takes 90" in unserved.detail


def test_unavailable_when_the_aircraft_becomes_available_after_the_window():
    inst = make([aircraft("L1", available_from=t("12:00"))], [request("R1", start="08:00", end="11:00")])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    assert "available only from" in explain_unserved(Prepared(inst), Schedule(), proven=True)[0].detail


def test_available_from_inside_the_window_still_allows_the_request():
    inst = make([aircraft("L1", available_from=t("09:00"))], [request("R1", start="08:00", end="11:00")])
    assert reason_of(inst, "R1") is None


def test_unavailable_when_the_needed_relocation_cannot_arrive_in_time():
    inst = make([aircraft("L1")], [request("R1", near="B", start="01:00", end="03:00")])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    ferry = Prepared(inst).ferry(inst.aircraft_by_id("L1"), "A", "B")
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert f"L1 cannot be there in time: relocating A->B ({ferry} min) from the horizon start" in unserved.detail
    assert "flight minutes" not in unserved.detail  # 10 hours cover the ferry and the sortie


def test_a_relocation_that_fits_in_time_but_not_in_the_hours_is_blamed_on_the_hours():
    # the ferry to B and the 90-minute sortie fit in the day, not in 6 hours: the detail says hours, not time
    inst = make([aircraft("L1", hours=6)], [request("R1", **FAR)])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    ferry = Prepared(inst).ferry(inst.aircraft_by_id("L1"), "A", "B")
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    expected = f"L1 has 360 flight minutes; relocating A->B ({ferry} min) and the sortie (90 min) take {ferry + 90}"
    assert expected in unserved.detail and "in time" not in unserved.detail


def test_unavailable_when_the_relocation_would_come_before_the_last_maintenance():
    maintenance = [{"start": t("23:00"), "end": t("23:30")}]
    inst = make([aircraft("L1", hours=20, maintenance=maintenance)], [request("R1", **FAR)])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    two = make(
        [aircraft("L1", hours=20, maintenance=maintenance)],
        [request("R1", **FAR)],
        policy={"max_relocations_per_aircraft": 2},
    )
    assert reason_of(two, "R1") is None  # out to B, then back home before the maintenance
    # the maintenance is hours after the window: the cause is SPEC 4.6 with one relocation, not "in maintenance"
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert "L1 must be at its home base A for maintenance from Dec 01 23:00 UTC (SPEC 4.6)" in unserved.detail
    assert "may relocate only once, so it cannot relocate A->B and back before it" in unserved.detail
    assert "is in maintenance" not in unserved.detail


def test_unavailable_when_the_sortie_would_land_after_the_horizon():
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=110)])
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE


def test_unavailable_when_enough_aircraft_are_never_free_at_the_same_minute():
    inst = make(
        [
            aircraft("L1", maintenance=[{"start": t("08:00"), "end": t("10:00")}]),
            aircraft("L2", maintenance=[{"start": t("09:30"), "end": t("13:00")}]),
        ],
        [request("R1", start="08:00", end="12:00", aircraft_count=2)],
    )
    assert reason_of(inst, "R1") == Reason.UNAVAILABLE
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert "needs 2 aircraft at once, but even in an empty plan only L1 can fly it" in unserved.detail


def test_two_aircraft_free_at_one_common_minute_make_it_flyable():
    # L1 is free from 10:00, so on station 10:15 at the earliest.
    inst = make(
        [
            aircraft("L1", maintenance=[{"start": t("08:00"), "end": t("10:00")}]),
            aircraft("L2", maintenance=[{"start": t("11:40"), "end": t("13:00")}]),
        ],
        [request("R1", start="08:00", end="12:00", aircraft_count=2, duration=40)],
    )
    # L2: on station by 11:40 - 30 - 15 - 40 = 10:15 at the latest; L1 from 10:15: one common minute.
    assert reason_of(inst, "R1") is None
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert {s.on_station for s in schedule.sorties} == {615}


# -- competitors ---------------------------------------------------------------------------------------
def test_baseline_competitors_are_only_requests_taken_earlier():
    # R-FIRST spends L1's hours; R-MID needs L1 and L2 together and is lost; R-LATE (after it) then takes L2.
    inst = make(
        [aircraft("L1", hours=1.6), aircraft("L2", hours=1.6)],
        [
            request("R-FIRST", start="08:00", end="09:00", submitted="01:00"),
            request("R-MID", start="08:00", end="12:00", aircraft_count=2, submitted="02:00"),
            request("R-LATE", start="08:00", end="09:00", submitted="03:00"),
        ],
    )
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert schedule.served() == {"R-FIRST", "R-LATE"}
    (mid,) = explain_unserved(prep, schedule, proven=False, baseline=True)
    assert mid.reason == Reason.OUTCOMPETED and mid.competitors == ["R-FIRST"]
    assert "first come first served" in mid.detail
    (mid,) = explain_unserved(prep, schedule, proven=True)
    assert mid.competitors == ["R-FIRST", "R-LATE"]


def test_competitors_are_ranked_by_priority():
    inst = make(
        [aircraft("L1"), aircraft("L2")],
        [
            request("R-A", start="08:00", end="09:00", priority=3),
            request("R-B", start="08:00", end="09:00", priority=1),
            request("R-C", start="08:00", end="09:00", priority=4, aircraft_count=2),
        ],
    )
    schedule = Schedule(
        sorties=[SortieMin(465, "L1", "R-A", "A", 480, 540, 555), SortieMin(465, "L2", "R-B", "A", 480, 540, 555)]
    )
    (lost,) = explain_unserved(Prepared(inst), schedule, proven=True)
    assert lost.competitors == ["R-B", "R-A"]
    assert "L2 flew R-B (P1, CBP); L1 flew R-A (P3, CBP)" in lost.detail


def test_outcompeted_without_competitors_blames_alert_coverage():
    rule = {"start": t("00:00"), "end": t("23:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 6000}
    inst = make([aircraft("L1")], [request("R1")], coverage={"S1": [rule]})
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert unserved.reason == Reason.OUTCOMPETED and unserved.competitors == []
    assert "alert coverage" in unserved.detail


def test_competitors_that_spent_the_hours_are_named_when_nothing_overlaps():
    inst = make(
        [aircraft("L1", hours=1.6)],
        [request("R1", start="08:00", end="09:00", submitted="01:00"), request("R2", start="15:00", end="16:00")],
    )
    schedule = Schedule(sorties=[SortieMin(465, "L1", "R1", "A", 480, 540, 555)])
    (lost,) = explain_unserved(Prepared(inst), schedule, proven=True)
    assert lost.competitors == ["R1"] and "spent their hours" in lost.detail


# -- local times and per-aircraft causes ---------------------------------------------------------------
def zoned(inst: Instance, zones: dict[str, str | None], start: str | None = None) -> Instance:
    """The instance with IANA time zones on its bases (and another horizon start)."""
    data = inst.model_dump(mode="json")
    for b in data["bases"]:
        b["timezone"] = zones.get(b["id"])
    if start is not None:
        data["horizon"]["start"] = start
    return Instance.model_validate(data)


def test_times_are_in_the_local_time_of_the_requests_sector_with_its_zone():
    # horizon in UTC; S2's only base B is in Chicago (CST, UTC-6 in December): 14:00Z is 08:00 CST
    maintenance = [{"start": t("13:00"), "end": t("17:00")}]
    inst = make(
        [aircraft("L1", home="B", maintenance=maintenance)], [request("R1", near="B", start="14:00", end="16:00")]
    )
    inst = zoned(inst, {"A": "America/Phoenix", "A2": "America/Phoenix", "B": "America/Chicago"})
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert unserved.reason == Reason.UNAVAILABLE
    assert "in its window Dec 01 08:00–10:00 CST: L1 is in maintenance Dec 01 07:00–11:00 CST" in unserved.detail
    assert "14:00" not in unserved.detail and "UTC" not in unserved.detail


def test_a_sector_whose_bases_disagree_uses_the_horizon_offset_labelled():
    # S1's bases A and A2 name different zones: the horizon start's offset (-07:00), labelled as such
    inst = make([aircraft("L1", available_from=t("20:00"))], [request("R1", start="14:00", end="16:00")])
    inst = zoned(inst, {"A": "America/Phoenix", "A2": "America/Denver"}, start="2026-12-01T00:00:00-07:00")
    (unserved,) = explain_unserved(Prepared(inst), Schedule(), proven=True)
    assert "window Dec 01 07:00–09:00 UTC-07:00" in unserved.detail
    assert "available only from Dec 01 13:00 UTC-07:00" in unserved.detail


def test_a_span_across_a_change_of_offset_labels_both_ends():
    # Chicago leaves CDT (UTC-5) for CST (UTC-6) at 2026-11-01 02:00 local
    origin = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    clock = Clock(Timeline(origin, origin + timedelta(days=1)), ZoneInfo("America/Chicago"))
    assert clock.span(0, 4 * 60) == "Nov 01 00:00 CDT–03:00 CST"
    assert clock.span(6 * 60, 7 * 60) == "Nov 01 05:00–06:00 CST"
    assert clock.span(22 * 60, 26 * 60) == "Nov 01 21:00–Nov 02 01:00 CST"


# -- competitors and what holds the aircraft ------------------------------------------------------------
def test_competitors_include_an_aircraft_that_would_relocate_to_fly_it():
    # L1 flying from home could do it alone, yet L2 (relocating B->A) could too: its sortie holds it as well
    inst, schedule = relocating_candidate()
    lost = one(explain_unserved(Prepared(inst), schedule, proven=True), "R-LOST")
    assert lost.competitors == ["R-WIN", "R-BWIN"]
    assert "L1 flew R-WIN (P1, CBP); L2 flew R-BWIN (P2, CBP)" in lost.detail


def test_a_relocation_that_takes_the_aircraft_away_is_named_when_no_sortie_holds_it():
    inst = make([aircraft("L1")], [request("R1", start="14:00", end="16:00")])
    prep = Prepared(inst)
    away = RelocationMin(120, "L1", "A", "B", 120 + prep.ferry(inst.aircraft[0], "A", "B"))
    (lost,) = explain_unserved(prep, Schedule(relocations=[away]), proven=False)
    assert lost.competitors == []
    assert "no served sortie holds its aircraft" in lost.detail
    assert "the plan relocates L1 A->B at Dec 01 02:00 UTC" in lost.detail


def test_outcompeted_in_a_tie_does_not_claim_the_winner_scores_higher():
    # R-WIN and R-LOST are worth the same: the proven plan chose one, neither scores higher
    inst = make(
        [aircraft("L1")],
        [request("R-WIN", start="08:00", end="09:00"), request("R-LOST", start="08:00", end="09:00")],
    )
    schedule = Schedule(sorties=[SortieMin(465, "L1", "R-WIN", "A", 480, 540, 555)])
    (lost,) = explain_unserved(Prepared(inst), schedule, proven=True)
    assert lost.reason == Reason.OUTCOMPETED
    assert "score higher" not in lost.detail and "score at least as much" in lost.detail


def test_outcompeted_recorded_in_an_unproven_plan_does_not_claim_the_winners_score_more():
    # a plan from another tool (or the FCFS baseline without its `run.method`) records OUTCOMPETED unproven:
    # here a P3 holds the aircraft of a P1, which no proven plan would do
    inst = make(
        [aircraft("L1", relocatable=False)],
        [request("R-FIRST", start="08:00", end="09:00"), request("R-P1", start="08:00", end="09:00", priority=1)],
    )
    schedule = Schedule(sorties=[SortieMin(465, "L1", "R-FIRST", "A", 480, 540, 555)])
    codes = {"R-P1": Reason.OUTCOMPETED}
    (lost,) = explain_unserved(Prepared(inst), schedule, proven=False, codes=codes)
    assert lost.reason == Reason.OUTCOMPETED and lost.competitors == ["R-FIRST"]
    assert "score higher" not in lost.detail and "score at least as much" not in lost.detail
    assert "not proven optimal" in lost.detail and "L1 flew R-FIRST (P3, CBP)" in lost.detail


def test_one_more_competitor_than_shown_is_one_more_request():
    fleet = [aircraft(f"L{i}") for i in range(1, 7)]
    winners = [request(f"R-W{i}", start="08:00", end="09:00", priority=2) for i in range(1, 7)]
    inst = make(fleet, [*winners, request("R-LOST", start="08:00", end="09:00")])
    schedule = Schedule(sorties=[SortieMin(465, f"L{i}", f"R-W{i}", "A", 480, 540, 555) for i in range(1, 7)])
    (lost,) = explain_unserved(Prepared(inst), schedule, proven=True)
    assert len(lost.competitors) == 6
    assert "; 1 more request around its window" in lost.detail
