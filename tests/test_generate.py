"""The scenario generator and the bundled instances.

The generator must be deterministic per seed, produce valid instances, respect its options, and
stay calibrated to the public figures documented in `allocator/generate.py`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

import allocator.generate as gen
from allocator.domain import Instance
from allocator.generate import (
    DEFAULT_AIRCRAFT,
    NATIONAL_REQUESTS_PER_AIRCRAFT_DAY,
    REQUESTS_PER_AIRCRAFT_DAY,
    REQUESTS_PER_DAY,
    generate,
)
from allocator.io import load_instance, write_instance
from allocator.timeline import dist_nm

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
HELICOPTERS = {"UH-60", "H125", "EC120"}
ZONES = {
    "TUS": "America/Phoenix",
    "FHU": "America/Phoenix",
    "NYL": "America/Phoenix",
    "LRD": "America/Chicago",
    "DRT": "America/Chicago",
    "MFE": "America/Chicago",
    "UVA": "America/Chicago",
    "NGP": "America/Chicago",
    "HST": "America/New_York",
    "NQX": "America/New_York",
    "VQQ": "America/New_York",
    "XMR": "America/New_York",
    "ELP": "America/Denver",
    "NZY": "America/Los_Angeles",
}


def doc(inst: Instance) -> dict:
    return inst.model_dump(mode="json")


def sector_of(inst: Instance, aircraft_home: str) -> str:
    return inst.base(aircraft_home).sector


# -- determinism and validity ---------------------------------------------------------------------


def test_same_seed_same_instance() -> None:
    assert doc(generate(seed=7)) == doc(generate(seed=7))
    assert doc(generate(seed=3, days=2, extended=True)) == doc(generate(seed=3, days=2, extended=True))


def test_different_seeds_differ() -> None:
    assert doc(generate(seed=1))["requests"] != doc(generate(seed=2))["requests"]


def test_the_global_random_generator_is_left_alone() -> None:
    import random

    random.seed(12345)
    expected = random.random()
    random.seed(12345)
    generate(seed=4)
    assert random.random() == expected


@pytest.mark.parametrize("kwargs", [{}, {"extended": True}, {"days": 3}, {"sectors": ["MIA"]}, {"aircraft": 2}])
def test_result_validates_and_survives_every_file_format(kwargs: dict, tmp_path: Path) -> None:
    inst = generate(seed=11, **kwargs)
    assert doc(Instance.model_validate(inst.model_dump())) == doc(inst)
    for target in ("inst.json", "inst.yaml", "inst-csv"):
        back = load_instance(write_instance(inst, tmp_path / target))
        assert doc(back) == doc(inst), target


def test_every_instant_is_aware_whole_minute_and_inside_the_horizon() -> None:
    inst = generate(seed=5, days=2, extended=True)
    h0, h1 = inst.horizon.start, inst.horizon.end
    for r in inst.requests:
        for t in (r.window.start, r.window.end):
            assert t.utcoffset() is not None and t.second == 0 and t.microsecond == 0
            assert h0 <= t <= h1, r.id
        assert r.submitted_at is not None and r.submitted_at < r.window.start
        assert 30 <= r.duration_min <= 240
    for ac in inst.aircraft:
        for m in ac.maintenance:
            assert h0 <= m.start < m.end <= h1


# -- options -----------------------------------------------------------------------------------------


def test_default_is_the_three_sector_day() -> None:
    inst = generate()
    assert [s.id for s in inst.sectors] == ["AZ", "LRD", "MIA"]
    assert {b.id for b in inst.bases} == {"TUS", "FHU", "NYL", "LRD", "DRT", "MFE", "HST", "NQX"}
    assert len(inst.aircraft) == DEFAULT_AIRCRAFT == 25
    assert len(inst.requests) == REQUESTS_PER_DAY == 80
    assert inst.horizon.end - inst.horizon.start == timedelta(days=1)
    assert inst.horizon.start.isoformat() == "2026-12-01T00:00:00-07:00"


def test_days_scale_requests_and_horizon_not_the_fleet() -> None:
    inst = generate(seed=2, days=3)
    assert inst.horizon.end - inst.horizon.start == timedelta(days=3)
    assert len(inst.aircraft) == 25
    assert len(inst.requests) == 3 * 80
    assert all(len(s.coverage) == 3 for s in inst.sectors)
    hours = {a.id: a.hours_available for a in generate(seed=2).aircraft}
    assert sum(a.hours_available for a in inst.aircraft) > 2 * sum(hours.values())
    assert {(r.window.start - inst.horizon.start).days for r in inst.requests} == {0, 1, 2}


@pytest.mark.parametrize("count", [1, 3, 10, 40, 130])
def test_aircraft_count_is_respected_and_keeps_the_density(count: int) -> None:
    inst = generate(seed=1, aircraft=count)
    assert len(inst.aircraft) == count
    assert len({a.id for a in inst.aircraft}) == count
    assert len(inst.requests) == round(REQUESTS_PER_AIRCRAFT_DAY * count)


@pytest.mark.parametrize("count", [0, 1, 17, 300])
def test_request_count_is_respected(count: int) -> None:
    inst = generate(seed=1, requests=count)
    assert len(inst.requests) == count
    assert len(inst.aircraft) == 25
    assert [r.id for r in inst.requests] == [f"R-{i:04d}" for i in range(1, count + 1)]


def test_sector_selection() -> None:
    inst = generate(seed=3, sectors=["MIA"])
    assert [s.id for s in inst.sectors] == ["MIA"]
    assert {b.id for b in inst.bases} == {"HST", "NQX"}
    assert {r.sector for r in inst.requests} == {"MIA"}
    assert inst.horizon.start.isoformat() == "2026-12-01T00:00:00-05:00"
    both = generate(seed=3, sectors=["LRD", "AZ"])
    assert [s.id for s in both.sectors] == ["LRD", "AZ"]
    assert both.horizon.start.utcoffset() == timedelta(hours=-7)  # midnight of the westernmost sector


def test_extended_adds_the_other_branches_and_the_long_range_fleet() -> None:
    inst = generate(seed=0, extended=True)
    assert [s.id for s in inst.sectors] == ["AZ", "LRD", "MIA", "ELP", "SDC", "CRP", "JAX"]
    assert {b.id for b in inst.bases} == set(ZONES)
    assert inst.base("UVA").sector == "LRD"
    homes = {t: {a.home_base for a in inst.aircraft if a.type == t} for t in ("P-3", "MQ-9")}
    assert homes["P-3"] == {"NGP", "VQQ"}
    assert homes["MQ-9"] == {"FHU", "NGP", "XMR"}
    assert any(r.aircraft_types == ["P-3"] for r in inst.requests)
    default = generate(seed=0)
    assert "P-3" not in {a.type for a in default.aircraft}
    assert {a.home_base for a in default.aircraft if a.type == "MQ-9"} == {"FHU"}
    assert not any("long_range_tracking" in r.capabilities for r in default.requests)


def test_every_base_has_its_iana_time_zone() -> None:
    for inst in (generate(extended=True), generate(sectors=["ELP", "SDC"])):
        assert {b.id: b.timezone for b in inst.bases} == {b.id: ZONES[b.id] for b in inst.bases}


def test_start_date_and_daylight_saving() -> None:
    summer = generate(seed=1, start=date(2026, 7, 4), sectors=["LRD", "MIA"])
    assert summer.horizon.start.isoformat() == "2026-07-04T00:00:00-05:00"  # CDT
    rule = summer.sector("MIA").coverage[0]
    assert rule.start.isoformat() == "2026-07-04T07:00:00-04:00"  # EDT
    winter = generate(seed=1, start=date(2026, 1, 15), sectors=["AZ"])
    assert winter.horizon.start.isoformat() == "2026-01-15T00:00:00-07:00"


@pytest.mark.parametrize(
    "kwargs",
    [{"days": 0}, {"aircraft": 0}, {"requests": -1}, {"sectors": []}, {"sectors": ["XYZ"]}, {"sectors": ["AZ", "AZ"]}],
)
def test_bad_options_are_value_errors(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)


# -- realism ---------------------------------------------------------------------------------------


def test_fleet_is_amo_like() -> None:
    inst = generate(seed=0)
    kinds = Counter(a.type for a in inst.aircraft)
    assert sum(kinds[t] for t in HELICOPTERS) >= 0.7 * len(inst.aircraft)
    assert all(a.id.startswith("N") and a.id.endswith("AM") for a in inst.aircraft)
    assert all(not a.relocatable for a in inst.aircraft if a.type == "MQ-9")
    types = {t.id: t for t in inst.aircraft_types}
    assert types["UH-60"].cruise_kt == 145 and types["UH-60"].cost_per_hour == 6500
    assert types["H125"].endurance_min == 168 and types["MQ-9"].cost_per_hour == 2468
    assert "hoist" in types["UH-60"].capabilities and "sea_search_radar" in types["B350"].capabilities
    for ac in inst.aircraft:
        per_day = ac.hours_available
        assert 0 <= per_day <= (20 if ac.type == "MQ-9" else 12)


def test_fleet_features_appear_across_seeds() -> None:
    fleets = [generate(seed=s) for s in range(6)]
    aircraft = [a for inst in fleets for a in inst.aircraft]
    assert any(a.maintenance for a in aircraft)
    assert any(a.available_from is not None for a in aircraft)
    assert any(not a.relocatable and a.type in HELICOPTERS for a in aircraft)
    requests = [r for inst in fleets for r in inst.requests]
    assert any(r.aircraft_count == 2 and r.agency == "ICE" for r in requests)
    assert any(r.aircraft_types for r in requests)
    assert {r.agency for r in requests} == {"CBP", "ICE"}
    assert any(r.unit.startswith("HSI ") for r in requests)
    assert any(r.unit.startswith("Border Patrol ") for r in requests)


def test_a_cbp_and_an_ice_request_share_a_target_with_overlapping_windows() -> None:
    found = 0
    for seed in range(8):
        inst = generate(seed=seed)
        by_target: dict[str, list] = {}
        for r in inst.requests:
            if r.target:
                by_target.setdefault(r.target, []).append(r)
        for group in by_target.values():
            agencies = {r.agency for r in group}
            if agencies == {"CBP", "ICE"}:
                a, b = group[0], group[1]
                assert a.window.start < b.window.end and b.window.start < a.window.end
                found += 1
    assert found >= 3


def test_requests_are_mostly_within_helicopter_range_of_their_sector() -> None:
    near = total = 0
    for seed in range(5):
        inst = generate(seed=seed)
        for r in inst.requests:
            bases = [b for b in inst.bases if b.sector == r.sector]
            total += 1
            near += min(dist_nm(b.lat, b.lon, r.lat, r.lon) for b in bases) <= 90
    assert 0.85 <= near / total < 1.0


def test_alert_coverage_rule_in_every_sector() -> None:
    inst = generate(seed=0)
    for sector in inst.sectors:
        (rule,) = sector.coverage
        assert rule.capability == "hoist"
        assert rule.count == 1 and rule.penalty_per_hour > 0
        assert rule.end - rule.start == timedelta(hours=12)
        assert rule.start.strftime("%H:%M") == "07:00"


# -- calibration -----------------------------------------------------------------------------------


def test_national_and_scenario_densities() -> None:
    assert pytest.approx(38_662 / 365 / 240) == NATIONAL_REQUESTS_PER_AIRCRAFT_DAY
    assert 0.40 < NATIONAL_REQUESTS_PER_AIRCRAFT_DAY < 0.50
    assert pytest.approx(3.2) == REQUESTS_PER_AIRCRAFT_DAY


@pytest.mark.parametrize("kwargs", [{}, {"days": 2}, {"extended": True}])
def test_default_load_is_in_the_documented_range(kwargs: dict) -> None:
    inst = generate(seed=0, **kwargs)
    days = (inst.horizon.end - inst.horizon.start) / timedelta(days=1)
    density = len(inst.requests) / (len(inst.aircraft) * days)
    assert 2.5 <= density <= 4.0


def test_priority_and_agency_mix() -> None:
    requests = [r for s in range(10) for r in generate(seed=s).requests]
    share = Counter(r.priority for r in requests)
    n = len(requests)
    assert 0.03 <= share[1] / n <= 0.12  # few P1
    assert share[2] + share[3] >= 0.5 * n  # time-sensitive and planned operations dominate
    assert share[5] <= 0.1 * n
    assert 0.15 <= sum(r.agency == "ICE" for r in requests) / n <= 0.35


def test_fcfs_fulfilment_is_near_gao_and_maintenance_is_the_main_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    """GAO-12-518: 73% of air support requests met, maintenance the main reason for the rest."""
    solver = pytest.importorskip("allocator.solver")
    met, met_without_maintenance = [], []
    for seed in range(10):
        inst = generate(seed=seed)
        met.append(1 - len(solver.solve_fcfs_plan(inst).unserved) / len(inst.requests))
        with monkeypatch.context() as m:
            m.setattr(gen, "P_INSPECTION", 0.0)
            m.setattr(gen, "P_GROUNDED", 0.0)
            m.setattr(gen, "P_LATE", 0.0)
            clean = generate(seed=seed)
        assert clean.requests == inst.requests  # the same demand
        met_without_maintenance.append(1 - len(solver.solve_fcfs_plan(clean).unserved) / len(clean.requests))
    with_m, without_m = statistics.mean(met), statistics.mean(met_without_maintenance)
    assert 0.62 <= with_m <= 0.82
    assert without_m - with_m >= (1 - with_m) / 3  # maintenance the largest single cause


# -- bundled instances -----------------------------------------------------------------------------

# instances and CSV instance folders (instances/scenarios/ holds what-if scenarios, not instances)
BUNDLED = sorted(
    p for p in INSTANCES.iterdir() if p.suffix in {".json", ".yaml", ".yml"} or (p.is_dir() and p.name != "scenarios")
)


def test_the_expected_instances_are_bundled() -> None:
    names = {p.name for p in BUNDLED}
    assert {"tiny.yaml", "tiny-csv", "three-sector-day.json", "arizona-surge.yaml"} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_instance_loads(path: Path) -> None:
    inst = load_instance(path)
    assert inst.aircraft
    assert all(b.timezone for b in inst.bases)


def test_tiny_csv_is_tiny_yaml() -> None:
    yaml_inst = load_instance(INSTANCES / "tiny.yaml")
    csv_inst = load_instance(INSTANCES / "tiny-csv")
    assert doc(csv_inst) == doc(yaml_inst)


def test_tiny_is_tiny() -> None:
    inst = load_instance(INSTANCES / "tiny.yaml")
    assert 2 <= len(inst.aircraft) <= 3
    assert 4 <= len(inst.requests) <= 5


def test_three_sector_day_is_generator_seed_27() -> None:
    inst = load_instance(INSTANCES / "three-sector-day.json")
    assert inst.name == "three-sector-day"
    assert [s.id for s in inst.sectors] == ["AZ", "LRD", "MIA"]
    assert (len(inst.aircraft), len(inst.requests)) == (25, 80)
    assert {**doc(generate(seed=27)), "name": "three-sector-day"} == doc(inst)


def test_arizona_surge_sets_up_the_trade_off() -> None:
    inst = load_instance(INSTANCES / "arizona-surge.yaml")
    assert 10 <= len(inst.aircraft) <= 14
    assert 30 <= len(inst.requests) <= 40
    assert inst.horizon.end - inst.horizon.start <= timedelta(days=1)
    (rule,) = inst.sector("LRD").coverage
    assert rule.capability == "hoist" and rule.penalty_per_hour >= 40
    laredo_hoists = [
        a for a in inst.aircraft if sector_of(inst, a.home_base) == "LRD" and "hoist" in inst.type_of(a).capabilities
    ]
    assert len(laredo_hoists) == 2 and all(a.relocatable for a in laredo_hoists)
    arizona = [r for r in inst.requests if r.sector == "AZ"]
    assert len(arizona) > len(inst.requests) / 2
    assert sum(r.priority <= 2 for r in arizona) >= 0.6 * len(arizona)
    arizona_hoists = [
        a for a in inst.aircraft if sector_of(inst, a.home_base) == "AZ" and "hoist" in inst.type_of(a).capabilities
    ]
    assert all(a.maintenance for a in arizona_hoists)  # which is why Tucson needs Laredo's UH-60s
