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

from collections.abc import Callable
from dataclasses import dataclass, field

from allocator.domain import Aircraft, Request
from allocator.result import Reason, Unserved
from allocator.solver.fcfs import Fleet, Option, RequestView, earliest_common, fcfs_order, merged_ranges
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule, SortieMin


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
        return Analysis(Reason.UNAVAILABLE, _unavailable_detail(prep, view, reachable, options))
    return Analysis(None, "", options)


def _can_reach(prep: Prepared, reach: dict[str, int], ac: Aircraft) -> bool:
    """Whether a base in range is one the aircraft could operate from: its home, or any if it may relocate."""
    return bool(reach) if prep.max_relocations(ac) > 0 else ac.home_base in reach


# -- details ------------------------------------------------------------------------------------
def _clock(prep: Prepared, minute: int) -> str:
    """A minute as a readable instant in the horizon's own UTC offset."""
    origin = prep.timeline.origin
    return prep.timeline.instant(minute).astimezone(origin.tzinfo).strftime("%b %d %H:%M")


def _span(prep: Prepared, start: int, end: int) -> str:
    """`Dec 01 08:00–11:00`: a stretch of minutes, the end without its date when on the same day."""
    first, last = _clock(prep, start), _clock(prep, end)
    return f"{first}–{last[7:] if first[:6] == last[:6] else last}"


def _window_text(prep: Prepared, request: Request) -> str:
    """The request's window, as minutes clipped to the horizon."""
    lo, hi = prep.window(request)
    return _span(prep, lo, hi) if hi > lo else "outside the horizon"


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
    prep: Prepared, view: RequestView, reachable: list[Aircraft], options: dict[str, list[Option]]
) -> str:
    """Why the aircraft in range cannot fly it even alone, aircraft by aircraft."""
    request = view.request
    window = _window_text(prep, request)
    blocked = [ac for ac in reachable if ac.id not in options]
    causes = [f"{ac.id} {_aircraft_cause(prep, view, ac)}" for ac in blocked[:6]]
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


def _aircraft_cause(prep: Prepared, view: RequestView, ac: Aircraft) -> str:
    """The most likely reason one aircraft in range cannot fly the request alone."""
    request = view.request
    lo, hi = prep.window(request)
    flight = _best_flight(prep, view, ac)
    budget = prep.hours_min(ac)
    if budget < flight:
        return f"has {budget} flight minutes, the sortie takes {flight}"
    available = prep.available_from(ac)
    if available >= prep.horizon_min:
        return "is not available before the horizon ends"
    if available > hi - request.duration_min:
        return f"is available only from {_clock(prep, available)}"
    turnaround = prep.type_of(ac).turnaround_min
    overlapping = [(s, e) for s, e in prep.maintenance(ac) if s < hi + flight + turnaround and e > lo - flight]
    if overlapping:
        s, e = overlapping[0]
        return f"is in maintenance {_span(prep, s, e)}"
    if not prep.in_range(ac, request, ac.home_base):
        dest = _best_base(prep, view, ac)
        ferry = prep.ferry(ac, ac.home_base, dest)
        return f"would first relocate from {ac.home_base} to {dest} ({ferry} min), which does not fit in time"
    return "cannot take off, fly and land inside the horizon and its availability"


# -- unserved requests ---------------------------------------------------------------------------
def explain_unserved(prep: Prepared, schedule: Schedule, proven: bool, baseline: bool = False) -> list[Unserved]:
    """Every unserved request with its reason, detail and (for OUTCOMPETED/NOT_PROVEN) competing requests."""
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
        holders, during = competitors(prep, req, found.options, sorties_of, earlier)
        reason = Reason.OUTCOMPETED if proven or baseline else Reason.NOT_PROVEN
        detail = _competition_detail(prep, req, holders, during, reason, baseline)
        out.append(Unserved(request=req.id, reason=reason, detail=detail, competitors=list(holders)))
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


def _competition_detail(
    prep: Prepared, request: Request, holders: dict[str, list[str]], during: bool, reason: Reason, baseline: bool
) -> str:
    """Plain-English account of who took the aircraft, for OUTCOMPETED and NOT_PROVEN."""
    window = _window_text(prep, request)
    if baseline:
        head = "could be flown alone, but first come first served had already given its aircraft to earlier requests"
    elif reason is Reason.OUTCOMPETED:
        head = "could be flown alone, but its aircraft went to requests that together score higher"
    else:
        head = "could be flown alone; the solver stopped before proving whether it fits in the plan"
    if not holders:
        if reason is Reason.OUTCOMPETED and not baseline:
            free = f"its aircraft are free in its window {window}"
            return f"{head}; {free}, but flying it would cost more in alert coverage than it is worth"
        return f"{head}; no served sortie holds its aircraft in its window {window}"
    inst = prep.instance
    parts = []
    for rid, aircraft in list(holders.items())[:5]:
        other = inst.request(rid)
        parts.append(f"{_names(aircraft, 4)} flew {rid} (P{other.priority}, {other.agency})")
    if len(holders) > 5:
        parts.append(f"{len(holders) - 5} more requests")
    flown = "; ".join(parts)
    if during:
        return f"{head}: aircraft {flown} around its window {window}"
    return f"{head}: its aircraft are free in its window {window} but spent their hours or moved base: {flown}"
