"""Polishing a plan cut short: an idle ferry at the end of an aircraft's day is dropped when that loses nothing."""

from __future__ import annotations

from datetime import datetime

from allocator.check import check
from allocator.domain import Instance
from allocator.result import SolveStatus
from allocator.solver import _to_plan
from allocator.solver.polish import without_idle_relocations
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.solver.scoring import score
from factory import aircraft, make, request, t


def ferry(prep: Prepared, origin: str, dest: str, takeoff: int) -> RelocationMin:
    minutes = prep.ferry(prep.instance.aircraft[0], origin, dest)
    return RelocationMin(takeoff, "H1", origin, dest, takeoff + minutes)


def sortie(prep: Prepared, rid: str, base: str) -> SortieMin:
    """H1 flies the request (30 nm, 15 minutes out; 60 on station) from the base, on station at 08:00."""
    on = prep.timeline.minutes(datetime.fromisoformat(t("08:00")))
    return SortieMin(on - 15, "H1", rid, base, on, on + 60, on + 75)


def day(**extra) -> Instance:
    return make([aircraft("H1", **extra)], [request("R1"), request("R2", near="A2")])


def test_an_idle_ferry_at_the_end_of_the_day_is_dropped():
    prep = Prepared(day())
    plan = Schedule([sortie(prep, "R1", "A")], [ferry(prep, "A", "A2", 14 * 60)])
    polished = without_idle_relocations(prep, plan)
    assert polished.relocations == [] and polished.sorties == plan.sorties
    assert score(prep, polished).service == score(prep, plan).service
    assert score(prep, polished).cost < score(prep, plan).cost
    for schedule in (plan, polished):
        written = _to_plan(prep, schedule, SolveStatus.FEASIBLE, None, proven=False, baseline=False)
        assert check(prep.instance, written).ok


def test_a_ferry_before_a_sortie_is_kept():
    prep = Prepared(day())
    plan = Schedule([sortie(prep, "R2", "A2")], [ferry(prep, "A", "A2", 0)])
    assert without_idle_relocations(prep, plan).relocations == plan.relocations


def test_a_ferry_home_before_maintenance_is_kept():
    # SPEC 4.6: H1, away at A2, must be home for its maintenance from 20:00
    prep = Prepared(day(maintenance=[{"start": t("20:00"), "end": t("22:00")}]))
    away, home = ferry(prep, "A", "A2", 0), ferry(prep, "A2", "A", 14 * 60)
    plan = Schedule([], [away, home])
    assert without_idle_relocations(prep, plan).relocations == [away, home]


def test_a_ferry_that_keeps_alert_cover_is_kept():
    # S1's rule wants one eo_ir aircraft on alert; moving H1 from B (sector S2) to A serves it
    rule = {"start": t("00:00"), "end": t("23:59"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 600}
    prep = Prepared(make([aircraft("H1", home="B")], [request("R1")], coverage={"S1": [rule]}))
    plan = Schedule([], [ferry(prep, "B", "A", 10 * 60)])
    assert without_idle_relocations(prep, plan).relocations == plan.relocations


def test_a_ferry_to_keep_is_kept():
    prep = Prepared(day())
    idle = ferry(prep, "A", "A2", 14 * 60)
    assert without_idle_relocations(prep, Schedule([], [idle]), keep={idle}).relocations == [idle]
