"""The first-come-first-served baseline (SPEC section 7 as refined in docs/decisions.md).

Requests are taken in `submitted_at` order (missing ones last, ties by id). Each
gets, if it can still be flown, the earliest on-station minute at which
`aircraft_count` distinct eligible aircraft can fly it given every decision
made so far, and at that minute the cheapest set of aircraft. Decisions are
never revisited.

The work is done on exact sets of minutes. For one aircraft and one request,
`AircraftState.options` gives every way to fly it (from the operating base of a
free gap in the aircraft's timeline, or surged by a relocation after its last
commitment) as an inclusive range of on-station minutes. The earliest minute
shared by `aircraft_count` aircraft is found by a sweep over these ranges
(`earliest_common`). `reasons.py` uses the same machinery on an empty plan.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from allocator.domain import Aircraft, AircraftType, Request
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.timeline import dist_nm, transit_min

INF = 1 << 60


@dataclass(frozen=True)
class Option:
    """One way for an aircraft to fly a request, for any on-station minute in `[lo, hi]`."""

    aircraft: str
    lo: int
    hi: int
    base: str  # the base the sortie takes off from and lands at
    out_min: int
    back_min: int
    cost60: float  # cost_per_hour * flight minutes (60 times the dollars), relocations included
    origin: str | None = None  # the base a surge relocation leaves from; None for a direct sortie
    ferry: int = 0  # minutes of the surge relocation
    return_ferry: int = 0  # minutes of the relocation back home (0: none)

    @property
    def surge(self) -> bool:
        return self.origin is not None


@dataclass(frozen=True)
class Gap:
    """A free stretch `[start, end)` of an aircraft's timeline and its operating base there."""

    start: int
    end: int  # INF when nothing follows
    base: str
    after_commitments: bool  # no flight of the aircraft starts after it


@dataclass(frozen=True)
class RequestView:
    """A request in minutes: on-station range and, per eligible type, the bases in range with their transit."""

    request: Request
    lo: int  # earliest on-station minute
    hi: int  # latest on-station minute (inclusive)
    duration: int
    reach: dict[str, dict[str, int]]  # type id -> base id -> transit minutes (in range only)
    transit: dict[str, dict[str, int]]  # type id -> base id -> transit minutes (every base)


class Fleet:
    """Cached geometry shared by every aircraft state: transit to requests and ferry times."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self._ferry: dict[tuple[str, str, str], int] = {}
        self._views: dict[str, RequestView] = {}
        self._fresh: dict[str, AircraftState] = {}
        self.by_type: dict[str, list[Aircraft]] = {}
        for ac in prep.instance.aircraft:
            self.by_type.setdefault(ac.type, []).append(ac)

    def fresh(self, ac: Aircraft) -> AircraftState:
        """The aircraft's state in an empty plan (cached; never commit to it)."""
        if ac.id not in self._fresh:
            self._fresh[ac.id] = AircraftState.fresh(self.prep, ac)
        return self._fresh[ac.id]

    def ferry(self, ac: Aircraft, origin: str, dest: str) -> int:
        """Relocation minutes of this aircraft's type between two bases (cached)."""
        key = (ac.type, origin, dest)
        if key not in self._ferry:
            self._ferry[key] = self.prep.ferry(ac, origin, dest)
        return self._ferry[key]

    def view(self, req: Request) -> RequestView:
        """The request's minutes and reach per eligible type (cached)."""
        if req.id not in self._views:
            self._views[req.id] = self._make_view(req)
        return self._views[req.id]

    def _make_view(self, req: Request) -> RequestView:
        """Window in minutes and the in-range bases of every eligible type."""
        lo, end = self.prep.window(req)
        reach: dict[str, dict[str, int]] = {}
        transit: dict[str, dict[str, int]] = {}
        for kind in self.prep.instance.aircraft_types:
            if self.prep.eligible(req, kind):
                transit[kind.id] = _transits(self.prep, kind, req)
                reach[kind.id] = {
                    b: t for b, t in transit[kind.id].items() if 2 * t + req.duration_min <= kind.endurance_min
                }
        return RequestView(req, lo, end - req.duration_min, req.duration_min, reach, transit)


def _transits(prep: Prepared, kind: AircraftType, req: Request) -> dict[str, int]:
    """One-way transit minutes of a type from every base to the request."""
    return {
        base.id: transit_min(dist_nm(base.lat, base.lon, req.lat, req.lon), kind.cruise_kt)
        for base in prep.instance.bases
    }


@dataclass
class AircraftState:
    """One aircraft's commitments so far: flights as blocked stretches, hours and relocations used."""

    aircraft: Aircraft
    turnaround: int
    available_from: int
    budget: int
    max_relocations: int
    cost_per_hour: float
    maintenance: list[tuple[int, int]]
    flights: list[tuple[int, int, str | None]] = field(default_factory=list)  # (takeoff, landing+turn, new base)
    hours_used: int = 0
    relocations_used: int = 0
    bases: set[str] = field(default_factory=set)  # every operating base it has had
    _gaps: list[Gap] | None = None
    _gap_ends: list[int] = field(default_factory=list)

    @classmethod
    def fresh(cls, prep: Prepared, ac: Aircraft) -> AircraftState:
        """The aircraft in an empty plan."""
        kind = prep.type_of(ac)
        return cls(
            aircraft=ac,
            turnaround=kind.turnaround_min,
            available_from=prep.available_from(ac),
            budget=prep.hours_min(ac),
            max_relocations=prep.max_relocations(ac),
            cost_per_hour=kind.cost_per_hour,
            maintenance=prep.maintenance(ac),
            bases={ac.home_base},
        )

    @property
    def hours_left(self) -> int:
        return self.budget - self.hours_used

    def gaps(self) -> list[Gap]:
        """Free stretches between availability, maintenance and flights (with turnaround), in time order."""
        if self._gaps is None:
            self._gaps = self._compute_gaps()
            self._gap_ends = [g.end for g in self._gaps]
        return self._gaps

    def _compute_gaps(self) -> list[Gap]:
        """Walk the blocked stretches in order, tracking the operating base."""
        blocks = sorted([(s, e, None) for s, e in self.maintenance] + self.flights, key=lambda b: (b[0], b[1]))
        last_flight_end = max((e for _, e, _ in self.flights), default=0)
        base, cursor, gaps = self.aircraft.home_base, self.available_from, []
        for start, end, new_base in blocks:
            if start > cursor:
                gaps.append(Gap(cursor, start, base, cursor >= last_flight_end))
            cursor = max(cursor, end)
            base = new_base or base
        gaps.append(Gap(cursor, INF, base, cursor >= last_flight_end))
        return gaps

    def options(self, view: RequestView, fleet: Fleet, horizon: int) -> list[Option]:
        """Every way this aircraft can still fly the request, as ranges of on-station minutes."""
        return self.direct_options(view, horizon) + self.surge_options(view, fleet, horizon)

    def _relevant_gaps(self, view: RequestView) -> list[Gap]:
        """Gaps that could hold an on-station minute of the request (end after its start, start before its end)."""
        gaps = self.gaps()
        first = bisect.bisect_right(self._gap_ends, view.lo)
        last = first
        while last < len(gaps) and gaps[last].start <= view.hi:
            last += 1
        return gaps[first:last]

    def direct_options(self, view: RequestView, horizon: int) -> list[Option]:
        """Sorties from the operating base of each free gap."""
        reach = view.reach.get(self.aircraft.type)
        if not reach or view.hi < view.lo or self.bases.isdisjoint(reach):
            return []
        found = (self._direct(gap, view, reach, horizon) for gap in self._relevant_gaps(view))
        return [o for o in found if o is not None]

    def surge_options(self, view: RequestView, fleet: Fleet, horizon: int) -> list[Option]:
        """Sorties after a relocation, in gaps after the last commitment (SPEC 4.8, decisions.md)."""
        reach = view.reach.get(self.aircraft.type)
        if not reach or view.hi < view.lo or self.relocations_used >= self.max_relocations:
            return []
        found: list[Option] = []
        for gap in self._relevant_gaps(view):
            if gap.after_commitments:
                found.extend(self._surges(gap, view, reach, fleet, horizon))
        return found

    def surge_floor(self, view: RequestView) -> int | None:
        """A lower bound on the on-station minute of any surge, or None when no surge is possible.

        A relocation to base b then the transit out take at least the direct transit minus one minute
        (triangle inequality, one minute for rounding).
        """
        reach = view.reach.get(self.aircraft.type)
        if not reach or view.hi < view.lo or self.relocations_used >= self.max_relocations:
            return None
        for gap in self._relevant_gaps(view):
            if gap.after_commitments:
                return max(view.lo, gap.start + self.turnaround + view.transit[self.aircraft.type][gap.base] - 1)
        return None

    def surge_cost_floor(self, view: RequestView) -> float:
        """A lower bound on the cost (x60) of any surge from the base after its last commitment."""
        kind = self.aircraft.type
        base = self.gaps()[-1].base
        nearest = min(view.reach[kind].values())
        return self.cost_per_hour * (view.transit[kind][base] - 1 + nearest + view.duration)

    def _direct(self, gap: Gap, view: RequestView, reach: dict[str, int], horizon: int) -> Option | None:
        """A sortie from the gap's operating base, when in range and it fits the gap, horizon and hours."""
        transit = reach.get(gap.base)
        if transit is None:
            return None
        flight = 2 * transit + view.duration
        if flight > self.hours_left:
            return None
        lo = max(view.lo, gap.start + transit)
        hi = min(view.hi, horizon - view.duration - transit, gap.end - self.turnaround - view.duration - transit)
        if lo > hi:
            return None
        return Option(self.aircraft.id, lo, hi, gap.base, transit, transit, self.cost_per_hour * flight)

    def _surges(self, gap: Gap, view: RequestView, reach: dict[str, int], fleet: Fleet, horizon: int) -> list[Option]:
        """Sorties from another base in range, reached by a relocation (and back home before maintenance)."""
        found = []
        home = self.aircraft.home_base
        for dest, transit in reach.items():
            if dest == gap.base:
                continue
            needs_return = dest != home and gap.end < INF
            if self.relocations_used + 1 + needs_return > self.max_relocations:
                continue
            ferry = fleet.ferry(self.aircraft, gap.base, dest)
            back_home = fleet.ferry(self.aircraft, dest, home) if needs_return else 0
            flight = 2 * transit + view.duration
            if ferry + back_home + flight > self.hours_left:
                continue
            lo = max(view.lo, gap.start + ferry + self.turnaround + transit)
            tail = self.turnaround + (back_home + self.turnaround if needs_return else 0)
            hi = min(view.hi, horizon - view.duration - transit, gap.end - tail - view.duration - transit)
            if lo <= hi:
                cost = self.cost_per_hour * (ferry + back_home + flight)
                found.append(Option(self.aircraft.id, lo, hi, dest, transit, transit, cost, gap.base, ferry, back_home))
        return found

    def commit(self, option: Option, on_station: int, view: RequestView) -> tuple[SortieMin, list[RelocationMin]]:
        """Fly the request at `on_station` with this option; record the flights and return them."""
        takeoff = on_station - option.out_min
        off_station = on_station + view.duration
        landing = off_station + option.back_min
        sortie = SortieMin(takeoff, self.aircraft.id, view.request.id, option.base, on_station, off_station, landing)
        relocations = []
        if option.origin is not None:
            start = takeoff - self.turnaround - option.ferry  # just in time
            relocations.append(RelocationMin(start, self.aircraft.id, option.origin, option.base, start + option.ferry))
        self._block(takeoff, landing, None)
        if option.return_ferry:
            start = landing + self.turnaround
            home = self.aircraft.home_base
            relocations.append(RelocationMin(start, self.aircraft.id, option.base, home, start + option.return_ferry))
        for rel in relocations:
            self._block(rel.takeoff, rel.landing, rel.dest)
            self.bases.add(rel.dest)
        self.relocations_used += len(relocations)
        return sortie, relocations

    def _block(self, takeoff: int, landing: int, new_base: str | None) -> None:
        """Record a flight: it blocks the aircraft until its turnaround ends and uses hours."""
        self.flights.append((takeoff, landing + self.turnaround, new_base))
        self.hours_used += landing - takeoff
        self._gaps = None


def option_at(options: list[Option], minute: int) -> Option | None:
    """The option to use at a minute: a direct sortie when there is one, else the cheapest surge."""
    usable = [o for o in options if o.lo <= minute <= o.hi]
    if not usable:
        return None
    return min(usable, key=lambda o: (o.surge, o.cost60, o.base))


def merged_ranges(options: list[Option]) -> list[tuple[int, int]]:
    """The union of the options' inclusive minute ranges as disjoint inclusive ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted((o.lo, o.hi) for o in options):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def earliest_common(ranges: dict[str, list[tuple[int, int]]], count: int) -> int | None:
    """The earliest minute inside the ranges of at least `count` different keys (each key's ranges disjoint)."""
    if sum(1 for r in ranges.values() if r) < count:
        return None
    events = sorted((m, d) for rs in ranges.values() for lo, hi in rs for m, d in ((lo, 1), (hi + 1, -1)))
    active = 0
    for minute, delta in events:  # ends (-1) sort before starts (+1) at the same minute
        active += delta
        if active >= count:
            return minute
    return None


def fcfs_order(requests: list[Request]) -> list[Request]:
    """Requests by `submitted_at` (missing last), ties by id."""
    return sorted(requests, key=lambda r: (r.submitted_at is None, r.submitted_at or 0, r.id))


class _Chain:
    """The approval chain: aircraft states and the schedule built so far."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.fleet = Fleet(prep)
        self.states = {ac.id: AircraftState.fresh(prep, ac) for ac in prep.instance.aircraft}
        self.by_type: dict[str, list[AircraftState]] = {}
        for state in self.states.values():
            self.by_type.setdefault(state.aircraft.type, []).append(state)
        self.schedule = Schedule()

    def options(self, view: RequestView) -> dict[str, list[Option]]:
        """Each candidate aircraft's options for the request, given the commitments so far.

        Direct sorties first. Their earliest common minute `limit` bounds the answer, so surges are worked
        out only for aircraft that could surge by then and, when they could not surge earlier, only if a
        surge could be as cheap as the `aircraft_count`-th cheapest direct sortie at `limit`.
        """
        states = self._candidates(view)
        horizon = self.prep.horizon_min
        found = {st.aircraft.id: st.direct_options(view, horizon) for st in states}
        count = view.request.aircraft_count
        limit = earliest_common({ac: merged_ranges(opts) for ac, opts in found.items()}, count)
        at_limit = (
            [] if limit is None else sorted(o.cost60 for opts in found.values() for o in opts if o.lo <= limit <= o.hi)
        )
        kth_cost = at_limit[count - 1] if len(at_limit) >= count else float("inf")
        for st in states:
            floor = st.surge_floor(view)
            if floor is None or (limit is not None and floor > limit):
                continue
            direct_at_limit = limit is not None and any(o.lo <= limit <= o.hi for o in found[st.aircraft.id])
            if limit is not None and floor == limit and (direct_at_limit or st.surge_cost_floor(view) > kth_cost):
                continue
            found[st.aircraft.id] += st.surge_options(view, self.fleet, horizon)
        return {ac: opts for ac, opts in found.items() if opts}

    def _candidates(self, view: RequestView) -> list[AircraftState]:
        """Aircraft of eligible types with enough hours left for the shortest sortie in range."""
        out: list[AircraftState] = []
        for type_id, reach in view.reach.items():
            if reach:
                shortest = 2 * min(reach.values()) + view.duration
                out.extend(st for st in self.by_type.get(type_id, []) if st.hours_left >= shortest)
        return out

    def place(self, req: Request) -> bool:
        """Give the request its earliest feasible minute and cheapest aircraft there; False if it cannot fly."""
        view = self.fleet.view(req)
        options = self.options(view)
        count = req.aircraft_count
        minute = earliest_common({ac: merged_ranges(opts) for ac, opts in options.items()}, count)
        if minute is None:
            return False
        chosen = [(opt, ac) for ac, opts in options.items() if (opt := option_at(opts, minute)) is not None]
        chosen.sort(key=lambda pair: (pair[0].cost60, pair[0].surge, pair[1]))
        for opt, ac in chosen[:count]:
            sortie, relocations = self.states[ac].commit(opt, minute, view)
            self.schedule.sorties.append(sortie)
            self.schedule.relocations.extend(relocations)
        return True


def solve_fcfs(prep: Prepared) -> Schedule:
    """The first-come-first-served plan of SPEC section 7 (decisions.md), valid under SPEC section 4."""
    return plan_in_order(prep, fcfs_order(list(prep.instance.requests)))


def plan_in_order(prep: Prepared, requests: list[Request]) -> Schedule:
    """The approval chain run over the requests in the given order (each placed at its earliest minute,
    on its cheapest aircraft, never revisited): a valid plan under SPEC section 4."""
    chain = _Chain(prep)
    for req in requests:
        chain.place(req)
    chain.schedule.sorties.sort()
    chain.schedule.relocations.sort()
    return chain.schedule
