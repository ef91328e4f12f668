"""A realistic scenario generator for CBP and ICE tactical air operations.

`generate(seed, days, aircraft, requests, sectors, extended, start)` returns a
validated `Instance`. The same arguments always give the same instance: three
private `random.Random` streams seeded from `seed` (fleet, maintenance,
requests), never the global generator, so that a counterfactual fleet without
maintenance meets exactly the same requests. Only public figures are used
(`shared/REFERENCE.md`, which cites its sources).

Geography
    Real airfield coordinates. Default sectors and their branches:
    `AZ` Arizona (Tucson TUS, Sierra Vista FHU, Yuma NYL; America/Phoenix),
    `LRD` Laredo / Del Rio / Rio Grande Valley (Laredo LRD, Del Rio DRT,
    McAllen MFE; America/Chicago), `MIA` Miami (Homestead HST, Key West NQX;
    America/New_York). `extended=True` adds Uvalde (UVA, in `LRD`) and the
    sectors `ELP` El Paso (America/Denver), `SDC` San Diego (North Island NZY,
    America/Los_Angeles), `CRP` Corpus Christi (NGP, America/Chicago) and `JAX`
    Jacksonville (Cecil Field VQQ, Cape Canaveral XMR; America/New_York).
    The horizon is `days` whole days from local midnight of the westernmost
    sector; every instant is written with its sector's local UTC offset.
    Request places are drawn along the border (1-25 nm towards the US side),
    around the cities where HSI works, along the coast or over the sea; about
    97% lie within 90 nm of one of the sector's bases (helicopter range), the
    rest are deliberately far (Phoenix, the western Arizona desert, San
    Antonio, Cay Sal Bank, ...).

Fleet (AMO types; performance as in REFERENCE.md "Fleet")
    UH-60 (145 kt, 138 min, $6,500/h; hoist, medium lift, transport, NVG),
    H125 (120 kt, 168 min, $1,500/h; EO/IR, NVG), EC120 (110 kt, 150 min,
    $1,200/h), King Air 350CER MEA `B350` (270 kt, 330 min, $4,000/h, 2011
    testimony; sea-search radar), PC-12 (260 kt, 360 min, $2,000/h;
    transport), P-3 (320 kt, 720 min, $7,000/h; long-range tracking) and MQ-9
    (200 kt, 1,200 min, $2,468/h, the CBP figure in OIG-15-17; unmanned, with
    the Guardian variant's sea-search radar). Helicopters are about four in
    five aircraft (20 of the default 25). P-3s are based only at Corpus
    Christi and Jacksonville, so without `extended` (or the `CRP`/`JAX`
    sectors) there is no P-3 and no long-range-tracking request; MQ-9s are at
    Sierra Vista, Corpus Christi and Cape Canaveral. Tail numbers are
    `N<sector digit><nn>AM` (AZ 4, LRD 5, MIA 6, ELP 7, SDC 3, CRP 8, JAX 9).
    Crew flight hours per day: H125 6.5-8, UH-60 5.5-7, EC120 6-7, B350 and
    PC-12 7-9, P-3 10-12, MQ-9 16-20 (two crews), times `days`. MQ-9s are not
    relocatable (their ground control stations stay), nor about one helicopter
    in eight (local commitments).

Maintenance (GAO-12-518: the main reason air support requests went unmet)
    Each aircraft, each day: a scheduled inspection of 6-10 h starting between
    06:00 and 10:00 local (probability 0.28), or else an unscheduled grounding
    of 6-30 h (probability 0.08); one aircraft in fourteen is only available
    from late morning of the first day (back from depot). A day's flight hours
    shrink by the share of a 16-hour operating day the aircraft is down. In
    all, maintenance takes about 21% of the fleet's flight hours.

Demand and calibration
    - GAO-12-518 (March 2012): in FY2010 AMO received 38,662 air support
      requests and met 73% of them, with roughly 240 aircraft (CBP, 2020:
      ~240 aircraft at ~70 locations): about 106 requests a day nationally,
      0.44 per aircraft-day averaged over the whole fleet
      (`NATIONAL_REQUESTS_PER_AIRCRAFT_DAY`).
    - AMO flew 73,576 flight hours in FY2013, about 1.9 flight hours per
      request: a generated request's sortie, transit included, averages 1.9
      flight hours too.
    - A generated scenario is a *busy planning day* in high-activity border
      sectors, not the national average: the default three sectors have 25
      aircraft and 80 requests a day (`DEFAULT_AIRCRAFT`, `REQUESTS_PER_DAY`),
      `REQUESTS_PER_AIRCRAFT_DAY` = 3.2 (tests accept 2.5-4). The whole-fleet
      average is far lower because on a given day most of the national fleet
      is in depot maintenance, on northern-border or training duty, or flying
      AMO's own missions; the allocation problem exists where demand meets a
      short supply.
    - The load is set so that the first-come-first-served baseline (SPEC 7,
      the model of the approval chain) meets about 73% of the requests (GAO:
      73%; mean over seeds 0-39 of the default), and so that maintenance is
      the main reason for the rest: with the same requests and a fleet without
      maintenance it meets about 88%, so maintenance accounts for about 16 of
      the 27 missing points; contention for crew hours at night, the late
      submission of urgent requests (rescues arrive 15 min to 2 h ahead and
      come last in FCFS) and range account for the rest.
    - Mix: about 75% of the requests from CBP (Border Patrol sectors, AMO
      branches), 25% from ICE (HSI offices, ERO), the customers GAO-12-518
      names; priorities about 8% P1 (rescue, officer safety), 28% P2, 37% P3,
      22% P4, 5% P5. Missions follow REFERENCE.md "Typical missions": sensor
      response and patrol (EO/IR), night interdiction (NVG), tactical insertion
      (medium lift), desert and sea rescue (hoist), maritime patrol and
      interdiction (sea-search radar, 2-4 h on station), MQ-9 surveillance,
      P-3 long-range tracking, NVG training; ICE investigative surveillance,
      controlled deliveries (a quarter need two aircraft), transport and joint
      operations (two aircraft at dawn). Some requests carry an allow-list
      (`B350`, `MQ-9`, `PC-12`, `H125`, `P-3`). `submitted_at` is 15 minutes
      (rescues) to ten days (training) before the window.
    - Scaling: `days` multiplies the requests, not the fleet; `aircraft` alone
      keeps the density; a sector's requests are proportional to its default
      fleet (Arizona x1.1, Miami x0.9).
    - Deconfliction: about half of the sector-days have a CBP and an ICE
      request naming the same `target` with overlapping windows (DHS
      OIG-07-38: CBP interdicted boats near Miami that ICE was tracking).

Alert coverage
    Each sector keeps one rescue-ready `hoist` helicopter (a UH-60) on alert
    07:00-19:00 local every day, or one `eo_ir` aircraft where its fleet has
    no hoist, at 60 service points per missing aircraft-hour (AZ, LRD), 50
    (MIA), 40 (ELP, SDC) or 30 (CRP, JAX). Sectors have one or two UH-60s,
    which also fly the insertions, transports and rescues, and are in
    maintenance a third of the days: a two-hour sortie of the last UH-60 on
    alert, with its turnaround, costs about 165 in AZ, worth it for a P1
    (1000) or P2 (200), not for a P3 (50). A whole day without one costs 720.
    (An `eo_ir` rule of count 1 never binds: crews fly about 7 of 24 hours,
    so some EO/IR aircraft is always on the ground.)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from allocator.domain import (
    Aircraft,
    AircraftType,
    Base,
    CoverageRule,
    Horizon,
    Instance,
    Maintenance,
    Request,
    Sector,
    Window,
)
from allocator.timeline import dist_nm

__all__ = [
    "AIRCRAFT_TYPES",
    "DEFAULT_AIRCRAFT",
    "DEFAULT_SECTORS",
    "EXTENDED_SECTORS",
    "NATIONAL_REQUESTS_PER_AIRCRAFT_DAY",
    "REQUESTS_PER_AIRCRAFT_DAY",
    "REQUESTS_PER_DAY",
    "generate",
]

# -- calibration (see the module docstring for sources) ---------------------------------------
GAO_REQUESTS_FY2010 = 38_662
GAO_MET_SHARE_FY2010 = 0.73
NATIONAL_FLEET = 240
NATIONAL_REQUESTS_PER_AIRCRAFT_DAY = GAO_REQUESTS_FY2010 / 365 / NATIONAL_FLEET  # ~0.44
DEFAULT_AIRCRAFT = 25
REQUESTS_PER_DAY = 80
REQUESTS_PER_AIRCRAFT_DAY = REQUESTS_PER_DAY / DEFAULT_AIRCRAFT  # 3.2

DEFAULT_START = date(2026, 12, 1)
DEFAULT_SECTORS = ("AZ", "LRD", "MIA")
EXTENDED_SECTORS = ("AZ", "LRD", "MIA", "ELP", "SDC", "CRP", "JAX")

P_INSPECTION = 0.28  # per aircraft-day: scheduled inspection, 6-10 h from 06:00-10:00 local
P_GROUNDED = 0.08  # per aircraft-day: unscheduled maintenance, 6-30 h
P_LATE = 0.07  # aircraft available only from late morning of the first day
OPERATING_DAY_H = 16.0  # a day's flight hours shrink by the share of these hours the aircraft is down
P_NOT_RELOCATABLE = 0.12  # helicopters kept at home (MQ-9s never relocate)
FAR_SHARE = 0.07  # requests placed out of helicopter range on purpose
NEAR_NM = 90.0  # "within helicopter range" of a sector base

# -- aircraft types ---------------------------------------------------------------------------
AIRCRAFT_TYPES: tuple[AircraftType, ...] = (
    AircraftType(
        id="UH-60",
        category="medium_helicopter",
        cruise_kt=145,
        endurance_min=138,
        turnaround_min=45,
        cost_per_hour=6500,
        capabilities=["eo_ir", "hoist", "medium_lift", "night_vision", "surveillance", "transport"],
    ),
    AircraftType(
        id="H125",
        category="light_helicopter",
        cruise_kt=120,
        endurance_min=168,
        turnaround_min=30,
        cost_per_hour=1500,
        capabilities=["eo_ir", "night_vision", "surveillance"],
    ),
    AircraftType(
        id="EC120",
        category="light_helicopter",
        cruise_kt=110,
        endurance_min=150,
        turnaround_min=30,
        cost_per_hour=1200,
        capabilities=["eo_ir", "night_vision", "surveillance"],
    ),
    AircraftType(
        id="B350",
        category="multi_role_enforcement",
        cruise_kt=270,
        endurance_min=330,
        turnaround_min=45,
        cost_per_hour=4000,
        capabilities=["eo_ir", "maritime", "sea_search_radar", "surveillance"],
    ),
    AircraftType(
        id="PC-12",
        category="multi_role",
        cruise_kt=260,
        endurance_min=360,
        turnaround_min=40,
        cost_per_hour=2000,
        capabilities=["eo_ir", "surveillance", "transport"],
    ),
    AircraftType(
        id="P-3",
        category="long_range_tracker",
        cruise_kt=320,
        endurance_min=720,
        turnaround_min=90,
        cost_per_hour=7000,
        capabilities=["eo_ir", "long_range_tracking", "maritime", "sea_search_radar", "surveillance"],
    ),
    AircraftType(
        id="MQ-9",
        category="unmanned",
        cruise_kt=200,
        endurance_min=1200,
        turnaround_min=120,
        cost_per_hour=2468,
        capabilities=["eo_ir", "maritime", "sea_search_radar", "surveillance", "unmanned"],
    ),
)
_HELICOPTERS = frozenset({"UH-60", "H125", "EC120"})
# flight hours per day, by type (one crew shift; MQ-9: two crews)
_HOURS_PER_DAY: dict[str, tuple[float, ...]] = {
    "UH-60": (5.5, 6.0, 6.5, 7.0),
    "H125": (6.5, 7.0, 7.5, 8.0),
    "EC120": (6.0, 6.5, 7.0),
    "B350": (7.0, 8.0, 9.0),
    "PC-12": (7.0, 8.0, 9.0),
    "P-3": (10.0, 12.0),
    "MQ-9": (16.0, 18.0, 20.0),
}


# -- geography --------------------------------------------------------------------------------
Point = tuple[float, float]


@dataclass(frozen=True)
class _BaseSpec:
    id: str
    name: str
    lat: float
    lon: float
    extended_only: bool = False


@dataclass(frozen=True)
class _Place:
    """A named place: an anchor for request locations (city, crossing, coast) or an office."""

    name: str
    lat: float
    lon: float
    jitter_nm: float = 8.0


@dataclass(frozen=True)
class _SectorSpec:
    id: str
    name: str
    timezone: str
    digit: int  # tail-number prefix
    bases: tuple[_BaseSpec, ...]
    fleet: tuple[tuple[str, str], ...]  # (type, base) slots, most essential first
    extra: tuple[tuple[str, str], ...]  # helicopter slots cycled when more aircraft are asked for
    border: tuple[Point, ...]  # polyline along the border (or the coast), west to east
    inland: Point  # unit direction (dlat, dlon) from the line towards the US side
    cities: tuple[_Place, ...]  # where HSI works; interior places
    sea: tuple[tuple[float, float, float, float], ...]  # boxes (lat_lo, lat_hi, lon_lo, lon_hi) offshore
    far: tuple[_Place, ...]  # places beyond helicopter range
    penalty_per_hour: int
    patrol_units: tuple[_Place, ...]  # Border Patrol sectors; a request goes to the nearest
    hsi_units: tuple[_Place, ...]  # HSI offices; likewise
    amo_unit: str
    ero_unit: str
    plate: str  # licence-plate / registration prefix for targets
    weight: float = 1.0  # share of requests relative to the fleet


_SECTORS: dict[str, _SectorSpec] = {
    "AZ": _SectorSpec(
        id="AZ",
        name="Arizona (Tucson and Yuma sectors)",
        timezone="America/Phoenix",
        digit=4,
        bases=(
            _BaseSpec("TUS", "Tucson Air Branch (Davis-Monthan AFB)", 32.1665, -110.8830),
            _BaseSpec("FHU", "Sierra Vista (Libby Army Airfield)", 31.5885, -110.3444),
            _BaseSpec("NYL", "Yuma", 32.6566, -114.6060),
        ),
        fleet=(
            ("H125", "TUS"),
            ("UH-60", "TUS"),
            ("H125", "FHU"),
            ("H125", "NYL"),
            ("MQ-9", "FHU"),
            ("B350", "TUS"),
            ("H125", "TUS"),
            ("EC120", "FHU"),
            ("UH-60", "FHU"),
            ("H125", "TUS"),
            ("EC120", "NYL"),
        ),
        extra=(("H125", "TUS"), ("H125", "FHU"), ("UH-60", "NYL"), ("EC120", "TUS"), ("PC-12", "TUS")),
        border=(
            (32.50, -114.80),
            (32.20, -114.00),
            (31.88, -112.82),
            (31.48, -111.54),
            (31.33, -110.94),
            (31.33, -109.95),
            (31.33, -109.05),
        ),
        inland=(1.0, 0.0),
        cities=(
            _Place("Tucson", 32.22, -110.97),
            _Place("Nogales", 31.37, -110.93, 4),
            _Place("Sells", 31.91, -111.88),
            _Place("Douglas", 31.35, -109.55, 4),
            _Place("Yuma", 32.69, -114.63),
            _Place("Casa Grande", 32.88, -111.76),
        ),
        sea=(),
        far=(
            _Place("Phoenix", 33.45, -112.07),
            _Place("Cabeza Prieta", 32.25, -113.45, 10),
            _Place("Ajo", 32.37, -112.86, 6),
        ),
        penalty_per_hour=60,
        patrol_units=(
            _Place("Border Patrol Tucson Sector", 31.7, -111.2),
            _Place("Border Patrol Yuma Sector", 32.5, -114.3),
        ),
        hsi_units=(
            _Place("HSI Phoenix", 33.45, -112.07),
            _Place("HSI Tucson", 32.22, -110.97),
            _Place("HSI Nogales", 31.34, -110.94),
            _Place("HSI Yuma", 32.69, -114.63),
        ),
        amo_unit="AMO Tucson Air Branch",
        ero_unit="ICE ERO Phoenix",
        plate="AZ",
        weight=1.1,
    ),
    "LRD": _SectorSpec(
        id="LRD",
        name="Laredo, Del Rio and Rio Grande Valley",
        timezone="America/Chicago",
        digit=5,
        bases=(
            _BaseSpec("LRD", "Laredo Air Branch", 27.5438, -99.4616),
            _BaseSpec("DRT", "Del Rio", 29.3742, -100.9272),
            _BaseSpec("MFE", "McAllen Air Branch", 26.1758, -98.2386),
            _BaseSpec("UVA", "Uvalde", 29.2113, -99.7436, extended_only=True),
        ),
        fleet=(
            ("H125", "LRD"),
            ("H125", "MFE"),
            ("UH-60", "MFE"),
            ("H125", "DRT"),
            ("EC120", "LRD"),
            ("UH-60", "LRD"),
            ("H125", "MFE"),
            ("PC-12", "MFE"),
            ("EC120", "DRT"),
            ("H125", "UVA"),
        ),
        extra=(("H125", "LRD"), ("H125", "MFE"), ("EC120", "MFE"), ("UH-60", "DRT"), ("B350", "LRD")),
        border=(
            (29.36, -100.90),
            (28.71, -100.50),
            (27.50, -99.50),
            (26.91, -99.27),
            (26.41, -99.02),
            (26.38, -98.82),
            (26.10, -98.26),
            (25.90, -97.50),
        ),
        inland=(0.6, 0.8),
        cities=(
            _Place("Laredo", 27.53, -99.49),
            _Place("McAllen", 26.20, -98.23),
            _Place("Brownsville", 25.93, -97.48),
            _Place("Eagle Pass", 28.71, -100.48, 5),
            _Place("Falfurrias", 27.23, -98.14, 12),
            _Place("Del Rio", 29.36, -100.90, 5),
        ),
        sea=(),
        far=(_Place("San Antonio", 29.42, -98.49), _Place("Kingsville", 27.52, -97.86)),
        penalty_per_hour=60,
        patrol_units=(
            _Place("Border Patrol Laredo Sector", 27.5, -99.5),
            _Place("Border Patrol Rio Grande Valley Sector", 26.2, -98.2),
            _Place("Border Patrol Del Rio Sector", 29.0, -100.6),
        ),
        hsi_units=(
            _Place("HSI Laredo", 27.53, -99.49),
            _Place("HSI McAllen", 26.20, -98.23),
            _Place("HSI San Antonio", 29.42, -98.49),
            _Place("HSI Del Rio", 29.36, -100.90),
        ),
        amo_unit="AMO Laredo Air Branch",
        ero_unit="ICE ERO San Antonio",
        plate="TX",
    ),
    "MIA": _SectorSpec(
        id="MIA",
        name="Miami",
        timezone="America/New_York",
        digit=6,
        bases=(
            _BaseSpec("HST", "Homestead (Miami Air and Marine Branch)", 25.4886, -80.3836),
            _BaseSpec("NQX", "Key West", 24.5757, -81.6889),
        ),
        fleet=(("H125", "HST"), ("B350", "HST"), ("UH-60", "HST"), ("H125", "NQX"), ("B350", "NQX")),
        extra=(("H125", "HST"), ("EC120", "HST"), ("PC-12", "HST"), ("UH-60", "NQX")),
        border=(
            (24.55, -81.78),
            (24.70, -81.20),
            (24.92, -80.63),
            (25.25, -80.35),
            (25.77, -80.13),
            (26.12, -80.10),
            (26.70, -80.03),
        ),
        inland=(0.0, -1.0),
        cities=(
            _Place("Miami", 25.77, -80.19),
            _Place("Fort Lauderdale", 26.12, -80.14),
            _Place("Homestead", 25.47, -80.48, 5),
            _Place("Key West", 24.56, -81.78, 3),
        ),
        sea=((24.10, 24.50, -81.90, -80.70), (25.00, 26.20, -79.95, -79.45)),
        far=(_Place("Cay Sal Bank", 23.90, -80.40, 10), _Place("Fort Myers", 26.64, -81.87)),
        penalty_per_hour=50,
        patrol_units=(_Place("Border Patrol Miami Sector", 25.77, -80.19),),
        hsi_units=(
            _Place("HSI Miami", 25.77, -80.19),
            _Place("HSI Key West", 24.56, -81.78),
            _Place("HSI Fort Lauderdale", 26.12, -80.14),
        ),
        amo_unit="AMO Miami Air and Marine Branch",
        ero_unit="ICE ERO Miami",
        plate="FL",
        weight=0.9,
    ),
    "ELP": _SectorSpec(
        id="ELP",
        name="El Paso",
        timezone="America/Denver",
        digit=7,
        bases=(_BaseSpec("ELP", "El Paso Air Branch", 31.8072, -106.3778),),
        fleet=(("H125", "ELP"), ("H125", "ELP"), ("UH-60", "ELP"), ("EC120", "ELP"), ("H125", "ELP")),
        extra=(("H125", "ELP"), ("EC120", "ELP")),
        border=((31.33, -108.53), (31.83, -107.64), (31.78, -106.53), (31.30, -105.86)),
        inland=(0.8, 0.6),
        cities=(
            _Place("El Paso", 31.76, -106.49),
            _Place("Las Cruces", 32.32, -106.76),
            _Place("Deming", 32.27, -107.76),
        ),
        sea=(),
        far=(_Place("Antelope Wells", 31.34, -108.53, 5),),
        penalty_per_hour=40,
        patrol_units=(_Place("Border Patrol El Paso Sector", 31.76, -106.49),),
        hsi_units=(_Place("HSI El Paso", 31.76, -106.49), _Place("HSI Las Cruces", 32.32, -106.76)),
        amo_unit="AMO El Paso Air Branch",
        ero_unit="ICE ERO El Paso",
        plate="NM",
    ),
    "SDC": _SectorSpec(
        id="SDC",
        name="San Diego",
        timezone="America/Los_Angeles",
        digit=3,
        bases=(_BaseSpec("NZY", "San Diego (North Island)", 32.6992, -117.2153),),
        fleet=(("H125", "NZY"), ("B350", "NZY"), ("UH-60", "NZY"), ("H125", "NZY"), ("EC120", "NZY")),
        extra=(("H125", "NZY"), ("EC120", "NZY")),
        border=((32.53, -117.12), (32.54, -117.03), (32.57, -116.63), (32.62, -116.19), (32.68, -115.50)),
        inland=(1.0, 0.0),
        cities=(
            _Place("San Diego", 32.72, -117.16),
            _Place("Chula Vista", 32.64, -117.08, 4),
            _Place("El Centro", 32.79, -115.56),
        ),
        sea=((32.30, 33.10, -117.80, -117.35),),
        far=(_Place("San Clemente Island", 32.90, -118.50, 8),),
        penalty_per_hour=40,
        patrol_units=(
            _Place("Border Patrol San Diego Sector", 32.6, -116.9),
            _Place("Border Patrol El Centro Sector", 32.8, -115.6),
        ),
        hsi_units=(_Place("HSI San Diego", 32.72, -117.16), _Place("HSI Calexico", 32.68, -115.50)),
        amo_unit="AMO San Diego Air and Marine Branch",
        ero_unit="ICE ERO San Diego",
        plate="CA",
    ),
    "CRP": _SectorSpec(
        id="CRP",
        name="Corpus Christi",
        timezone="America/Chicago",
        digit=8,
        bases=(_BaseSpec("NGP", "Corpus Christi", 27.6926, -97.2911),),
        fleet=(("P-3", "NGP"), ("MQ-9", "NGP"), ("B350", "NGP"), ("H125", "NGP"), ("UH-60", "NGP")),
        extra=(("H125", "NGP"), ("EC120", "NGP")),
        border=((26.10, -97.17), (26.60, -97.28), (27.20, -97.35), (27.80, -97.05), (28.40, -96.60)),
        inland=(0.0, -1.0),
        cities=(
            _Place("Corpus Christi", 27.80, -97.40),
            _Place("Kingsville", 27.52, -97.86),
            _Place("Port Lavaca", 28.61, -96.63),
        ),
        sea=((26.40, 28.20, -96.90, -96.20),),
        far=(_Place("Houston", 29.76, -95.37), _Place("Western Gulf", 25.50, -95.00, 30)),
        penalty_per_hour=30,
        patrol_units=(_Place("Border Patrol Rio Grande Valley Sector", 26.2, -98.2),),
        hsi_units=(_Place("HSI Corpus Christi", 27.80, -97.40), _Place("HSI Houston", 29.76, -95.37)),
        amo_unit="AMO Corpus Christi Air Branch",
        ero_unit="ICE ERO Houston",
        plate="TX",
    ),
    "JAX": _SectorSpec(
        id="JAX",
        name="Jacksonville",
        timezone="America/New_York",
        digit=9,
        bases=(
            _BaseSpec("VQQ", "Jacksonville (Cecil Field)", 30.2187, -81.8767),
            _BaseSpec("XMR", "Cape Canaveral", 28.4676, -80.5667),
        ),
        fleet=(("P-3", "VQQ"), ("MQ-9", "XMR"), ("H125", "VQQ"), ("B350", "XMR"), ("UH-60", "VQQ"), ("H125", "XMR")),
        extra=(("H125", "VQQ"), ("EC120", "XMR")),
        border=((28.00, -80.52), (28.50, -80.57), (29.20, -80.98), (29.90, -81.28), (30.40, -81.40)),
        inland=(0.0, -1.0),
        cities=(
            _Place("Jacksonville", 30.33, -81.66),
            _Place("Orlando", 28.54, -81.38),
            _Place("Daytona Beach", 29.21, -81.02),
        ),
        sea=((28.20, 30.60, -80.40, -79.70),),
        far=(_Place("Northern Bahamas", 26.90, -78.50, 25),),
        penalty_per_hour=30,
        patrol_units=(_Place("Border Patrol Miami Sector", 25.77, -80.19),),
        hsi_units=(_Place("HSI Jacksonville", 30.33, -81.66), _Place("HSI Orlando", 28.54, -81.38)),
        amo_unit="AMO Jacksonville Air and Marine Branch",
        ero_unit="ICE ERO Miami",
        plate="FL",
    ),
}


# -- missions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mission:
    key: str
    mission: str  # the request's free-text mission
    agency: str  # "CBP" or "ICE"
    land_weight: float  # weight in a land-border sector
    coastal_weight: float  # weight in a sector with sea boxes
    capabilities: tuple[str, ...]
    priorities: dict[int, float]
    duration: tuple[int, int]  # minutes, multiples of 15
    window_h: tuple[float, float]  # window length, hours
    hours: tuple[tuple[int, int], ...]  # local start-hour ranges [lo, hi)
    place: str  # border, city, sea, desert
    notice_h: tuple[float, float]  # submitted this long before the window start
    allow: tuple[tuple[tuple[str, ...], float], ...] = ()  # (allow-list, probability)
    two_aircraft: float = 0.0  # probability of aircraft_count 2
    target: str = ""  # vehicle, vessel, case, address or ""
    target_share: float = 0.0
    needs_type: str = ""  # generated only when the fleet has this type
    unit: str = "cbp"  # cbp, hsi, ero, amo


_DAY = ((6, 17),)
_ANY = ((0, 24),)
_NIGHT = ((18, 24), (0, 4))
# fmt: off
_MISSIONS: tuple[_Mission, ...] = (
    # CBP: Border Patrol sectors and AMO (REFERENCE.md "Typical missions")
    _Mission(
        key="sensor_response", mission="surveillance", agency="CBP", land_weight=22, coastal_weight=8,
        capabilities=("eo_ir",), priorities={2: 0.3, 3: 0.45, 4: 0.25}, duration=(30, 75), window_h=(2, 6),
        hours=((6, 22), (0, 24)), place="border", notice_h=(0.5, 8),
    ),
    _Mission(
        key="interdiction", mission="interdiction", agency="CBP", land_weight=13, coastal_weight=5,
        capabilities=("night_vision",), priorities={1: 0.1, 2: 0.6, 3: 0.3}, duration=(45, 90), window_h=(3, 6),
        hours=_NIGHT, place="border", notice_h=(1, 12), target="vehicle", target_share=0.5,
    ),
    _Mission(
        key="tactical_insertion", mission="tactical_insertion", agency="CBP", land_weight=5, coastal_weight=2,
        capabilities=("medium_lift",), priorities={2: 0.4, 3: 0.6}, duration=(30, 60), window_h=(1.5, 3),
        hours=((4, 8), (17, 21)), place="border", notice_h=(12, 72),
    ),
    _Mission(
        key="desert_rescue", mission="search_and_rescue", agency="CBP", land_weight=6, coastal_weight=0,
        capabilities=("hoist",), priorities={1: 1.0}, duration=(30, 75), window_h=(1.5, 4),
        hours=((7, 19), (0, 24)), place="desert", notice_h=(0.25, 2),
    ),
    _Mission(
        key="sea_rescue", mission="search_and_rescue", agency="CBP", land_weight=0, coastal_weight=4,
        capabilities=("hoist",), priorities={1: 1.0}, duration=(30, 75), window_h=(1.5, 4),
        hours=_ANY, place="sea", notice_h=(0.25, 2),
    ),
    _Mission(
        key="patrol", mission="patrol", agency="CBP", land_weight=12, coastal_weight=6,
        capabilities=("surveillance",), priorities={3: 0.2, 4: 0.8}, duration=(45, 90), window_h=(4, 10),
        hours=((6, 12),), place="border", notice_h=(24, 96),
    ),
    _Mission(
        key="maritime_patrol", mission="maritime_patrol", agency="CBP", land_weight=0, coastal_weight=8,
        capabilities=("sea_search_radar",), priorities={3: 0.5, 4: 0.5}, duration=(120, 240), window_h=(6, 12),
        hours=((6, 14), (18, 20)), place="sea", notice_h=(24, 120),
        allow=((("B350",), 0.3), (("B350", "MQ-9"), 0.2)), unit="amo",
    ),
    _Mission(
        key="maritime_interdiction", mission="interdiction", agency="CBP", land_weight=0, coastal_weight=6,
        capabilities=("sea_search_radar",), priorities={2: 0.7, 3: 0.3}, duration=(60, 180), window_h=(3, 6),
        hours=((18, 24), (0, 6), (6, 18)), place="sea", notice_h=(1, 12), target="vessel", target_share=0.6,
        unit="amo",
    ),
    _Mission(
        key="unmanned_surveillance", mission="surveillance", agency="CBP", land_weight=3, coastal_weight=3,
        capabilities=("eo_ir",), priorities={3: 0.6, 4: 0.4}, duration=(180, 240), window_h=(8, 14),
        hours=_ANY, place="border", notice_h=(24, 120), allow=((("MQ-9",), 1.0),), needs_type="MQ-9",
    ),
    _Mission(
        key="long_range_tracking", mission="long_range_tracking", agency="CBP", land_weight=0, coastal_weight=3,
        capabilities=("long_range_tracking",), priorities={2: 0.5, 3: 0.5}, duration=(180, 240), window_h=(8, 12),
        hours=_ANY, place="far", notice_h=(12, 72), allow=((("P-3",), 1.0),), target="vessel", target_share=1.0,
        needs_type="P-3", unit="amo",
    ),
    _Mission(
        key="training", mission="training", agency="CBP", land_weight=4, coastal_weight=3,
        capabilities=("night_vision",), priorities={5: 1.0}, duration=(60, 90), window_h=(3, 6),
        hours=((17, 22),), place="city", notice_h=(72, 240), allow=((("H125",), 0.5),), unit="amo",
    ),
    # ICE: HSI field offices and ERO
    _Mission(
        key="investigative_surveillance", mission="surveillance", agency="ICE", land_weight=10, coastal_weight=8,
        capabilities=("eo_ir",), priorities={2: 0.25, 3: 0.6, 4: 0.15}, duration=(45, 120), window_h=(3, 8),
        hours=((6, 20),), place="city", notice_h=(12, 96), target="address", target_share=0.8, unit="hsi",
    ),
    _Mission(
        key="controlled_delivery", mission="controlled_delivery", agency="ICE", land_weight=5, coastal_weight=4,
        capabilities=("eo_ir",), priorities={2: 0.6, 3: 0.4}, duration=(45, 120), window_h=(2, 5),
        hours=((8, 22),), place="city", notice_h=(6, 48), two_aircraft=0.25, target="vehicle", target_share=1.0,
        unit="hsi",
    ),
    _Mission(
        key="transport", mission="transport", agency="ICE", land_weight=3, coastal_weight=3,
        capabilities=("transport",), priorities={3: 0.3, 4: 0.7}, duration=(30, 90), window_h=(4, 8),
        hours=((6, 16),), place="city", notice_h=(24, 120), allow=((("PC-12",), 0.3),), unit="ero",
    ),
    _Mission(
        key="joint_operation", mission="joint_operation", agency="ICE", land_weight=2, coastal_weight=2,
        capabilities=("eo_ir", "night_vision"), priorities={2: 0.5, 3: 0.5}, duration=(60, 120), window_h=(2, 4),
        hours=((4, 8),), place="city", notice_h=(24, 96), two_aircraft=1.0, target="case", target_share=1.0,
        unit="hsi",
    ),
)
# fmt: on
_SHAREABLE_CBP = frozenset({"interdiction", "maritime_interdiction", "sensor_response"})
_SHAREABLE_ICE = frozenset({"investigative_surveillance", "controlled_delivery"})


# -- the generator ----------------------------------------------------------------------------
@dataclass
class _Draft:
    """A request before ids are assigned."""

    spec: _Mission
    sector: _SectorSpec
    unit: str
    lat: float
    lon: float
    start: datetime  # UTC
    end: datetime  # UTC
    duration: int
    priority: int
    notice: timedelta
    capabilities: list[str]
    allow: list[str] | None
    count: int
    target: str | None


def generate(
    seed: int = 0,
    days: int = 1,
    aircraft: int | None = None,
    requests: int | None = None,
    sectors: list[str] | None = None,
    extended: bool = False,
    start: date | None = None,
) -> Instance:
    """A realistic, validated instance; the same arguments always give the same instance.

    `sectors` picks sector ids among `EXTENDED_SECTORS` (default: `DEFAULT_SECTORS`, or all of
    them with `extended`); `extended` also adds Uvalde to `LRD`. `aircraft` defaults to the
    sectors' standard fleets (25 for the default three), `requests` to
    `REQUESTS_PER_AIRCRAFT_DAY * aircraft * days`. The horizon is `days` whole days from
    local midnight of the westernmost sector on `start` (default 2026-12-01).
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    chosen = list(sectors) if sectors is not None else list(EXTENDED_SECTORS if extended else DEFAULT_SECTORS)
    if not chosen:
        raise ValueError("at least one sector is needed")
    unknown = [s for s in chosen if s not in _SECTORS]
    if unknown:
        raise ValueError(f"unknown sector '{unknown[0]}' (known: {', '.join(_SECTORS)})")
    if len(set(chosen)) != len(chosen):
        raise ValueError("a sector is listed twice")
    specs = [_SECTORS[s] for s in chosen]
    westernmost = min(specs, key=lambda s: min(b.lon for b in s.bases))
    # three independent streams, so that e.g. a fleet without maintenance meets the same requests
    rng = random.Random(f"fleet/{seed}")
    maintenance_rng = random.Random(f"maintenance/{seed}")
    demand_rng = random.Random(f"requests/{seed}")
    first_day = start or DEFAULT_START

    horizon_start = _at(first_day, 0.0, westernmost.timezone)
    horizon_end = horizon_start + timedelta(days=days)
    horizon = Horizon(start=horizon_start, end=horizon_end)

    def sector_bases(spec: _SectorSpec) -> list[_BaseSpec]:
        return [b for b in spec.bases if extended or not b.extended_only]

    bases = [
        Base(id=b.id, name=b.name, sector=spec.id, lat=b.lat, lon=b.lon, timezone=spec.timezone)
        for spec in specs
        for b in sector_bases(spec)
    ]
    base_ids = {b.id for b in bases}

    def slots(spec: _SectorSpec) -> list[tuple[str, str]]:
        return [slot for slot in spec.fleet if slot[1] in base_ids]

    sizes = {spec.id: len(slots(spec)) for spec in specs}
    n_aircraft = sum(sizes.values()) if aircraft is None else aircraft
    if n_aircraft < 1:
        raise ValueError(f"aircraft must be at least 1, not {n_aircraft}")
    per_sector = _apportion(n_aircraft, [sizes[s.id] for s in specs])

    fleet: list[Aircraft] = []
    for spec, count in zip(specs, per_sector, strict=True):
        pool = slots(spec)
        extra = [slot for slot in spec.extra if slot[1] in base_ids]
        for i in range(count):
            kind, home = pool[i] if i < len(pool) else extra[(i - len(pool)) % len(extra)]
            number = i + 1
            tail = f"N{spec.digit}{number:02d}AM" if number < 100 else f"N{spec.digit}{number}A"
            fleet.append(
                _aircraft(rng, maintenance_rng, tail, kind, home, spec, first_day, days, horizon_start, horizon_end)
            )

    fleet_types = {a.type for a in fleet}
    n_requests = round(REQUESTS_PER_AIRCRAFT_DAY * n_aircraft * days) if requests is None else requests
    if n_requests < 0:
        raise ValueError(f"requests must not be negative, not {n_requests}")
    per_sector_requests = _apportion(n_requests, [sizes[s.id] * s.weight for s in specs])
    drafts: list[_Draft] = []
    for spec, count in zip(specs, per_sector_requests, strict=True):
        bases_here = [(b.lat, b.lon) for b in sector_bases(spec)]
        types_here = {a.type for a in fleet if a.home_base in {b.id for b in spec.bases}}
        missions = [m for m in _MISSIONS if not m.needs_type or m.needs_type in types_here]
        weights = [m.coastal_weight if spec.sea else m.land_weight for m in missions]
        for _ in range(count):
            mission = demand_rng.choices(missions, weights)[0]
            drafts.append(
                _draft(demand_rng, mission, spec, bases_here, fleet_types, first_day, days, horizon_start, horizon_end)
            )
    _share_targets(demand_rng, drafts, days, horizon_start)

    drafts.sort(key=lambda d: (d.start, d.sector.id, d.lat, d.lon))
    request_list = [_request(i + 1, d) for i, d in enumerate(drafts)]

    sector_list = [
        Sector(
            id=spec.id,
            name=spec.name,
            coverage=_coverage(spec, first_day, days, horizon_start, horizon_end, _alert_capability(spec, fleet)),
        )
        for spec in specs
    ]
    used_types = [t for t in AIRCRAFT_TYPES if t.id in fleet_types]
    if sectors is None:
        label = "extended" if extended else "default"
    else:
        label = "-".join(s.id for s in specs).lower() + ("-ext" if extended else "")
    name = f"gen-{label}-{days}d-s{seed}"
    return Instance(
        name=name,
        horizon=horizon,
        bases=bases,
        sectors=sector_list,
        aircraft_types=used_types,
        aircraft=fleet,
        requests=request_list,
    )


# -- helpers ----------------------------------------------------------------------------------
def _at(day: date, hour: float, tz: str) -> datetime:
    """Local wall-clock time `hour` on `day` in zone `tz`, as a fixed-offset datetime."""
    minutes = round(hour * 60)
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)) + timedelta(minutes=minutes)
    local = local.astimezone(ZoneInfo(tz))  # re-normalise across DST changes
    return _fixed(local, tz)


def _fixed(instant: datetime, tz: str) -> datetime:
    """`instant` shown in zone `tz` with a fixed UTC offset (so it serialises as `-07:00`)."""
    local = instant.astimezone(ZoneInfo(tz))
    offset = local.utcoffset() or timedelta(0)
    return local.replace(tzinfo=timezone(offset))


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder, ties to the earlier)."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    mass = sum(weights)
    if mass <= 0:
        weights = [1.0] * len(weights)
        mass = float(len(weights))
    exact = [total * w / mass for w in weights]
    shares = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _aircraft(
    rng: random.Random,
    mrng: random.Random,
    tail: str,
    kind: str,
    home: str,
    spec: _SectorSpec,
    first_day: date,
    days: int,
    h0: datetime,
    h1: datetime,
) -> Aircraft:
    per_day = [rng.choice(_HOURS_PER_DAY[kind]) for _ in range(days)]
    down: list[tuple[datetime, datetime]] = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        draw = mrng.random()
        if draw < P_INSPECTION:
            begin = _at(day, mrng.choice((6.0, 7.0, 8.0, 9.0, 10.0)), spec.timezone)
            end = begin + timedelta(hours=mrng.choice((6, 8, 10)))
        elif draw < P_INSPECTION + P_GROUNDED:
            begin = _at(day, mrng.randrange(0, 96) / 4, spec.timezone)
            end = begin + timedelta(hours=mrng.choice((6, 8, 12, 18, 24, 30)))
        else:
            continue
        begin, end = max(begin, h0), min(end, h1)
        if end <= begin:
            continue
        if down and begin <= down[-1][1]:  # merge with yesterday's grounding
            begin = down.pop()[0]
        down.append((begin, end))
    available_from = None
    if mrng.random() < P_LATE:
        available_from = _at(first_day, mrng.choice((9.0, 10.0, 11.0, 12.0, 13.0)), spec.timezone)
    # the crews' flight hours shrink with the time the aircraft is down (of a 16-hour operating day)
    hours = 0.0
    lost = [*down, (h0, available_from)] if available_from is not None else down
    for d in range(days):
        day_start = _at(first_day + timedelta(days=d), 0.0, spec.timezone)
        day_end = _at(first_day + timedelta(days=d + 1), 0.0, spec.timezone)
        out_h = sum(max(0.0, (min(e, day_end) - max(b, day_start)).total_seconds() / 3600) for b, e in lost)
        hours += per_day[d] * max(0.0, 1.0 - out_h / OPERATING_DAY_H)
    hours = round(hours * 2) / 2
    maintenance = [Maintenance(start=_fixed(b, spec.timezone), end=_fixed(e, spec.timezone)) for b, e in down]
    relocatable = kind != "MQ-9" and not (kind in _HELICOPTERS and rng.random() < P_NOT_RELOCATABLE)
    return Aircraft(
        id=tail,
        type=kind,
        home_base=home,
        available_from=available_from,
        maintenance=maintenance,
        hours_available=hours,
        relocatable=relocatable,
    )


def _alert_capability(spec: _SectorSpec, fleet: list[Aircraft]) -> str:
    """A rescue-ready `hoist` helicopter when the sector has one, else any `eo_ir` aircraft."""
    homes = {b.id for b in spec.bases}
    kinds = {t.id: t for t in AIRCRAFT_TYPES}
    hoist = any(a.home_base in homes and "hoist" in kinds[a.type].capabilities for a in fleet)
    return "hoist" if hoist else "eo_ir"


def _coverage(
    spec: _SectorSpec, first_day: date, days: int, h0: datetime, h1: datetime, capability: str
) -> list[CoverageRule]:
    rules = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        begin = max(_at(day, 7.0, spec.timezone), h0)
        end = min(_at(day, 19.0, spec.timezone), h1)
        if end > begin:
            rules.append(
                CoverageRule(
                    start=_fixed(begin, spec.timezone),
                    end=_fixed(end, spec.timezone),
                    capability=capability,
                    count=1,
                    penalty_per_hour=spec.penalty_per_hour,
                )
            )
    return rules


def _offset(lat: float, lon: float, north_nm: float, east_nm: float) -> Point:
    return lat + north_nm / 60.0, lon + east_nm / (60.0 * math.cos(math.radians(lat)))


def _near(place: _Place, rng: random.Random) -> Point:
    r = place.jitter_nm * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return _offset(place.lat, place.lon, r * math.cos(a), r * math.sin(a))


def _on_line(line: tuple[Point, ...], rng: random.Random) -> Point:
    lengths = [dist_nm(*line[i], *line[i + 1]) for i in range(len(line) - 1)]
    pick = rng.uniform(0, sum(lengths))
    for i, length in enumerate(lengths):
        if pick <= length or i == len(lengths) - 1:
            f = min(1.0, pick / length) if length else 0.0
            (a_lat, a_lon), (b_lat, b_lon) = line[i], line[i + 1]
            return a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon)
        pick -= length
    return line[-1]  # pragma: no cover


def _place(rng: random.Random, kind: str, spec: _SectorSpec, bases: list[Point], far: bool) -> Point:
    """A request location of the given kind; near one of `bases` unless `far`."""
    if far and spec.far:
        return _near(rng.choice(spec.far), rng)
    point: Point = (spec.cities[0].lat, spec.cities[0].lon)
    for _ in range(30):
        if kind == "sea" and spec.sea:
            lat_lo, lat_hi, lon_lo, lon_hi = rng.choice(spec.sea)
            point = (rng.uniform(lat_lo, lat_hi), rng.uniform(lon_lo, lon_hi))
        elif kind == "city" or (kind == "far" and not spec.sea):
            point = _near(rng.choice(spec.cities), rng)
        elif kind == "far":
            point = _near(rng.choice(spec.far), rng) if spec.far else _near(rng.choice(spec.cities), rng)
            return point
        else:  # border or desert: on the line, a few to twenty nm towards the US side
            lat, lon = _on_line(spec.border, rng)
            depth = rng.uniform(1, 20) if kind == "border" else rng.uniform(5, 25)
            point = _offset(lat, lon, depth * spec.inland[0], depth * spec.inland[1])
        if min(dist_nm(*point, *b) for b in bases) <= NEAR_NM:
            break
    return point


def _draft(
    rng: random.Random,
    m: _Mission,
    spec: _SectorSpec,
    bases: list[Point],
    fleet_types: set[str],
    first_day: date,
    days: int,
    h0: datetime,
    h1: datetime,
) -> _Draft:
    far = m.place != "far" and rng.random() < FAR_SHARE
    lat, lon = _place(rng, m.place, spec, bases, far)
    duration = 15 * rng.randint(m.duration[0] // 15, m.duration[1] // 15)
    length = max(duration, 15 * round(rng.uniform(*m.window_h) * 4))
    lo, hi = rng.choice(m.hours)
    day = first_day + timedelta(days=rng.randrange(days))
    begin = _at(day, lo + 0.25 * rng.randrange(max(1, (hi - lo) * 4)), spec.timezone)
    begin = min(max(begin, h0), h1 - timedelta(minutes=length))
    end = begin + timedelta(minutes=length)
    priority = rng.choices(list(m.priorities), list(m.priorities.values()))[0]
    notice = timedelta(minutes=15 * round(rng.uniform(*m.notice_h) * 4))
    allow: list[str] | None = None
    for types, p in m.allow:
        if rng.random() < p:
            allow = [t for t in types if t in fleet_types] or None  # never name a type the fleet lacks
            break
    count = 2 if rng.random() < m.two_aircraft else 1
    target = _target(rng, m.target, spec, (lat, lon)) if m.target and rng.random() < m.target_share else None
    if m.unit == "ero":
        unit = spec.ero_unit
    elif m.unit == "amo":
        unit = spec.amo_unit
    else:
        offices = spec.hsi_units if m.unit == "hsi" else spec.patrol_units
        unit = min(offices, key=lambda o: dist_nm(o.lat, o.lon, lat, lon)).name
    return _Draft(
        spec=m,
        sector=spec,
        unit=unit,
        lat=round(lat, 4),
        lon=round(lon, 4),
        start=begin.astimezone(UTC),
        end=end.astimezone(UTC),
        duration=duration,
        priority=priority,
        notice=notice,
        capabilities=list(m.capabilities),
        allow=allow,
        count=count,
        target=target,
    )


_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_STREETS: dict[str, tuple[str, ...]] = {
    "AZ": ("Calle Sol", "Ocotillo Rd", "Palo Verde Ln", "Mesquite Dr", "Saguaro Ave"),
    "NM": ("Calle Sol", "Mesa St", "Zaragoza Rd", "Montana Ave"),
    "TX": ("Zaragoza St", "Mesquite Dr", "Ranch Rd", "Calle Sol", "Guadalupe St"),
    "FL": ("Bayshore Ave", "Palm Ave", "Coral Way", "Flagler St", "Mangrove Ln"),
    "CA": ("Harbor Dr", "Palm Ave", "Calle Sol", "Otay Mesa Rd"),
}


def _target(rng: random.Random, kind: str, spec: _SectorSpec, near: Point) -> str:
    if kind == "vehicle":
        plate = "".join(rng.choice(_LETTERS) for _ in range(3)) + f"{rng.randrange(1000, 10000)}"
        return f"vehicle {spec.plate} {plate}"
    if kind == "vessel":
        return f"vessel {spec.plate} {rng.randrange(1000, 10000)} {rng.choice(_LETTERS)}{rng.choice(_LETTERS)}"
    if kind == "address":
        street = rng.choice(_STREETS[spec.plate])
        town = min(spec.cities, key=lambda c: dist_nm(c.lat, c.lon, *near)).name
        return f"address {rng.randrange(100, 9999)} {street}, {town}"
    return f"case HSI-{spec.id}-{rng.randrange(2024, 2027)}-{rng.randrange(1, 9999):04d}"


def _share_targets(rng: random.Random, drafts: list[_Draft], days: int, h0: datetime) -> None:
    """About half of the sector-days: a CBP and an ICE request on the same target, windows overlapping."""
    by_day: dict[tuple[str, int], list[_Draft]] = {}
    for d in drafts:
        index = int((d.start - h0).total_seconds() // 86400)
        by_day.setdefault((d.sector.id, min(index, days - 1)), []).append(d)
    for key in sorted(by_day):
        group = by_day[key]
        cbp = [d for d in group if d.spec.key in _SHAREABLE_CBP]
        ice = [d for d in group if d.spec.key in _SHAREABLE_ICE]
        if not cbp or not ice or rng.random() >= 0.5:
            continue
        a, b = rng.choice(cbp), rng.choice(ice)
        target = b.target or _target(rng, "vehicle", b.sector, (b.lat, b.lon))
        a.target = b.target = target
        # CBP picks the subject up while ICE watches it: the windows overlap
        length = a.end - a.start
        a.start = b.start + (b.end - b.start) / 2 - length / 2
        a.start = a.start.replace(second=0, microsecond=0)
        a.start = max(a.start, h0)
        a.end = a.start + length
        if a.end > h0 + timedelta(days=days):
            a.end = h0 + timedelta(days=days)
            a.start = a.end - length


def _request(number: int, d: _Draft) -> Request:
    tz = d.sector.timezone
    return Request(
        id=f"R-{number:04d}",
        agency=d.spec.agency,
        unit=d.unit,
        sector=d.sector.id,
        mission=d.spec.mission,
        lat=d.lat,
        lon=d.lon,
        window=Window(start=_fixed(d.start, tz), end=_fixed(d.end, tz)),
        duration_min=d.duration,
        capabilities=d.capabilities,
        aircraft_types=d.allow,
        aircraft_count=d.count,
        priority=d.priority,
        target=d.target,
        submitted_at=_fixed(d.start - d.notice, tz),
    )
