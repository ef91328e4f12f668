"""What a re-plan must respect beyond SPEC section 4 (SPEC section 9): the baseline plan to stay close
to, the baseline flights frozen because they took off before `now`, and requests that must be served.

A baseline sortie is *kept* when the new plan has a sortie with the same aircraft, request, base,
on-station and off-station minutes; every other baseline sortie is a *change* (moved to another
aircraft, retimed, re-tasked or cancelled: one each).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from allocator.domain import Aircraft, Request, count
from allocator.errors import InputError
from allocator.result import Plan
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Flight, RelocationMin, Schedule, SortieMin
from allocator.timeline import format_instant


@dataclass
class Anchor:
    """Baseline, frozen flights, earliest new takeoff and required requests (all optional)."""

    baseline: Schedule | None = None
    frozen_sorties: list[SortieMin] = field(default_factory=list)
    frozen_relocations: list[RelocationMin] = field(default_factory=list)
    not_before: int | None = None
    require: frozenset[str] = frozenset()

    @property
    def pins_aircraft(self) -> bool:
        """Whether aircraft identities matter (identical aircraft are no longer interchangeable)."""
        return self.baseline is not None or bool(self.frozen_sorties or self.frozen_relocations)

    def baseline_relocations(self, aircraft_id: str) -> list[RelocationMin]:
        if self.baseline is None:
            return []
        return sorted(r for r in self.baseline.relocations if r.aircraft == aircraft_id)


def schedule_of(prep: Prepared, plan: Plan) -> Schedule:
    """A plan in minutes since the horizon start (plan instants are whole minutes)."""
    m = prep.timeline.minutes
    return Schedule(
        sorties=[
            SortieMin(m(s.takeoff), s.aircraft, s.request, s.base, m(s.on_station), m(s.off_station), m(s.landing))
            for s in plan.sorties
        ],
        relocations=[RelocationMin(m(r.takeoff), r.aircraft, r.from_, r.to, m(r.landing)) for r in plan.relocations],
    )


def anchor_of(
    prep: Prepared, baseline: Plan | None, now: datetime | None, require: frozenset[str] = frozenset()
) -> Anchor:
    """Read the options of a re-plan against the instance; InputError when they cannot be honoured."""
    inst = prep.instance
    known = {r.id for r in inst.requests}
    unknown = sorted(set(require) - known)
    if unknown:
        raise InputError(f"required request {unknown[0]} is not in instance {inst.name}.")
    schedule = schedule_of(prep, baseline) if baseline is not None else None
    anchor = Anchor(baseline=schedule, require=frozenset(require))
    if now is None:
        return anchor
    if now.tzinfo is None:
        raise InputError(f"--now {now.isoformat()} has no UTC offset; write it like 2026-12-01T12:00:00-07:00.")
    if prep.timeline.ceil(now) >= prep.horizon_min:
        end = format_instant(inst.horizon.end)
        rounded = "" if prep.timeline.is_whole_minute(now) else ", rounded up to the whole minute,"
        raise InputError(
            f"--now {_shown_now(now)}{rounded} is not before the horizon's end {end}: every flight would be kept "
            "as flown and nothing re-planned."
        )
    anchor.not_before = max(0, prep.timeline.ceil(now))
    if schedule is not None:
        anchor.frozen_sorties = sorted(s for s in schedule.sorties if s.takeoff < anchor.not_before)
        anchor.frozen_relocations = sorted(r for r in schedule.relocations if r.takeoff < anchor.not_before)
        _check_frozen(prep, anchor, now)
    return anchor


def _shown_now(now: datetime) -> str:
    """`now` as given, to the second when it is not a whole minute (`format_instant` would cut the seconds
    off and make a flight at 10:00 look as if it took off before 10:00:30 cut to 10:00)."""
    if now.second == 0 and now.microsecond == 0:
        return format_instant(now)
    return now.isoformat().replace("+00:00", "Z")


def _written_like(prep: Prepared, now: datetime) -> Callable[[int], str]:
    """Minutes written as instants in the UTC offset `--now` was given in, so that one message reads in one
    offset (`before 15:30-05:00 … maintenance from 15:30-05:00`, not `… from 20:30Z`)."""
    return lambda minute: format_instant(prep.timeline.instant(minute).astimezone(now.tzinfo))


def _check_frozen(prep: Prepared, anchor: Anchor, now: datetime) -> None:
    """Frozen flights must still make sense in the (possibly changed) instance."""
    inst = prep.instance
    aircraft = {a.id: a for a in inst.aircraft}
    requests = {r.id: r for r in inst.requests}
    bases = {b.id for b in inst.bases}
    when, at = _shown_now(now), _written_like(prep, now)
    flights: list[Flight] = [*anchor.frozen_sorties, *anchor.frozen_relocations]
    frozen = sorted(flights, key=lambda f: (f.aircraft, f.takeoff))
    base: dict[str, str] = {}  # operating base of each aircraft along its frozen flights
    moves: dict[str, int] = {}  # frozen relocations so far
    flown: dict[str, int] = {}  # frozen flight minutes so far
    previous: dict[str, tuple[Flight, str]] = {}  # each aircraft's frozen flight before this one, and its words
    for f in frozen:
        what = (
            f"the sortie of {f.aircraft} for {f.request}"
            if isinstance(f, SortieMin)
            else f"the relocation of {f.aircraft} to {f.dest}"
        )
        lead = f"baseline: {what} took off before {when} and must be kept as flown, but"
        ac = aircraft.get(f.aircraft)
        _check_flight_shape(f, lead, previous.get(f.aircraft), prep.type_of(ac).turnaround_min if ac else 0)
        previous[f.aircraft] = (f, what)
        if ac is None:
            raise InputError(f"{lead} aircraft {f.aircraft} is no longer in the instance.")
        if isinstance(f, SortieMin):
            req = requests.get(f.request)
            if req is None:
                raise InputError(f"{lead} request {f.request} is no longer in the instance.")
            if not prep.eligible(req, prep.type_of(ac)):
                raise InputError(f"{lead} {ac.type} no longer meets request {req.id}'s capabilities or types.")
            lo, hi = prep.window(req)
            if f.off_station - f.on_station != req.duration_min or f.on_station < lo or f.off_station > hi:
                raise InputError(f"{lead} it no longer fits request {req.id}'s window and duration.")
            operating = base.get(ac.id, ac.home_base)
            if f.base != operating:
                raise InputError(f"{lead} it leaves from {f.base} while the aircraft now operates from {operating}.")
            if f.base not in bases:
                raise InputError(f"{lead} base {f.base} is no longer in the instance.")
            if not _sortie_fits(prep, ac, req, f):
                raise InputError(f"{lead} it no longer meets the transit times or endurance from {f.base}.")
        else:
            operating = base.get(ac.id, ac.home_base)
            moves[ac.id] = moves.get(ac.id, 0) + 1
            if f.origin != operating:
                raise InputError(f"{lead} it leaves from {f.origin} while the aircraft now operates from {operating}.")
            if moves[ac.id] > prep.max_relocations(ac):
                raise InputError(f"{lead} {ac.id} may now relocate only {prep.max_relocations(ac)} time(s).")
            if f.dest not in bases:
                raise InputError(f"{lead} base {f.dest} is no longer in the instance.")
            if f.landing - f.takeoff != prep.ferry(ac, f.origin, f.dest):
                raise InputError(f"{lead} it did not take the shortest ferry time, which re-planning assumes.")
            base[ac.id] = f.dest
        flown[ac.id] = flown.get(ac.id, 0) + f.landing - f.takeoff
        if flown[ac.id] > prep.hours_min(ac):
            raise InputError(
                f"{lead} {ac.id} would then have flown {flown[ac.id]} minutes, more than its "
                f"{count(ac.hours_available, 'flight hour')} "
                f"({prep.hours_min(ac)} minutes)."
            )
        if f.takeoff < prep.available_from(ac):
            since = at(prep.available_from(ac))
            raise InputError(f"{lead} {ac.id} is now available only from {since}.")
        block_end = f.landing + prep.type_of(ac).turnaround_min
        for start, end in prep.maintenance(ac):
            if f.takeoff < end and start < block_end:
                since = at(start)
                free = at(block_end)
                hint = f"; it is back on the ground and turned around at {free}" if start < block_end <= end else ""
                raise InputError(f"{lead} it overlaps maintenance of {f.aircraft} from {since}{hint}.")
    _check_frozen_requests(prep, anchor, when, at, requests)
    for ac_id, away in base.items():
        _check_home_for_maintenance(prep, anchor, aircraft[ac_id], away, moves[ac_id], when, at, requests)


def _check_frozen_requests(
    prep: Prepared, anchor: Anchor, when: str, at: Callable[[int], str], requests: dict[str, Request]
) -> None:
    """SPEC 4.2 for the frozen sorties of each request: on station together, no more than it needs now,
    and, when fewer, enough other aircraft that could still take off after `now` and be on station with
    them (eligible, available, and close enough from some base: a necessary condition only)."""
    together: dict[str, list[SortieMin]] = {}
    for s in anchor.frozen_sorties:
        together.setdefault(s.request, []).append(s)
    for rid, sorties in sorted(together.items()):
        req = requests[rid]
        names = ", ".join(s.aircraft for s in sorties)
        what = f"the sortie of {names}" if len(sorties) == 1 else f"the sorties of {names}"
        lead = f"baseline: {what} for {rid} took off before {when} and must be kept as flown, but"
        if len({(s.on_station, s.off_station) for s in sorties}) > 1:
            raise InputError(f"{lead} they are not on station at the same time.")
        if len(sorties) > req.aircraft_count:
            raise InputError(f"{lead} request {rid} needs only {req.aircraft_count} aircraft.")
        missing = req.aircraft_count - len(sorties)
        if missing == 0:
            continue
        on_station, flying = sorties[0].on_station, {s.aircraft for s in sorties}
        others = sum(
            1 for ac in prep.instance.aircraft if ac.id not in flying and _could_join(prep, anchor, ac, req, on_station)
        )
        if others < missing:
            start = at(on_station)
            able = "no other aircraft" if others == 0 else f"only {others} other aircraft"
            raise InputError(
                f"{lead} request {rid} needs {req.aircraft_count} aircraft on station together from {start}, and "
                f"{able} could take off at or after {when} and be there by then."
            )


def _could_join(prep: Prepared, anchor: Anchor, ac: Aircraft, req: Request, on_station: int) -> bool:
    """Whether the aircraft might still take off after `now` and be on station for the request at that
    minute: eligible, available and close enough from some base (necessary, not sufficient)."""
    kind = prep.type_of(ac)
    earliest = max(anchor.not_before or 0, prep.available_from(ac))
    return prep.eligible(req, kind) and any(on_station - prep.transit(kind, req, b) >= earliest for b in prep.base_ids)


def _check_flight_shape(f: Flight, lead: str, before: tuple[Flight, str] | None, turnaround: int) -> None:
    """A frozen flight read from a plan file is a flight at all: its times in order, a relocation that goes
    somewhere, not given twice, clear of the aircraft's frozen flight before it (SPEC 4.5)."""
    if isinstance(f, SortieMin) and not f.takeoff <= f.on_station <= f.off_station <= f.landing:
        raise InputError(f"{lead} its takeoff, on-station, off-station and landing times are out of order.")
    if f.landing <= f.takeoff:
        raise InputError(f"{lead} it does not land after it takes off.")
    if isinstance(f, RelocationMin) and f.origin == f.dest:
        raise InputError(f"{lead} it goes from {f.origin} to {f.dest}.")
    if before is None:
        return
    flight, words = before
    if flight == f:
        raise InputError(f"{lead} the plan gives it twice.")
    if f.takeoff < flight.landing + turnaround:
        raise InputError(f"{lead} it takes off before {words} has landed and turned around.")


def _check_home_for_maintenance(
    prep: Prepared,
    anchor: Anchor,
    ac: Aircraft,
    away: str,
    moves: int,
    when: str,
    at: Callable[[int], str],
    requests: dict[str, Request],
) -> None:
    """SPEC 4.6: an aircraft that a frozen relocation left away from home must be back at its home base,
    turned around, before its next maintenance window: with a relocation and the hours left, and the time
    to fly home after `now` and after its frozen flights."""
    if away == ac.home_base:
        return
    frozen = Schedule(
        [s for s in anchor.frozen_sorties if s.aircraft == ac.id],
        [r for r in anchor.frozen_relocations if r.aircraft == ac.id],
    ).by_aircraft()[ac.id]
    if _flights_home(prep, ac, frozen, anchor.not_before or 0, requests) is not None:
        return
    landed = max(r.landing for r in anchor.frozen_relocations if r.aircraft == ac.id)
    upcoming = [start for start, _ in prep.maintenance(ac) if start >= landed]
    kind = prep.type_of(ac)
    earliest = max(anchor.not_before or 0, frozen[-1].landing + kind.turnaround_min)
    ferry = prep.ferry(ac, away, ac.home_base)
    flown = sum(f.landing - f.takeoff for f in frozen)
    if moves >= prep.max_relocations(ac):
        hours = math.ceil(flown * 100 / 60) / 100  # 60 * hours rounds down to `flown` minutes again
        why = (
            f"it has no relocation left (at most {prep.max_relocations(ac)}); to ground it where it is instead, "
            f"give it {hours:g} flight hours (those it has flown) in place of the maintenance window"
        )
    elif flown + ferry > prep.hours_min(ac):
        why = f"it has not the flight hours left for the {ferry}-minute flight home"
    else:
        back = at(earliest + ferry + kind.turnaround_min)
        why = f"it could not be back and turned around before {back}"
    since = at(upcoming[0]) if upcoming else "its next window"
    raise InputError(
        f"baseline: {ac.id} relocated to {away} before {when} and must be at its home base {ac.home_base} for "
        f"maintenance from {since} (SPEC 4.6), but {why}."
    )


def admissible(anchor: Anchor, schedule: Schedule) -> bool:
    """Whether a schedule (valid under SPEC section 4) also honours the frozen flights, `now` and the
    required requests."""
    if not anchor.require <= schedule.served():
        return False
    sorties, relocations = set(schedule.sorties), set(schedule.relocations)
    if not (set(anchor.frozen_sorties) <= sorties and set(anchor.frozen_relocations) <= relocations):
        return False
    if anchor.not_before is None:
        return True
    frozen: set[Flight] = set(anchor.frozen_sorties) | set(anchor.frozen_relocations)
    return all(f.takeoff >= anchor.not_before for f in schedule.flights() if f not in frozen)


def sortie_key(s: SortieMin) -> tuple[str, str, str, int, int]:
    """What must be equal for a baseline sortie to count as kept."""
    return (s.aircraft, s.request, s.base, s.on_station, s.off_station)


def changes(baseline: Schedule, schedule: Schedule) -> int:
    """Baseline sorties that the schedule does not keep (moved, retimed, re-tasked or cancelled)."""
    kept = {sortie_key(s) for s in schedule.sorties}
    return sum(1 for s in baseline.sorties if sortie_key(s) not in kept)


def relocation_changes(baseline: Schedule, schedule: Schedule) -> int:
    """Baseline relocations that the schedule does not fly again on the same route at the same minute."""
    kept = {(r.aircraft, r.origin, r.dest, r.takeoff) for r in schedule.relocations}
    return sum(1 for r in baseline.relocations if (r.aircraft, r.origin, r.dest, r.takeoff) not in kept)


def repaired(prep: Prepared, schedule: Schedule, not_before: int = 0) -> Schedule:
    """The baseline without what no longer fits the (changed) instance, as a starting point for the
    search: each aircraft keeps the longest run of its first flights that still fits (at least those that
    took off before `not_before`), with a flight home before each maintenance window that finds it away
    (SPEC 4.6; taking off at or after `not_before`), and requests left with the wrong number of sorties
    are dropped. The model decides whether it is valid."""
    inst = prep.instance
    aircraft = {a.id: a for a in inst.aircraft}
    requests = {r.id: r for r in inst.requests}
    keep_before: dict[str, int] = {}  # aircraft -> takeoff minute from which its flights are dropped
    flown_home: list[RelocationMin] = []
    for ac_id, flights in schedule.by_aircraft().items():
        ac = aircraft.get(ac_id)
        if ac is None:
            keep_before[ac_id] = -1
            continue
        # without `now` (not_before 0) nothing is frozen, not even a flight before the horizon start
        frozen = sum(1 for f in flights if f.takeoff < not_before) if not_before > 0 else 0
        kept = len(flights)  # when no run fits, all of them: the re-plan is infeasible, the model will say
        for n in range(len(flights), frozen - 1, -1):
            home = _flights_home(prep, ac, flights[:n], not_before, requests)
            if home is not None:
                kept = n
                flown_home += home
                break
        keep_before[ac_id] = flights[kept].takeoff if kept < len(flights) else prep.horizon_min + 1
    sorties = [s for s in schedule.sorties if s.takeoff < keep_before.get(s.aircraft, prep.horizon_min + 1)]
    while True:
        count: dict[str, int] = {}
        for s in sorties:
            count[s.request] = count.get(s.request, 0) + 1
        short = {rid for rid, n in count.items() if n != requests[rid].aircraft_count}
        if not short:
            break
        sorties = [s for s in sorties if s.request not in short]
    relocations = [r for r in schedule.relocations if r.takeoff < keep_before.get(r.aircraft, prep.horizon_min + 1)]
    return Schedule(sorties=sorties, relocations=sorted(relocations + flown_home))


def _flights_home(
    prep: Prepared, ac: Aircraft, flights: list[Flight], not_before: int, requests: dict[str, Request]
) -> list[RelocationMin] | None:
    """The flights home that keep the aircraft's `flights` valid under SPEC 4 through the whole horizon
    (SPEC 4.6: at home for each maintenance window), or None when one of the flights no longer fits or a
    window finds the aircraft away with no way home in time."""
    kind = prep.type_of(ac)
    base, used, relocations = ac.home_base, 0, 0
    ready = max(prep.available_from(ac), not_before)  # earliest takeoff of a flight home
    arrived = 0  # when it last landed at a base other than home
    free: int | None = None  # when the previous flight has landed and turned around (SPEC 4.5)
    bases = set(prep.base_ids)
    home_flights: list[RelocationMin] = []
    for f in [*flights, None]:
        until = prep.horizon_min if f is None else f.takeoff
        due = [start for start, _ in prep.maintenance(ac) if arrived <= start < until]
        if base != ac.home_base and due:
            home = _flight_home(prep, ac, base, ready, due[0], used, relocations)
            if home is None:
                return None
            home_flights.append(home)
            base, used, relocations = ac.home_base, used + home.landing - home.takeoff, relocations + 1
        if f is None:
            return home_flights
        used += f.landing - f.takeoff
        ok = prep.available_from(ac) <= f.takeoff and f.landing <= prep.horizon_min and used <= prep.hours_min(ac)
        ok = ok and (free is None or free <= f.takeoff) and f.takeoff < f.landing
        ok = ok and not any(
            f.takeoff < end and start < f.landing + kind.turnaround_min for start, end in prep.maintenance(ac)
        )
        if isinstance(f, SortieMin):
            req = requests.get(f.request)
            ok = ok and req is not None and f.base == base and _sortie_fits(prep, ac, req, f)
        else:
            relocations += 1
            ok = ok and f.origin == base and f.dest != base and f.dest in bases
            ok = ok and relocations <= prep.max_relocations(ac)
            ok = ok and f.landing - f.takeoff >= prep.ferry(ac, f.origin, f.dest)
            base, arrived = f.dest, f.landing
        if not ok:
            return None
        ready = max(ready, f.landing + kind.turnaround_min)
        free = f.landing + kind.turnaround_min
    return home_flights


def _flight_home(
    prep: Prepared, ac: Aircraft, away: str, ready: int, maintenance_start: int, used: int, relocations: int
) -> RelocationMin | None:
    """The relocation home that takes off at `ready` and is back, turned around, by the maintenance
    (SPEC 4.6 and 4.8), when the aircraft has one left and the hours; else None."""
    kind = prep.type_of(ac)
    landing = ready + prep.ferry(ac, away, ac.home_base)
    if relocations >= prep.max_relocations(ac) or used + landing - ready > prep.hours_min(ac):
        return None
    if landing + kind.turnaround_min > maintenance_start or landing > prep.horizon_min:
        return None
    return RelocationMin(ready, ac.id, away, ac.home_base, landing)


def _sortie_fits(prep: Prepared, ac: Aircraft, req: Request, s: SortieMin) -> bool:
    """SPEC 4.1-4.4 for one sortie of a baseline in the changed instance."""
    kind = prep.type_of(ac)
    lo, hi = prep.window(req)
    shape = prep.shape(ac, req, s.base)
    return (
        prep.eligible(req, kind)
        and s.off_station - s.on_station == req.duration_min
        and lo <= s.on_station
        and s.off_station <= hi
        and s.on_station - s.takeoff >= shape.out_min
        and s.landing - s.off_station >= shape.back_min
        and s.landing - s.takeoff <= kind.endurance_min
    )
