"""The first-come-first-served baseline (SPEC section 7, docs/decisions.md).

Every schedule is checked against SPEC section 4 by `violations` below, a small
reading of the rules written for these tests (it does not use allocator/check.py).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from allocator.domain import Instance
from allocator.io.instance_files import load_instance
from allocator.result import Reason
from allocator.solver.fcfs import earliest_common, fcfs_order, solve_fcfs
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import explain_unserved
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from factory import BASES, TYPES, aircraft, make, request, t

TINY = "instances/tiny.yaml"


# -- a small independent reading of SPEC section 4 --------------------------------------------------
def _operating_base(prep: Prepared, ac_id: str, minute: int, schedule: Schedule) -> str:
    """Home base until a relocation lands, then that relocation's `to`."""
    base = prep.instance.aircraft_by_id(ac_id).home_base
    for rel in sorted((r for r in schedule.relocations if r.aircraft == ac_id), key=lambda r: r.landing):
        if rel.landing <= minute:
            base = rel.dest
    return base


def _sortie_violations(prep: Prepared, schedule: Schedule) -> list[str]:
    """Rules 4.1, 4.3 and 4.4 on every sortie, and its window."""
    out = []
    for s in schedule.sorties:
        req = prep.instance.request(s.request)
        lo, hi = prep.window(req)
        if s.off_station - s.on_station != req.duration_min or s.on_station < lo or s.off_station > hi:
            out.append(f"{s}: on station outside its window or wrong duration")
        ac = prep.instance.aircraft_by_id(s.aircraft)
        kind = prep.type_of(ac)
        if not prep.eligible(req, kind):
            out.append(f"{s}: not eligible")
        if s.base != _operating_base(prep, s.aircraft, s.takeoff, schedule):
            out.append(f"{s}: base is not the operating base")
        shape = prep.shape(ac, req, s.base)
        if s.on_station - s.takeoff < shape.out_min or s.landing - s.off_station < shape.back_min:
            out.append(f"{s}: transit too short")
        if s.landing - s.takeoff > kind.endurance_min:
            out.append(f"{s}: beyond endurance")
    return out


def _request_violations(prep: Prepared, schedule: Schedule) -> list[str]:
    """Rule 4.2: all or nothing, distinct aircraft on station together."""
    out = []
    by_request: dict[str, list[SortieMin]] = {}
    for s in schedule.sorties:
        by_request.setdefault(s.request, []).append(s)
    for rid, sorties in by_request.items():
        req = prep.instance.request(rid)
        if len(sorties) != req.aircraft_count or len({s.aircraft for s in sorties}) != len(sorties):
            out.append(f"{rid}: {len(sorties)} sorties for {req.aircraft_count} aircraft")
        if len({(s.on_station, s.off_station) for s in sorties}) != 1:
            out.append(f"{rid}: aircraft not on station together")
    return out


def _aircraft_violations(prep: Prepared, schedule: Schedule) -> list[str]:
    """Rules 4.5 to 4.8 on every aircraft's flights."""
    out = []
    policy_max = prep.instance.policy.max_relocations_per_aircraft
    for ac_id, flights in schedule.by_aircraft().items():
        ac = prep.instance.aircraft_by_id(ac_id)
        kind = prep.type_of(ac)
        turn = kind.turnaround_min
        for prev, nxt in itertools.pairwise(flights):
            if nxt.takeoff < prev.landing + turn:
                out.append(f"{ac_id}: {nxt} takes off within the turnaround of {prev}")
        for f in flights:
            if f.takeoff < max(0, prep.available_from(ac)) or f.landing > prep.horizon_min:
                out.append(f"{ac_id}: {f} outside availability or horizon")
            for m_start, m_end in prep.maintenance(ac):
                if f.takeoff < m_end and f.landing + turn > m_start:
                    out.append(f"{ac_id}: {f} overlaps maintenance")
        for m_start, _ in prep.maintenance(ac):
            if _operating_base(prep, ac_id, m_start, schedule) != ac.home_base:
                out.append(f"{ac_id}: away from home during maintenance")
        if sum(f.landing - f.takeoff for f in flights) > prep.hours_min(ac):
            out.append(f"{ac_id}: over its hours")
        relocations = [f for f in flights if isinstance(f, RelocationMin)]
        if relocations and (not ac.relocatable or len(relocations) > policy_max):
            out.append(f"{ac_id}: too many relocations")
        for r in relocations:
            if r.origin != _operating_base(prep, ac_id, r.takeoff, schedule) or r.dest == r.origin:
                out.append(f"{ac_id}: {r} does not leave from its operating base")
            if r.landing - r.takeoff < prep.ferry(ac, r.origin, r.dest):
                out.append(f"{ac_id}: {r} is faster than the ferry time")
    return out


def violations(prep: Prepared, schedule: Schedule) -> list[str]:
    """Everything in the schedule that breaks SPEC section 4."""
    return (
        _sortie_violations(prep, schedule) + _request_violations(prep, schedule) + _aircraft_violations(prep, schedule)
    )


def plan(inst: Instance) -> tuple[Prepared, Schedule]:
    """FCFS schedule of an instance, checked against SPEC section 4."""
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert violations(prep, schedule) == []
    return prep, schedule


def sortie_of(schedule: Schedule, rid: str) -> SortieMin:
    (s,) = [s for s in schedule.sorties if s.request == rid]
    return s


def minute(hhmm: str) -> int:
    """Minutes since the factory's horizon start (00:00)."""
    hours, minutes = hhmm.split(":")
    return 60 * int(hours) + int(minutes)


# -- order ----------------------------------------------------------------------------------------
def test_fcfs_respects_submitted_at_order_low_priority_first_takes_the_aircraft():
    inst = make(
        [aircraft("L1")],
        [
            request("P1", start="08:00", end="09:00", priority=1, submitted="02:00"),
            request("P5", start="08:00", end="09:00", priority=5, submitted="01:00"),
        ],
    )
    prep, schedule = plan(inst)
    assert schedule.served() == {"P5"}
    (unserved,) = explain_unserved(prep, schedule, proven=False, baseline=True)
    assert unserved.request == "P1" and unserved.reason == Reason.OUTCOMPETED
    assert unserved.competitors == ["P5"]


def test_fcfs_order_puts_missing_submitted_at_last_and_breaks_ties_by_id():
    inst = make(
        [aircraft("L1")],
        [
            request("R3", submitted="01:00"),
            request("R1", submitted_at=None),
            request("R2", submitted="01:00"),
            request("R0", submitted="02:00"),
        ],
    )
    assert [r.id for r in fcfs_order(list(inst.requests))] == ["R2", "R3", "R0", "R1"]


def test_fcfs_never_revisits_an_earlier_decision():
    # R-A (first) could fly 08:00 or 10:00; it takes 08:00 and keeps it, so R-B (only 08:00) is unserved.
    inst = make(
        [aircraft("L1")],
        [
            request("R-A", start="08:00", end="12:00", submitted="01:00"),
            request("R-B", start="08:00", end="09:00", submitted="02:00"),
        ],
    )
    _, schedule = plan(inst)
    assert schedule.served() == {"R-A"}
    assert sortie_of(schedule, "R-A").on_station == minute("08:00")


# -- earliest time, cheapest set ---------------------------------------------------------------------
def transit(prep: Prepared, ac_id: str, rid: str, base: str | None = None) -> int:
    """One-way transit of an aircraft to a request (the factory puts requests 30 nm out: 15 min at 120 kt)."""
    ac = prep.instance.aircraft_by_id(ac_id)
    return prep.shape(ac, prep.instance.request(rid), base or ac.home_base).out_min


def test_fcfs_flies_at_the_window_start_when_the_aircraft_is_free():
    prep, schedule = plan(make([aircraft("L1")], [request("R1", start="08:00", end="12:00")]))
    s = sortie_of(schedule, "R1")
    out = transit(prep, "L1", "R1")
    assert out == 15
    assert (s.takeoff, s.on_station, s.off_station, s.landing) == (480 - out, 480, 540, 540 + out)


def test_fcfs_picks_the_earliest_feasible_time_after_turnaround():
    # R1 08:00-09:00 lands 09:15; turnaround to 09:45; R2 takes off then.
    inst = make(
        [aircraft("L1")],
        [request("R1", start="08:00", end="09:00", submitted="01:00"), request("R2", end="12:00", submitted="02:00")],
    )
    prep, schedule = plan(inst)
    r1, r2 = sortie_of(schedule, "R1"), sortie_of(schedule, "R2")
    assert r1.on_station == minute("08:00")
    assert r2.takeoff == r1.landing + 30
    assert r2.on_station == r2.takeoff + transit(prep, "L1", "R2")


def test_fcfs_prefers_an_earlier_minute_on_a_dearer_aircraft_to_a_later_cheap_one():
    # L1 is busy at 08:00; the MEDIUM is free, so R2 flies at 08:00 on it rather than at 10:00 on L1.
    inst = make(
        [aircraft("L1"), aircraft("M1", "MEDIUM")],
        [request("R1", start="08:00", end="09:00", submitted="01:00"), request("R2", end="12:00", submitted="02:00")],
    )
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R1").aircraft == "L1"
    assert (sortie_of(schedule, "R2").aircraft, sortie_of(schedule, "R2").on_station) == ("M1", minute("08:00"))


def test_fcfs_picks_the_cheapest_aircraft():
    inst = make([aircraft("M1", "MEDIUM"), aircraft("L1"), aircraft("L2", home="A2")], [request("R1")])
    _, schedule = plan(inst)
    # L1 (1200/h, 15 min out) beats L2 (1200/h, 30 min out) and M1 (6000/h).
    assert sortie_of(schedule, "R1").aircraft == "L1"


def test_fcfs_picks_the_cheapest_set_for_a_multi_aircraft_request():
    inst = make(
        [aircraft("M1", "MEDIUM"), aircraft("L2", home="A2"), aircraft("L1")],
        [request("R1", aircraft_count=2)],
    )
    _, schedule = plan(inst)
    sorties = [s for s in schedule.sorties if s.request == "R1"]
    assert {s.aircraft for s in sorties} == {"L1", "L2"}
    assert len({(s.on_station, s.off_station) for s in sorties}) == 1


def test_fcfs_waits_until_enough_aircraft_are_free_at_the_same_minute():
    inst = make(
        [aircraft("L1"), aircraft("L2")],
        [
            request("R1", start="08:00", end="09:00", submitted="01:00"),
            request("R2", start="08:00", end="12:00", aircraft_count=2, submitted="02:00"),
        ],
    )
    prep, schedule = plan(inst)
    free = sortie_of(schedule, "R1").landing + 30 + transit(prep, "L1", "R2")
    assert {s.on_station for s in schedule.sorties if s.request == "R2"} == {free}


def test_earliest_common_needs_count_keys_at_one_minute():
    ranges = {"a": [(0, 10), (20, 30)], "b": [(11, 19), (25, 40)], "c": [(35, 50)]}
    assert earliest_common(ranges, 1) == 0
    assert earliest_common(ranges, 2) == 25
    assert earliest_common(ranges, 3) is None
    assert earliest_common({"a": [(5, 5)], "b": [(5, 9)]}, 2) == 5


# -- SPEC section 4 rules ---------------------------------------------------------------------------
def test_fcfs_never_flies_into_maintenance_or_its_turnaround():
    # Maintenance 08:00-10:00. Before: on station by 06:15 at the latest, before the window; after: 10:15.
    inst = make(
        [aircraft("L1", maintenance=[{"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T10:00:00Z"}])],
        [request("R1", start="07:00", end="12:00")],
    )
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R1").takeoff == minute("10:00")


def test_fcfs_lands_its_turnaround_before_maintenance():
    # Maintenance from 09:00: landing 08:15 + 30 min turnaround = 08:45 fits, so on station 07:00.
    inst = make(
        [aircraft("L1", maintenance=[{"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T23:00:00Z"}])],
        [request("R1", start="07:00", end="12:00")],
    )
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R1").on_station == minute("07:00")


def test_fcfs_respects_the_hours_budget():
    # 1.6 h = 96 minutes; each sortie flies 15 + 60 + 15 = 90 minutes: only the first fits.
    inst = make(
        [aircraft("L1", hours=1.6)],
        [request("R1", submitted="01:00"), request("R2", start="13:00", end="16:00", submitted="02:00")],
    )
    prep, schedule = plan(inst)
    assert schedule.served() == {"R1"}
    (unserved,) = explain_unserved(prep, schedule, proven=False, baseline=True)
    assert unserved.reason == Reason.OUTCOMPETED and unserved.competitors == ["R1"]


def test_fcfs_respects_available_from_and_the_horizon_end():
    inst = make(
        [aircraft("L1", available_from="2026-12-01T09:00:00Z")],
        [request("R1", start="08:00", end="12:00"), request("R2", start="22:00", end="23:59", duration=100)],
    )
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R1").takeoff == minute("09:00")
    assert sortie_of(schedule, "R2").landing <= minute("23:59")


def test_fcfs_does_not_fly_a_sortie_that_would_land_after_the_horizon():
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=110)], end="23:59")
    _, schedule = plan(inst)
    assert schedule.served() == set()


def test_fcfs_flies_a_sortie_landing_exactly_at_the_horizon_end():
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=104)], end="23:59")
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R1").landing == minute("23:59")


def test_fcfs_does_not_fly_a_sortie_landing_one_minute_after_the_horizon_end():
    inst = make([aircraft("L1")], [request("R1", start="22:00", end="23:59", duration=105)], end="23:59")
    _, schedule = plan(inst)
    assert schedule.served() == set()


def _far_from_home(hours: float) -> Instance:
    """L1 stays at A; R1 is 15 minutes from A2 (closest) but 30 from A: 30 + 60 + 30 = 120 flight minutes."""
    return make([aircraft("L1", hours=hours, relocatable=False)], [request("R1", near="A2")])


def test_fcfs_flies_a_sortie_that_uses_the_whole_hours_budget():
    prep, schedule = plan(_far_from_home(2))
    s = sortie_of(schedule, "R1")
    assert s.landing - s.takeoff == prep.hours_min(prep.instance.aircraft_by_id("L1")) == 120


def test_fcfs_does_not_fly_a_sortie_one_minute_over_the_hours_budget():
    _, schedule = plan(_far_from_home(119 / 60))
    assert schedule.served() == set()


# -- surge --------------------------------------------------------------------------------------------
FAR = {"near": "B", "start": "12:00", "end": "18:00"}  # base B is ~650 nm from A: 325 min transit


def test_fcfs_surges_an_aircraft_to_a_base_in_range():
    inst = make([aircraft("L1")], [request("R1", **FAR)])
    prep, schedule = plan(inst)
    s = sortie_of(schedule, "R1")
    (rel,) = schedule.relocations
    assert (rel.origin, rel.dest, s.base) == ("A", "B", "B")
    assert rel.landing - rel.takeoff == prep.ferry(inst.aircraft_by_id("L1"), "A", "B")
    assert s.on_station == minute("12:00")
    assert rel.landing + 30 == s.takeoff  # relocated just in time


def test_fcfs_flies_after_a_surge_from_the_new_base():
    inst = make(
        [aircraft("L1")],
        [request("R1", **FAR, submitted="01:00"), request("R2", near="B", start="15:00", end="20:00")],
    )
    _, schedule = plan(inst)
    assert sortie_of(schedule, "R2").base == "B"
    assert len(schedule.relocations) == 1


def test_fcfs_does_not_surge_a_non_relocatable_aircraft():
    inst = make([aircraft("L1", relocatable=False)], [request("R1", **FAR)])
    prep, schedule = plan(inst)
    assert schedule.served() == set()
    assert explain_unserved(prep, schedule, proven=False, baseline=True)[0].reason == Reason.OUT_OF_RANGE


def test_fcfs_does_not_surge_an_aircraft_with_later_commitments():
    # L1 already flies R-HOME near A in the evening, so it cannot be relocated to B for R-FAR.
    inst = make(
        [aircraft("L1")],
        [
            request("R-HOME", start="20:00", end="21:00", submitted="01:00"),
            request("R-FAR", **FAR, submitted="02:00"),
        ],
    )
    prep, schedule = plan(inst)
    assert schedule.served() == {"R-HOME"} and schedule.relocations == []
    (unserved,) = explain_unserved(prep, schedule, proven=False, baseline=True)
    assert unserved.reason == Reason.OUTCOMPETED and unserved.competitors == ["R-HOME"]


def test_fcfs_surges_only_after_the_last_maintenance_with_one_relocation():
    maintenance = [{"start": "2026-12-01T20:00:00Z", "end": "2026-12-01T21:00:00Z"}]
    inst = make([aircraft("L1", maintenance=maintenance)], [request("R1", **FAR)])
    prep, schedule = plan(inst)
    assert schedule.served() == set()
    assert explain_unserved(prep, schedule, proven=False, baseline=True)[0].reason == Reason.UNAVAILABLE


def test_fcfs_surges_and_returns_home_before_maintenance_with_two_relocations():
    maintenance = [{"start": "2026-12-01T23:00:00Z", "end": "2026-12-01T23:30:00Z"}]
    inst = make(
        [aircraft("L1", hours=20, maintenance=maintenance)],
        [request("R1", near="B", start="08:00", end="14:00")],
        policy={"max_relocations_per_aircraft": 2},
    )
    _, schedule = plan(inst)
    assert schedule.served() == {"R1"}
    assert [(r.origin, r.dest) for r in sorted(schedule.relocations)] == [("A", "B"), ("B", "A")]


# -- the sample instance, random instances, speed --------------------------------------------------
def test_fcfs_plans_the_tiny_instance_validly():
    _, schedule = plan(load_instance(TINY))
    assert schedule.served() == {"R1", "R3", "R4"}
    assert all(s.on_station == 420 for s in schedule.sorties if s.request == "R4")


def _random_instance(seed: int) -> Instance:
    """A day with maintenance, availability, small budgets, multi-aircraft and far-away requests."""
    rng = random.Random(seed)
    fleet = []
    for i in range(rng.randint(2, 6)):
        extra: dict[str, Any] = {"relocatable": rng.random() < 0.7}
        if rng.random() < 0.4:
            start = rng.randint(0, 20)
            extra["maintenance"] = [
                {"start": f"2026-12-01T{start:02d}:00:00Z", "end": f"2026-12-01T{start + rng.randint(1, 3):02d}:30:00Z"}
            ]
        if rng.random() < 0.3:
            extra["available_from"] = f"2026-12-01T{rng.randint(0, 12):02d}:17:00Z"
        kind = rng.choice(["LIGHT", "MEDIUM"])
        fleet.append(aircraft(f"N{i}", kind, rng.choice(["A", "A2", "B"]), hours=rng.choice([2, 4, 8]), **extra))
    requests = []
    for j in range(rng.randint(3, 14)):
        start = rng.randint(0, 20)
        duration = rng.choice([30, 45, 60, 90])
        requests.append(
            request(
                f"R{j:02d}",
                near=rng.choice(["A", "A2", "B"]),
                north=rng.choice([6, 30, 60]),
                start=f"{start:02d}:{rng.choice(['00', '10', '45'])}",
                end=f"{min(23, start + rng.randint(2, 6)):02d}:59",
                duration=duration,
                caps=rng.choice([["eo_ir"], ["hoist"], ["night_vision"]]),
                aircraft_count=rng.choice([1, 1, 1, 2]),
                submitted=f"0{rng.randint(0, 3)}:00",
            )
        )
    return make(fleet, requests, policy={"max_relocations_per_aircraft": rng.choice([0, 1, 2])})


def test_fcfs_never_violates_section_4_on_random_instances():
    served = 0
    for seed in range(150):
        inst = _random_instance(seed)
        prep, schedule = plan(inst)
        served += len(schedule.served())
        unserved = explain_unserved(prep, schedule, proven=False, baseline=True)
        assert {u.request for u in unserved} | schedule.served() == {r.id for r in inst.requests}
    assert served > 100  # the random instances are not trivially empty


def test_fcfs_serves_a_request_alone_exactly_when_no_static_reason_rules_it_out():
    for inst in [*(_random_instance(seed) for seed in range(30)), *(_small_random_instance(s) for s in range(60))]:
        data = inst.model_dump(mode="json", exclude_none=True)
        for req in data["requests"]:
            prep, schedule = plan(Instance.model_validate({**data, "requests": [req]}))
            unserved = explain_unserved(prep, schedule, proven=False, baseline=True)
            assert [u.request for u in unserved] == ([] if schedule.served() else [req["id"]])
            assert all(u.reason in {Reason.NO_CAPABLE_TYPE, Reason.OUT_OF_RANGE, Reason.UNAVAILABLE} for u in unserved)


def week_instance(n_aircraft: int = 240, n_requests: int = 750, seed: int = 7) -> Instance:
    """A week over many bases, for speed."""
    rng = random.Random(seed)
    bases = [dict(b) for b in BASES] + [
        {
            "id": f"X{i}",
            "name": f"X{i}",
            "sector": rng.choice(["S1", "S2"]),
            "lat": 25 + 8 * rng.random(),
            "lon": -115 + 35 * rng.random(),
        }
        for i in range(30)
    ]
    types = [dict(t) for t in TYPES]
    fleet = [
        {
            "id": f"N{i:03d}",
            "type": rng.choice(["LIGHT", "MEDIUM"]),
            "home_base": rng.choice(bases)["id"],
            "hours_available": rng.choice([10, 20, 40]),
            "maintenance": [
                {
                    "start": f"2026-12-0{rng.randint(1, 7)}T{rng.randint(0, 12):02d}:00:00Z",
                    "end": f"2026-12-0{rng.randint(1, 7)}T{rng.randint(13, 23):02d}:00:00Z",
                }
            ]
            if rng.random() < 0.2
            else [],
        }
        for i in range(n_aircraft)
    ]
    for ac in fleet:
        ac["maintenance"] = [m for m in ac["maintenance"] if m["end"] > m["start"]]
    requests = []
    for j in range(n_requests):
        b = rng.choice(bases)
        day, hour = rng.randint(1, 7), rng.randint(0, 20)
        requests.append(
            {
                "id": f"R{j:04d}",
                "agency": rng.choice(["CBP", "ICE"]),
                "sector": b["sector"],
                "lat": b["lat"] + rng.uniform(-1, 1),
                "lon": b["lon"] + rng.uniform(-1, 1),
                "window": {
                    "start": f"2026-12-0{day}T{hour:02d}:00:00Z",
                    "end": f"2026-12-0{day}T{hour + 3:02d}:00:00Z",
                },
                "duration_min": rng.choice([30, 60, 90]),
                "capabilities": [rng.choice(["eo_ir", "hoist", "night_vision"])],
                "aircraft_count": rng.choice([1, 1, 1, 2]),
                "priority": rng.randint(1, 5),
                "submitted_at": f"2026-11-{rng.randint(20, 30)}T{rng.randint(0, 23):02d}:00:00Z",
            }
        )
    return Instance.model_validate(
        {
            "name": "week",
            "horizon": {"start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z"},
            "bases": bases,
            "sectors": [{"id": "S1"}, {"id": "S2"}],
            "aircraft_types": types,
            "aircraft": fleet,
            "requests": requests,
        }
    )


def test_fcfs_plans_a_valid_week_of_750_requests_and_240_aircraft():
    inst = week_instance()
    prep = Prepared(inst)
    schedule = solve_fcfs(prep)
    assert violations(prep, schedule) == []
    assert len(schedule.served()) > 300


# -- a brute-force reference: every minute, every aircraft, checked by `violations` ------------------
def _valid_for(prep: Prepared, ac_id: str, flights: list[SortieMin | RelocationMin]) -> bool:
    """Whether one aircraft's flights obey SPEC section 4 (sortie and aircraft rules)."""
    alone = Schedule(
        sorties=[f for f in flights if isinstance(f, SortieMin)],
        relocations=[f for f in flights if isinstance(f, RelocationMin)],
    )
    return not _sortie_violations(prep, alone) and not _aircraft_violations(prep, alone)


_TRANSIT: dict[tuple[str, str, str, str], tuple[int, int]] = {}


def _sortie_from(prep: Prepared, ac_id: str, rid: str, base: str, on: int) -> SortieMin:
    """The sortie from `base` exactly a transit each way around `on`."""
    key = (prep.instance.name, ac_id, rid, base)
    if key not in _TRANSIT:
        req = prep.instance.request(rid)
        _TRANSIT[key] = prep.shape(prep.instance.aircraft_by_id(ac_id), req, base).out_min, req.duration_min
    out, duration = _TRANSIT[key]
    return SortieMin(on - out, ac_id, rid, base, on, on + duration, on + duration + out)


def _brute_choices(prep: Prepared, schedule: Schedule, ac_id: str, rid: str, on: int) -> list[tuple]:
    """Valid ways for one aircraft to fly a request at minute `on`: direct first, surges only without one."""
    ac = prep.instance.aircraft_by_id(ac_id)
    kind = prep.type_of(ac)
    if not prep.eligible(prep.instance.request(rid), kind):
        return []
    mine = [f for f in [*schedule.sorties, *schedule.relocations] if f.aircraft == ac_id]
    found = []
    for base in prep.base_ids:
        sortie = _sortie_from(prep, ac_id, rid, base, on)
        if _operating_base(prep, ac_id, sortie.takeoff, schedule) != base:
            continue
        if _valid_for(prep, ac_id, [*mine, sortie]):
            found.append((kind.cost_per_hour * (sortie.landing - sortie.takeoff), False, base, [sortie]))
    if found or prep.max_relocations(ac) == 0:
        return found
    for dest in prep.base_ids:
        sortie = _sortie_from(prep, ac_id, rid, dest, on)
        latest = max((f.landing for f in mine), default=None)
        origin = _operating_base(prep, ac_id, 10**9, schedule)
        if dest == origin:
            continue
        ferry = prep.ferry(ac, origin, dest)
        out = RelocationMin(
            sortie.takeoff - kind.turnaround_min - ferry, ac_id, origin, dest, sortie.takeoff - kind.turnaround_min
        )
        if latest is not None and latest + kind.turnaround_min > out.takeoff:
            continue  # surging needs no later commitments
        tries = [[out, sortie]]
        if dest != ac.home_base:
            start = sortie.landing + kind.turnaround_min
            tries.append(
                [
                    out,
                    sortie,
                    RelocationMin(start, ac_id, dest, ac.home_base, start + prep.ferry(ac, dest, ac.home_base)),
                ]
            )
        for extra in tries:
            if _valid_for(prep, ac_id, [*mine, *extra]):
                minutes = sum(f.landing - f.takeoff for f in extra)
                found.append((kind.cost_per_hour * minutes, True, dest, extra))
                break
    return found


def _brute_force_fcfs(prep: Prepared) -> Schedule:
    """FCFS by trying every on-station minute and every aircraft against the rules, one request at a time."""
    _TRANSIT.clear()
    schedule = Schedule()
    for req in fcfs_order(list(prep.instance.requests)):
        lo, hi = prep.window(req)
        for on in range(lo, hi - req.duration_min + 1):
            picks = []
            for ac in prep.instance.aircraft:
                choices = _brute_choices(prep, schedule, ac.id, req.id, on)
                if choices:
                    cost, surge, _, flights = min(choices, key=lambda c: (c[1], c[0], c[2]))
                    picks.append((cost, surge, ac.id, flights))
            if len(picks) >= req.aircraft_count:
                for *_, flights in sorted(picks, key=lambda p: p[:3])[: req.aircraft_count]:
                    schedule.sorties += [f for f in flights if isinstance(f, SortieMin)]
                    schedule.relocations += [f for f in flights if isinstance(f, RelocationMin)]
                break
    schedule.sorties.sort()
    schedule.relocations.sort()
    return schedule


LINE = [{"id": f"C{i}", "name": f"C{i}", "sector": "S1", "lat": 0.0, "lon": float(i)} for i in range(4)]


def _small_random_instance(seed: int) -> Instance:
    """A few aircraft on a line of bases 60 nm apart; long requests reachable only from the nearest base.

    Horizon 04:00-16:00, windows of one to three hours, so that brute force stays quick.
    """
    rng = random.Random(seed)
    fleet = []
    for i in range(rng.randint(2, 4)):
        extra: dict[str, Any] = {"relocatable": rng.random() < 0.8}
        if rng.random() < 0.5:
            start = rng.randint(5, 14)
            extra["maintenance"] = [
                {"start": f"2026-12-01T{start:02d}:00:00Z", "end": f"2026-12-01T{start + 1:02d}:20:00Z"}
            ]
        if rng.random() < 0.3:
            extra["available_from"] = f"2026-12-01T{rng.randint(4, 9):02d}:17:00Z"
        kind, home = rng.choice(["LIGHT", "MEDIUM"]), rng.choice(LINE)["id"]
        fleet.append(aircraft(f"N{i}", kind, home, hours=rng.choice([3, 5, 8]), **extra))
    requests = []
    for j in range(rng.randint(3, 7)):
        start, base = rng.randint(5, 12), rng.choice(LINE)
        requests.append(
            {
                **request(f"R{j}"),
                "lat": rng.choice([0.1, 0.3]),
                "lon": base["lon"],
                "window": {
                    "start": t(f"{start:02d}:{rng.choice(['00', '10', '45'])}"),
                    "end": t(f"{start + rng.randint(2, 3):02d}:30"),
                },
                "duration_min": rng.choice([30, 60, 100]),
                "capabilities": rng.choice([["eo_ir"], ["eo_ir"], ["hoist"]]),
                "aircraft_count": rng.choice([1, 1, 2]),
                "submitted_at": t(f"0{rng.randint(0, 3)}:00"),
            }
        )
    return Instance.model_validate(
        {
            "name": "line",
            "horizon": {"start": t("04:00"), "end": t("16:00")},
            "bases": LINE,
            "sectors": [{"id": "S1"}],
            "aircraft_types": TYPES,
            "aircraft": fleet,
            "requests": requests,
            "policy": {"max_relocations_per_aircraft": rng.choice([0, 1, 2, 2])},
        }
    )


def test_fcfs_equals_a_brute_force_search_over_every_minute_and_aircraft():
    for seed in range(20):
        prep = Prepared(_small_random_instance(seed))
        assert solve_fcfs(prep) == _brute_force_fcfs(prep), f"seed {seed}"
