"""Reasons for unserved requests (SPEC section 6 as docs/decisions.md decides them).

The instance alone decides the first three codes: `NO_CAPABLE_TYPE`,
`OUT_OF_RANGE`, and `UNAVAILABLE` (the request cannot be flown even in an
otherwise empty plan). That last test is exact: for every eligible aircraft in
range, the feasible on-station minutes in an empty plan are computed as ranges
(the FCFS machinery on a fresh aircraft, relocations included), and
`aircraft_count` of them must share a minute. A request that could be flown
alone is `OUTCOMPETED` in a proven-optimal plan or the FCFS baseline, and
`NOT_PROVEN` otherwise; its competitors are the served requests whose sorties
hold its candidate aircraft while they could have flown it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Literal

from allocator.domain import Aircraft, Request, count
from allocator.result import Reason, Unserved
from allocator.solver.fcfs import INF, Fleet, Gap, Option, RequestView, earliest_common, fcfs_order, merged_ranges
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.timeline import Timeline, local_text, sector_zone, span_text


@dataclass
class Analysis:
    """What the instance alone says about a request: a static reason, or the ways to fly it alone."""

    reason: Reason | None
    detail: str = ""
    options: dict[str, list[Option]] = field(default_factory=dict)  # aircraft id -> options in an empty plan


def static_reason(prep: Prepared, request: Request) -> Reason | None:
    """NO_CAPABLE_TYPE, OUT_OF_RANGE or UNAVAILABLE when the instance alone rules the request out, else None."""
    return analyse(prep, request).reason


def analyse(prep: Prepared, request: Request, fleet: Fleet | None = None) -> Analysis:
    """Decide the static reason of a request, with a plain-English detail, or its options when flyable alone.

    When aircraft flying from their home bases can do it, the options are theirs only (relocations are not
    worked out); otherwise they include every surge.
    """
    fleet = fleet or Fleet(prep)
    view = fleet.view(request)
    count = request.aircraft_count
    eligible = [ac for type_id in view.reach for ac in fleet.by_type.get(type_id, [])]
    if len(eligible) < count:
        return Analysis(Reason.NO_CAPABLE_TYPE, _no_capable_detail(request, eligible))
    reachable = [ac for ac in eligible if _can_reach(prep, view.reach[ac.type], ac)]
    if len(reachable) < count:
        return Analysis(Reason.OUT_OF_RANGE, _out_of_range_detail(prep, view, eligible, reachable))
    horizon = prep.horizon_min
    direct: dict[str, list[Option]] = {}
    for ac in reachable:
        if ac.home_base in view.reach[ac.type] and (found := fleet.fresh(ac).direct_options(view, horizon)):
            direct[ac.id] = found
    if earliest_common({ac: merged_ranges(o) for ac, o in direct.items()}, count) is not None:
        return Analysis(None, "", direct)
    options = {ac.id: fleet.fresh(ac).options(view, fleet, horizon) for ac in reachable}
    options = {ac: found for ac, found in options.items() if found}
    if earliest_common({ac: merged_ranges(o) for ac, o in options.items()}, count) is None:
        return Analysis(Reason.UNAVAILABLE, _unavailable_detail(prep, view, reachable, options, fleet))
    return Analysis(None, "", options)


def _can_reach(prep: Prepared, reach: dict[str, int], ac: Aircraft) -> bool:
    """Whether a base in range is one the aircraft could operate from: its home, or any if it may relocate."""
    return bool(reach) if prep.max_relocations(ac) > 0 else ac.home_base in reach


# -- local times -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clock:
    """Minutes written as local times of one zone, labelled once: `Dec 01 04:00 EST`, `Dec 01 04:00–06:00 EST`."""

    timeline: Timeline
    tz: tzinfo

    @classmethod
    def of(cls, prep: Prepared, request: Request) -> Clock:
        """The clock of a request's texts: the local time of its sector."""
        return cls(prep.timeline, sector_zone(prep.instance, request.sector))

    def local(self, minute: int) -> datetime:
        return self.timeline.instant(minute).astimezone(self.tz)

    def at(self, minute: int) -> str:
        return local_text(self.local(minute))

    def span(self, start: int, end: int) -> str:
        """A stretch of minutes, the end without its date when on the same day, the zone once (twice across a
        change of offset)."""
        return span_text(self.local(start), self.local(end))


def _window_text(prep: Prepared, request: Request) -> str:
    """The request's window, as minutes clipped to the horizon, in its sector's local time."""
    lo, hi = prep.window(request)
    return Clock.of(prep, request).span(lo, hi) if hi > lo else "outside the horizon"


# -- details ------------------------------------------------------------------------------------
def _names(ids: list[str], limit: int = 6) -> str:
    """`a, b, c` with a tail count past `limit`."""
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _needs(request: Request) -> str:
    """What the request asks of an aircraft, in words."""
    caps = ", ".join(request.capabilities) or "no particular capability"
    types = f" of type {', '.join(request.aircraft_types)}" if request.aircraft_types else ""
    many = f"{request.aircraft_count} aircraft" if request.aircraft_count > 1 else "an aircraft"
    return f"needs {many}{types} with {caps}"


def _no_capable_detail(request: Request, eligible: list[Aircraft]) -> str:
    """Which capabilities or types are missing from the fleet."""
    if not eligible:
        return f"{_needs(request)}; no aircraft in the fleet qualifies"
    return f"{_needs(request)}; the fleet has only {len(eligible)} that qualify ({_names([a.id for a in eligible])})"


def _out_of_range_detail(prep: Prepared, view: RequestView, eligible: list[Aircraft], reachable: list[Aircraft]) -> str:
    """How far the closest eligible aircraft falls short of its endurance."""
    request = view.request
    shortest = min(eligible, key=lambda ac: _best_flight(prep, view, ac) - prep.type_of(ac).endurance_min)
    flight, base = _best_flight(prep, view, shortest), _best_base(prep, view, shortest)
    text = (
        f"{_needs(request)} for {request.duration_min} min on station at ({request.lat:.3f}, {request.lon:.3f}); "
        f"the closest eligible aircraft, {shortest.id} from {base}, would fly {flight} min "
        f"against an endurance of {prep.type_of(shortest).endurance_min} min"
    )
    if reachable:
        text += f"; only {_names([a.id for a in reachable])} can reach it"
    return text


def _best_base(prep: Prepared, view: RequestView, ac: Aircraft) -> str:
    """The base giving the shortest sortie (the aircraft's type is eligible)."""
    transit = view.transit[ac.type]
    return min(prep.operating_bases(ac), key=lambda b: (transit[b], b))


def _best_flight(prep: Prepared, view: RequestView, ac: Aircraft) -> int:
    """The shortest sortie length from any base it could operate from."""
    return 2 * view.transit[ac.type][_best_base(prep, view, ac)] + view.duration


def _unavailable_detail(
    prep: Prepared, view: RequestView, reachable: list[Aircraft], options: dict[str, list[Option]], fleet: Fleet
) -> str:
    """Why the aircraft in range cannot fly it even alone, aircraft by aircraft."""
    request = view.request
    window = _window_text(prep, request)
    blocked = [ac for ac in reachable if ac.id not in options]
    causes = [f"{ac.id} {aircraft_cause(prep, view, ac, fleet).text}" for ac in blocked[:6]]
    if len(blocked) > 6:
        causes.append(f"{len(blocked) - 6} more likewise")
    if not options:
        return f"even in an empty plan no aircraft in range can fly it in its window {window}: " + "; ".join(causes)
    count = request.aircraft_count
    flyers = sorted(options)
    if len(flyers) < count:
        head = f"needs {count} aircraft at once, but even in an empty plan only {_names(flyers)} can fly it"
    else:
        head = f"{_names(flyers)} can each fly it in an empty plan, but never {count} at the same time"
    return f"{head} in its window {window}; " + "; ".join(causes) if causes else f"{head} in its window {window}"


# -- why one aircraft cannot fly a request even alone ---------------------------------------------
CauseStatus = Literal["out_of_hours", "unavailable", "down"]


@dataclass(frozen=True)
class Cause:
    """Why one aircraft that has a base in range cannot fly a request even in an empty plan.

    `status` and `text` name the same cause (`allocator explain` shows them side by side and the reason's
    detail repeats the text). The text is about flying from `base`, a relocation destination when `origin`
    (the home base it would relocate from) is set; `ferry` counts the relocation minutes (there and back)."""

    status: CauseStatus
    text: str
    base: str
    flight: int  # the sortie's minutes from `base`
    ferry: int = 0
    origin: str | None = None


@dataclass(frozen=True)
class _Failure:
    status: CauseStatus
    text: str
    short: str  # what it lacks, for "it would also lack ..."


def aircraft_cause(prep: Prepared, view: RequestView, ac: Aircraft, fleet: Fleet | None = None) -> Cause:
    """Why an aircraft with a base in range has no way to fly the request in an empty plan.

    Every way is tried as the FCFS machinery tries it (a sortie from home; with relocations, one from each
    other base in range, relocating there first and back home before a later maintenance window, SPEC 4.6),
    in every free stretch of the aircraft that touches the window. The way that fails on the fewest counts
    is reported, with its first failure as the cause and the others named after it.
    """
    fleet = fleet or Fleet(prep)
    clock = Clock.of(prep, view.request)
    home, reach = ac.home_base, view.reach.get(ac.type, {})
    bases = [home] if home in reach else []
    if prep.max_relocations(ac) > 0:
        bases += sorted((b for b in reach if b != home), key=lambda b: (fleet.ferry(ac, home, b) + 2 * reach[b], b))
    if not bases:  # not in range from any base it could operate from: the caller's OUT_OF_RANGE
        nearest = _best_base(prep, view, ac)
        return Cause("unavailable", "is out of range", nearest, 2 * view.transit[ac.type][nearest] + view.duration)
    available = prep.available_from(ac)
    first = bases[0]
    flight = 2 * reach[first] + view.duration
    origin, ferry = (None, 0) if first == home else (home, fleet.ferry(ac, home, first))
    if view.hi < view.lo:  # the window, clipped to the horizon, is shorter than the time on station
        text = f"cannot be on station {view.duration} min inside the horizon in this window"
        return Cause("unavailable", text, first, flight, ferry, origin)
    if available >= prep.horizon_min:
        return Cause("unavailable", "is not available before the horizon ends", first, flight, ferry, origin)
    gaps = [g for g in fleet.fresh(ac).gaps() if g.end > view.lo and g.start <= view.hi]
    if not gaps:  # down or not yet available over every on-station minute of the window
        down = [(s, e) for s, e in prep.maintenance(ac) if s <= view.hi and e > view.lo]
        if down:
            spans = ", ".join(clock.span(s, e) for s, e in down)
            return Cause("down", f"is in maintenance {spans}", first, flight, ferry, origin)
        return Cause("unavailable", f"is available only from {clock.at(available)}", first, flight, ferry, origin)
    best: tuple[int, int, list[_Failure], str, Gap] | None = None
    for rank, base in enumerate(bases):
        for gap in gaps:
            failures = _failures(prep, view, ac, fleet, clock, base, gap)
            if best is None or (len(failures), rank) < (best[0], best[1]):
                best = (len(failures), rank, failures, base, gap)
    assert best is not None
    _, _, failures, base, gap = best
    flight = 2 * reach[base] + view.duration
    origin = None if base == home else home
    ferry = 0
    if origin is not None:
        ferry = fleet.ferry(ac, home, base) + (fleet.ferry(ac, base, home) if gap.end < INF else 0)
    if not failures:  # not expected: the options said no
        text = "cannot fit the sortie into the window, the horizon and its availability"
        return Cause("unavailable", text, base, flight, ferry, origin)
    text = failures[0].text
    others = list(dict.fromkeys(f.short for f in failures[1:] if f.short != failures[0].short))
    if others:
        text += f" (it would also lack {' and '.join(others)})"
    return Cause(failures[0].status, text, base, flight, ferry, origin)


def _failures(
    prep: Prepared, view: RequestView, ac: Aircraft, fleet: Fleet, clock: Clock, base: str, gap: Gap
) -> list[_Failure]:
    """What stops a sortie from `base` (relocating there first when it is not home) inside one free stretch."""
    home, kind = ac.home_base, prep.type_of(ac)
    turnaround, duration, horizon = kind.turnaround_min, view.duration, prep.horizon_min
    transit = view.reach[ac.type][base]
    flight = 2 * transit + duration
    budget = prep.hours_min(ac)
    out: list[_Failure] = []
    if base == home:
        ferry = back = 0
        lead, tail, move = 0, turnaround, ""
    else:
        ferry = fleet.ferry(ac, home, base)
        back = fleet.ferry(ac, base, home) if gap.end < INF else 0  # home again for the maintenance after it
        lead = ferry + turnaround
        tail = turnaround + (back + turnaround if back else 0)
        move = f"relocating {home}->{base} ({ferry} min)"
        if 1 + bool(back) > prep.max_relocations(ac):
            text = (
                f"must be at its home base {home} for maintenance from {clock.at(gap.end)} (SPEC 4.6) and may "
                f"relocate only once, so it cannot relocate {home}->{base} and back before it"
            )
            out.append(_Failure("down", text, "a relocation"))
    if ferry + back + flight > budget:
        if not ferry:
            text = f"has {budget} flight minutes, the sortie takes {flight}"
        else:
            trip = f"{move}{f', back ({back} min)' if back else ''} and the sortie ({flight} min)"
            text = f"has {budget} flight minutes; {trip} take {ferry + back + flight}"
        out.append(_Failure("out_of_hours", text, "flight hours"))
    earliest = gap.start + lead + transit
    latest = min(gap.end - tail, horizon) - duration - transit
    if max(view.lo, earliest) > min(view.hi, latest):
        out.append(_time_failure(prep, ac, clock, view, gap, earliest, latest, move, back))
    return out


def _time_failure(
    prep: Prepared,
    ac: Aircraft,
    clock: Clock,
    view: RequestView,
    gap: Gap,
    earliest: int,
    latest: int,
    move: str,
    back: int,
) -> _Failure:
    """The sortie (after its relocation) does not fit between the stretch's start and end and the window."""
    available = prep.available_from(ac)
    maintenance = prep.maintenance(ac)
    if gap.start > 0 and gap.start == available:
        since, start_down = f"its availability at {clock.at(gap.start)}", False
    elif any(e == gap.start for _, e in maintenance):
        since, start_down = f"the end of its maintenance at {clock.at(gap.start)}", True
    else:
        since, start_down = f"the horizon start {clock.at(gap.start)}", False
    end_down = gap.end < prep.horizon_min
    until = f"its maintenance from {clock.at(gap.end)}" if end_down else f"the horizon end {clock.at(prep.horizon_min)}"
    if earliest > view.hi:
        first = f"{move} from {since}" if move else f"from {since}"
        late = f"on station {clock.at(earliest)} at the earliest, after the latest start {clock.at(view.hi)}"
        return _Failure("down" if start_down else "unavailable", f"cannot be there in time: {first}, {late}", "time")
    home = f" home at {ac.home_base}" if back else ""
    if latest < view.lo:
        by = f"so on station by {clock.at(latest)} at the latest, before the window opens"
        text = f"must be back{home} before {until}, {by}" if end_down else f"must land before {until}, {by}"
        return _Failure("down" if end_down else "unavailable", text, "time")
    free = f"is free only {clock.span(gap.start, min(gap.end, prep.horizon_min))}"
    what = f"{move}, the sortie" if move else "the sortie"
    text = f"{free}, between {since} and {until}: too short for {what} and its turnaround inside the window"
    return _Failure("down" if start_down or end_down else "unavailable", text, "time")


# -- unserved requests ---------------------------------------------------------------------------
def explain_unserved(
    prep: Prepared,
    schedule: Schedule,
    proven: bool,
    baseline: bool = False,
    codes: Mapping[str, Reason] | None = None,
) -> list[Unserved]:
    """Every unserved request with its reason, detail and (for OUTCOMPETED/NOT_PROVEN) competing requests.

    `codes` keeps a recorded OUTCOMPETED or NOT_PROVEN (request id -> code) for a request the instance does not
    rule out, instead of deciding it from `proven` (`allocator explain` rewrites a plan's details this way)."""
    served = schedule.served()
    fleet = Fleet(prep)
    order = {r.id: i for i, r in enumerate(fcfs_order(list(prep.instance.requests)))}
    sorties_of: dict[str, list[SortieMin]] = {}
    for sortie in schedule.sorties:
        sorties_of.setdefault(sortie.aircraft, []).append(sortie)
    out = []
    for req in prep.instance.requests:
        if req.id in served:
            continue
        found = analyse(prep, req, fleet)
        if found.reason is not None:
            out.append(Unserved(request=req.id, reason=found.reason, detail=found.detail))
            continue
        earlier = (lambda rid, own=req.id: order[rid] < order[own]) if baseline else None
        candidates = candidate_options(prep, req, fleet)
        holders, during = competitors(prep, req, candidates, sorties_of, earlier)
        reason = Reason.OUTCOMPETED if proven or baseline else Reason.NOT_PROVEN
        if codes and codes.get(req.id) in (Reason.OUTCOMPETED, Reason.NOT_PROVEN):
            reason = codes[req.id]
        detail = _competition_detail(prep, req, holders, during, reason, baseline, proven)
        if not holders and (moves := moves_away(prep, req, candidates, schedule)):
            detail += "; " + moves_text(prep, req, moves)
        out.append(Unserved(request=req.id, reason=reason, detail=detail, competitors=list(holders)))
    return out


def candidate_options(prep: Prepared, request: Request, fleet: Fleet) -> dict[str, list[Option]]:
    """Every way each eligible aircraft could fly the request alone in an empty plan, relocations included.

    These are the aircraft whose sorties can hold it. `analyse` stops at the aircraft flying from home when they
    suffice; an aircraft that would relocate to fly it is a candidate too (`allocator explain` lists it as busy,
    and a re-plan may take it): naming only the home-based ones left out requests that a re-plan then dropped.
    """
    view = fleet.view(request)
    out: dict[str, list[Option]] = {}
    for type_id, reach in view.reach.items():
        for ac in fleet.by_type.get(type_id, []):
            if _can_reach(prep, reach, ac) and (found := fleet.fresh(ac).options(view, fleet, prep.horizon_min)):
                out[ac.id] = found
    return out


def _busy_span(option: Option, duration: int, turnaround: int) -> tuple[int, int]:
    """Minutes an aircraft would be held by any use of this option: relocations, sortie, turnarounds."""
    start = option.lo - option.out_min - (option.ferry + turnaround if option.surge else 0)
    end = option.hi + duration + option.back_min + turnaround
    if option.return_ferry:
        end += option.return_ferry + turnaround
    return start, end


def competitors(
    prep: Prepared,
    request: Request,
    options: dict[str, list[Option]],
    sorties_of: dict[str, list[SortieMin]],
    allowed: Callable[[str], bool] | None = None,
) -> tuple[dict[str, list[str]], bool]:
    """Served requests whose sorties hold the request's candidate aircraft while they could fly it.

    Returns request id -> aircraft ids, most important first, and True. When no sortie overlaps (the
    aircraft were held by their hours or their base instead), every served request those aircraft flew
    is named, and False.
    """
    turnarounds = {ac.id: prep.type_of(ac).turnaround_min for ac in prep.instance.aircraft if ac.id in options}
    holders = _overlapping(request, options, sorties_of, allowed, turnarounds, require_overlap=True)
    during = bool(holders)
    if not during:
        holders = _overlapping(request, options, sorties_of, allowed, turnarounds, require_overlap=False)
    inst = prep.instance
    ranked = sorted(holders, key=lambda rid: (inst.request(rid).priority, -inst.value(inst.request(rid)), rid))
    return {rid: sorted(holders[rid]) for rid in ranked}, during


def _overlapping(
    request: Request,
    options: dict[str, list[Option]],
    sorties_of: dict[str, list[SortieMin]],
    allowed: Callable[[str], bool] | None,
    turnarounds: dict[str, int],
    require_overlap: bool,
) -> dict[str, set[str]]:
    """Request id -> aircraft, for served sorties on candidate aircraft (overlapping their busy span if asked)."""
    holders: dict[str, set[str]] = {}
    for ac_id, opts in options.items():
        turnaround = turnarounds[ac_id]
        direct = [o for o in opts if not o.surge]
        spans = [_busy_span(o, request.duration_min, turnaround) for o in direct or opts]
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        for sortie in sorties_of.get(ac_id, []):
            if allowed is not None and not allowed(sortie.request):
                continue
            overlaps = sortie.takeoff < end and sortie.landing + turnaround > start
            if overlaps or not require_overlap:
                holders.setdefault(sortie.request, set()).add(ac_id)
    return holders


def moves_away(
    prep: Prepared, request: Request, options: dict[str, list[Option]], schedule: Schedule
) -> list[RelocationMin]:
    """Relocations of the plan that keep candidate aircraft from flying the request, though no sortie does: one
    in the air while the aircraft could fly it, or one landing before that at a base it would not fly it from."""
    out = []
    for relocation in schedule.relocations:
        opts = options.get(relocation.aircraft)
        if not opts:
            continue
        turnaround = prep.type_of(prep.instance.aircraft_by_id(relocation.aircraft)).turnaround_min
        direct = [o for o in opts if not o.surge]
        spans = [_busy_span(o, request.duration_min, turnaround) for o in direct or opts]
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        usable = {o.base for o in opts} | {o.origin for o in opts if o.origin}  # bases it could start a way from
        if relocation.takeoff >= end:
            continue
        if relocation.landing + turnaround > start or relocation.dest not in usable:
            out.append(relocation)
    return sorted(out, key=lambda r: (r.takeoff, r.aircraft))


def moves_text(prep: Prepared, request: Request, moves: list[RelocationMin]) -> str:
    """`the plan relocates L1 A->B at Dec 01 02:00 UTC`, in the request's local time."""
    clock = Clock.of(prep, request)
    shown = [f"{r.aircraft} {r.origin}->{r.dest} at {clock.at(r.takeoff)}" for r in moves[:4]]
    if len(moves) > 4:
        shown.append(f"{len(moves) - 4} more")
    return "the plan relocates " + ", ".join(shown)


def _competition_detail(
    prep: Prepared,
    request: Request,
    holders: dict[str, list[str]],
    during: bool,
    reason: Reason,
    baseline: bool,
    proven: bool = True,
) -> str:
    """Plain-English account of who took the aircraft, for OUTCOMPETED and NOT_PROVEN.

    Only a proven plan says the requests that took the aircraft score at least as much (a tie goes to the cheaper
    plan, SPEC 5); an OUTCOMPETED that a plan records without proof (another tool's plan, or the FCFS baseline
    stripped of its `run.method`) is reported as the plan's claim."""
    window = _window_text(prep, request)
    if baseline:
        head = "could be flown alone, but first come first served had already given its aircraft to earlier requests"
    elif reason is Reason.OUTCOMPETED and proven:
        head = "could be flown alone, but its aircraft went to requests that together score at least as much"
    elif reason is Reason.OUTCOMPETED:
        head = (
            "could be flown alone, but its aircraft went to other requests; the plan records OUTCOMPETED but is "
            "not proven optimal, so whether they score more is not established"
        )
    elif proven:  # NOT_PROVEN recorded in a plan that is proven after all (another tool's plan)
        head = (
            "could be flown alone; the plan records NOT_PROVEN, but it is proven optimal, so its aircraft went to "
            "requests that together score at least as much"
        )
    else:
        head = "could be flown alone; the solver stopped before proving whether it fits in the plan"
    if not holders:
        if reason is Reason.OUTCOMPETED and proven and not baseline:
            free = f"no served sortie holds its aircraft in its window {window}"
            return f"{head}; {free}, but flying it would cost more in alert coverage than it is worth"
        return f"{head}; no served sortie holds its aircraft in its window {window}"
    inst = prep.instance
    parts = []
    for rid, aircraft in list(holders.items())[:5]:
        other = inst.request(rid)
        parts.append(f"{_names(aircraft, 4)} flew {rid} (P{other.priority}, {other.agency})")
    if len(holders) > 5:
        more = len(holders) - 5
        parts.append(count(more, "more request"))
    flown = "; ".join(parts)
    if during:
        return f"{head}: aircraft {flown} around its window {window}"
    return f"{head}: its aircraft are free in its window {window} but spent their hours or moved base: {flown}"
