"""The plan diff, exact on a hand-built pair of plans."""

from __future__ import annotations

import json
from typing import Any

from allocator.diff import diff
from allocator.result import Plan
from factory import aircraft, make, request, t


def sortie(ac: str, req: str, on: str, off: str, base: str = "A", transit: int = 15) -> dict[str, Any]:
    """A sortie `transit` minutes each way (only on_station/off_station matter to the diff)."""
    h, m = map(int, on.split(":"))
    takeoff = f"{(h * 60 + m - transit) // 60:02d}:{(h * 60 + m - transit) % 60:02d}"
    h, m = map(int, off.split(":"))
    landing = f"{(h * 60 + m + transit) // 60:02d}:{(h * 60 + m + transit) % 60:02d}"
    return {
        "aircraft": ac,
        "request": req,
        "base": base,
        "takeoff": t(takeoff),
        "on_station": t(on),
        "off_station": t(off),
        "landing": t(landing),
    }


def plan(sorties: list[dict], relocations: list[dict], coverage: list[dict], service: int, cost: int, **extra) -> Plan:
    return Plan.model_validate(
        {
            "instance": "test",
            "status": "FEASIBLE",
            "objective": {"service": service, "cost": cost},
            "sorties": sorties,
            "relocations": relocations,
            "coverage": coverage,
            **extra,
        }
    )


def cover(sector: str, shortfall: int, penalty: int) -> dict[str, Any]:
    return {"sector": sector, "shortfall_min": shortfall, "penalty": penalty}


BEFORE = plan(
    [
        sortie("N1", "R1", "08:00", "09:00"),  # unchanged
        sortie("N2", "R2", "09:00", "10:00"),  # retimed to 10:00
        sortie("N3", "R3", "08:00", "09:00"),  # N3 retasked to R5; R3 lost
        sortie("N4", "R4", "12:00", "13:00"),  # R4 reassigned to N5
        sortie("N6", "R6", "14:00", "15:00"),  # cancelled: R6 was removed from the instance
    ],
    [
        {"aircraft": "N8", "from": "A", "to": "B", "takeoff": t("06:00"), "landing": t("09:00")},
        {"aircraft": "N9", "from": "A", "to": "A2", "takeoff": t("06:00"), "landing": t("06:30")},
    ],
    [cover("S1", 30, 10), cover("S1", 10, 5), cover("S2", 0, 0)],
    1000,
    5000,
)
AFTER = plan(
    [
        sortie("N1", "R1", "08:00", "09:00"),
        sortie("N2", "R2", "10:00", "11:00"),
        sortie("N3", "R5", "08:30", "09:30"),
        sortie("N5", "R4", "12:00", "13:00"),
        sortie("N7", "R7", "16:00", "17:00"),  # added
    ],
    [
        {"aircraft": "N8", "from": "A", "to": "B", "takeoff": t("07:00"), "landing": t("10:00")},
        {"aircraft": "N9", "from": "A", "to": "A2", "takeoff": t("06:00"), "landing": t("06:30")},
    ],
    [cover("S1", 0, 0), cover("S1", 0, 0), cover("S2", 60, 60)],
    1200,
    4500,
    unserved=[{"request": "R3", "reason": "OUTCOMPETED", "detail": "R5"}],
)
# the changed instance: R6 is gone, R5 and R7 are new
INSTANCE = make(
    [aircraft(f"N{i}") for i in range(1, 10)],
    [request(f"R{i}", priority=p) for i, p in ((1, 3), (2, 3), (3, 4), (4, 2), (5, 1), (7, 5))],
)


def test_the_diff_of_a_hand_built_pair_is_exact():
    d = diff(BEFORE, AFTER, INSTANCE)
    rows = [(s.kind, s.aircraft, s.request, s.new_aircraft, s.new_request) for s in d.sorties]
    assert rows == [
        ("retasked", "N3", "R3", "N3", "R5"),
        ("retimed", "N2", "R2", "N2", "R2"),
        ("reassigned", "N4", "R4", "N5", "R4"),
        ("cancelled", "N6", "R6", None, None),
        ("added", None, None, "N7", "R7"),
    ]
    retimed = d.sorties[1]
    assert (retimed.on_station, retimed.new_on_station) == (BEFORE.sorties[1].on_station, AFTER.sorties[1].on_station)
    assert d.changes == 4 and d.baseline_sorties == 5
    assert d.counts == {"retimed": 1, "retasked": 1, "reassigned": 1, "cancelled": 1, "added": 1}
    assert [(r.request, r.agency, r.sector, r.priority, r.value) for r in d.gained] == [
        ("R5", "CBP", "S1", 1, 1000),
        ("R7", "CBP", "S1", 5, 1),
    ]
    assert [(r.request, r.priority, r.value, r.reason) for r in d.lost] == [
        ("R3", 4, 10, "OUTCOMPETED"),
        ("R6", None, None, "REMOVED"),
    ]
    assert [(r.kind, r.aircraft, r.takeoff.hour) for r in d.relocations] == [("dropped", "N8", 6), ("added", "N8", 7)]
    assert [
        (c.sector, c.shortfall_min_before, c.shortfall_min_after, c.penalty_before, c.penalty_after) for c in d.coverage
    ] == [
        ("S1", 40, 0, 15, 0),
        ("S2", 0, 60, 0, 60),
    ]
    assert (d.service_change, d.cost_change, d.served_before, d.served_after) == (200, -500, 5, 5)


def test_the_diff_of_a_plan_with_itself_is_empty():
    d = diff(BEFORE, BEFORE)
    assert d.changes == 0 and d.sorties == [] and d.relocations == [] and d.gained == [] and d.lost == []
    assert all(c.shortfall_change == 0 for c in d.coverage) and d.service_change == d.cost_change == 0


def test_coverage_entries_of_a_plan_file_in_another_shape_are_left_out_of_the_diff():
    odd = BEFORE.model_copy(update={"coverage": [{"index": 0}, {"sector": "S1", "shortfall_min": "lots"}, 7]})
    d = diff(odd, BEFORE)  # no crash: only well-formed entries count
    assert {c.sector: c.shortfall_min_before for c in d.coverage} == {"S1": 0, "S2": 0}


def test_a_later_sortie_of_the_same_aircraft_is_not_a_retask():
    before = plan([sortie("N1", "R1", "08:00", "09:00")], [], [], 50, 1000)
    after = plan([sortie("N1", "R2", "12:00", "13:00")], [], [], 50, 1000)
    assert [s.kind for s in diff(before, after).sorties] == ["cancelled", "added"]


def test_a_request_flown_by_fewer_aircraft_cancels_the_extra_sortie():
    before = plan([sortie("N1", "R1", "08:00", "09:00"), sortie("N2", "R1", "08:00", "09:00")], [], [], 50, 1000)
    after = plan([sortie("N2", "R1", "08:00", "09:00")], [], [], 50, 500)
    d = diff(before, after)
    assert [(s.kind, s.aircraft) for s in d.sorties] == [("cancelled", "N1")] and d.lost == []


def test_the_diff_as_json_and_as_frames():
    d = diff(BEFORE, AFTER, INSTANCE)
    doc = json.loads(d.to_json())
    assert doc["changes"] == 4 and doc["service_change"] == 200 and doc["cost_change"] == -500
    assert doc["sortie_changes"]["retasked"] == 1
    assert doc["relocations"][0]["from"] == "A" and doc["sorties"][1]["new_on_station"] == "2026-12-01T10:00:00Z"
    assert list(d.sorties_frame()["kind"]) == ["retasked", "retimed", "reassigned", "cancelled", "added"]
    assert list(d.gained_frame()["request"]) == ["R5", "R7"]
    assert list(d.coverage_frame()["shortfall_change"]) == [-40, 60]
    assert str(d.sorties_frame()["on_station"].dtype).startswith("datetime64")
    assert "4 of 5 baseline sorties changed" in d.summary()


def test_a_sortie_whose_request_is_still_served_is_never_cancelled():
    # N2 now flies R1 (N1's request) at the time it flew R2, and R2 is lost: the one new sortie explains
    # both a reassignment of R1 and a retask of N2; it must explain the reassignment, else R1's old sortie
    # would read "cancelled" although R1 is still served
    before = plan([sortie("N1", "R1", "08:00", "09:00"), sortie("N2", "R2", "08:00", "09:00")], [], [], 100, 1000)
    after = plan([sortie("N2", "R1", "08:00", "09:00")], [], [], 50, 500)
    d = diff(before, after)
    assert [(s.kind, s.aircraft, s.request, s.new_aircraft) for s in d.sorties] == [
        ("reassigned", "N1", "R1", "N2"),
        ("cancelled", "N2", "R2", None),
    ]
    assert [r.request for r in d.lost] == ["R2"]


def test_a_bare_baseline_has_its_coverage_shortfall_recomputed_not_read_as_zero():
    # a plan from another tool carries no `coverage`: its shortfall is the checker's on its instance
    rule = {"start": t("08:00"), "end": t("10:00"), "capability": "eo_ir", "count": 2, "penalty_per_hour": 60}
    inst = make([aircraft("H1")], [request("R1")], coverage={"S1": [rule]})
    bare = plan([], [], [], -120, 0)  # H1 alone on alert 08:00-10:00 where two are asked: 120 min short
    d = diff(bare, bare, inst)
    assert [(c.sector, c.shortfall_min_before, c.shortfall_min_after, c.penalty_before) for c in d.coverage] == [
        ("S1", 120, 120, 120)
    ]
    assert diff(bare, bare).coverage == []  # without the instance there is nothing to recompute from
