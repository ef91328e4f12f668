"""An instance turned into integer minutes and the sortie options the solver may use.

Everything the CP-SAT model and the FCFS baseline share lives here: the
horizon in minutes, each aircraft's availability, maintenance and hour budget,
each request's window, eligibility, and for every (aircraft, request, base)
the sortie geometry (transit out and back, flight length, cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from allocator.domain import Aircraft, AircraftType, Instance, Request
from allocator.timeline import Timeline, dist_nm, ferry_min, merge_intervals, transit_min


@dataclass(frozen=True)
class SortieShape:
    """A sortie of one aircraft for one request from one base, in minutes relative to on-station."""

    aircraft: str
    request: str
    base: str
    out_min: int  # takeoff = on_station - out_min
    back_min: int  # landing = off_station + back_min
    duration_min: int

    @property
    def flight_min(self) -> int:
        return self.out_min + self.duration_min + self.back_min


@dataclass
class Prepared:
    """Minutes-based view of an instance."""

    instance: Instance
    timeline: Timeline = field(init=False)
    horizon_min: int = field(init=False)

    def __post_init__(self) -> None:
        inst = self.instance
        self.timeline = Timeline(inst.horizon.start, inst.horizon.end)
        self.horizon_min = self.timeline.end
        self._types = {t.id: t for t in inst.aircraft_types}
        self._bases = {b.id: b for b in inst.bases}
        self._shapes: dict[tuple[str, str, str], SortieShape] = {}
        self._transits: dict[tuple[str, str, str], int] = {}
        self._distances: dict[tuple[str, str], float] = {}
        self._maintenance: dict[str, list[tuple[int, int]]] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        self._ferries: dict[tuple[str, str, str], int] = {}

    # -- aircraft ---------------------------------------------------------------------------
    def type_of(self, ac: Aircraft) -> AircraftType:
        return self._types[ac.type]

    def available_from(self, ac: Aircraft) -> int:
        """First minute a flight may start (availability and horizon start)."""
        if ac.available_from is None:
            return 0
        return max(0, self.timeline.ceil(ac.available_from))

    def maintenance(self, ac: Aircraft) -> list[tuple[int, int]]:
        """Maintenance windows clipped to the horizon, grown to whole minutes, merged where they overlap or
        touch, sorted."""
        cached = self._maintenance.get(ac.id)
        if cached is None:
            cached = []
            for m in ac.maintenance:
                start = max(0, self.timeline.floor(m.start))
                end = min(self.horizon_min, self.timeline.ceil(m.end))
                if end > start:
                    cached.append((start, end))
            cached = self._maintenance[ac.id] = merge_intervals(cached)
        return list(cached)

    def hours_min(self, ac: Aircraft) -> int:
        """The flight-minute budget: `60 * hours_available`, rounded down."""
        return int(60 * ac.hours_available + 1e-9)

    def ferry(self, ac: Aircraft, origin: str, dest: str) -> int:
        """Shortest relocation flight from base `origin` to base `dest` (SPEC 4.8)."""
        key = (ac.type, origin, dest)
        cached = self._ferries.get(key)
        if cached is None:
            kind = self.type_of(ac)
            a, b = self._bases[origin], self._bases[dest]
            transit = transit_min(dist_nm(a.lat, a.lon, b.lat, b.lon), kind.cruise_kt)
            cached = self._ferries[key] = ferry_min(transit, kind.endurance_min, kind.turnaround_min)
        return cached

    # -- requests ---------------------------------------------------------------------------
    def window(self, req: Request) -> tuple[int, int]:
        """Earliest on-station minute and latest off-station minute, inside the horizon."""
        cached = self._windows.get(req.id)
        if cached is None:
            lo = max(0, self.timeline.ceil(req.window.start))
            hi = min(self.horizon_min, self.timeline.floor(req.window.end))
            cached = self._windows[req.id] = (lo, hi)
        return cached

    def eligible(self, req: Request, kind: AircraftType) -> bool:
        """SPEC 4.1: every required capability, and on the allow-list when there is one."""
        if req.aircraft_types is not None and kind.id not in req.aircraft_types:
            return False
        return set(req.capabilities) <= set(kind.capabilities)

    def shape(self, ac: Aircraft, req: Request, base_id: str) -> SortieShape:
        key = (ac.id, req.id, base_id)
        cached = self._shapes.get(key)
        if cached is None:
            transit = self.transit(self.type_of(ac), req, base_id)
            cached = self._shapes[key] = SortieShape(ac.id, req.id, base_id, transit, transit, req.duration_min)
        return cached

    def transit(self, kind: AircraftType, req: Request, base_id: str) -> int:
        """Minutes from a base to a request's place for an aircraft type (SPEC section 1)."""
        key = (kind.id, req.id, base_id)
        cached = self._transits.get(key)
        if cached is None:
            distance = self._distances.get((req.id, base_id))
            if distance is None:
                base = self._bases[base_id]
                distance = self._distances[(req.id, base_id)] = dist_nm(base.lat, base.lon, req.lat, req.lon)
            cached = self._transits[key] = transit_min(distance, kind.cruise_kt)
        return cached

    def in_range(self, ac: Aircraft, req: Request, base_id: str) -> bool:
        """SPEC 4.4: the sortie fits in the type's endurance."""
        kind = self.type_of(ac)
        return 2 * self.transit(kind, req, base_id) + req.duration_min <= kind.endurance_min

    @cached_property
    def base_ids(self) -> list[str]:
        return [b.id for b in self.instance.bases]

    @cached_property
    def sector_bases(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {s.id: set() for s in self.instance.sectors}
        for b in self.instance.bases:
            out.setdefault(b.sector, set()).add(b.id)
        return out

    def operating_bases(self, ac: Aircraft) -> list[str]:
        """Bases the aircraft could operate from at all: any base if it may relocate, else its home."""
        return list(self.base_ids) if self.max_relocations(ac) > 0 else [ac.home_base]

    def max_relocations(self, ac: Aircraft) -> int:
        return self.instance.policy.max_relocations_per_aircraft if ac.relocatable else 0
