"""Conflicts between agencies' operations (SPEC section 8), with a recommended action for each.

Two requests of *different* agencies conflict when they name the same non-empty `target`, or when
their on-station places are within `policy.deconfliction_radius_nm` of each other and their windows
overlap. With a plan, a conflict is *scheduled* when both requests are flown and their aircraft are on
station at overlapping times (or the target is the same, whenever each is flown).

The recommended action, in this order of preference:

- `merge`: one joint sortie; an aircraft type of the fleet meets both requests' capabilities and
  allow-lists, the places are within the radius, and the windows overlap by at least the longer duration;
- `sequence`: one operation can be off station before the other must be on station;
- `escalate`: neither; both units must settle it.

Every action includes telling both units: conflicts are reported, never silently resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from allocator.domain import Instance, Request
from allocator.result import Instant, Plan
from allocator.timeline import dist_nm, local_text, sector_zone, span_text, zone_label

Kind = Literal["same_target", "nearby"]
Action = Literal["merge", "sequence", "escalate"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Side(_Out):
    """One request of a conflict; with a plan, when and by which aircraft it is flown."""

    request: str
    agency: str
    unit: str
    sector: str
    window_start: Instant
    window_end: Instant
    duration_min: int
    on_station: Instant | None = None
    off_station: Instant | None = None
    aircraft: list[str] = Field(default_factory=list)
    _zone: tzinfo | None = PrivateAttr(default=None)  # its sector's local time (None: the window's own offset)

    @property
    def flown(self) -> bool:
        return self.on_station is not None

    def local(self, instant: datetime) -> datetime:
        """The instant in the local time of the request's sector."""
        return instant.astimezone(self._zone or self.window_start.tzinfo)

    def times(self) -> str:
        """When it is on station if flown, else its window, in its sector's local time: `flown Dec 01
        12:00–14:00 EST`."""
        start, end = (self.on_station, self.off_station) if self.flown else (self.window_start, self.window_end)
        return f"{'flown' if self.flown else 'window'} {span_text(self.local(start), self.local(end))}"  # type: ignore[arg-type]


class Conflict(_Out):
    """Two requests of different agencies that conflict, and what to do about it."""

    id: str
    kinds: list[Kind]
    a: Side
    b: Side
    distance_nm: float
    overlap_start: Instant | None = None  # of the two windows
    overlap_end: Instant | None = None
    action: Action
    joint_type: str | None = None  # merge: the aircraft type that can fly both
    first: str | None = None  # sequence: the request to fly first
    scheduled: bool = False  # with a plan: both flown, on station at overlapping times (or same target)

    def recommendation(self, label: Callable[[str], str] = str) -> str:
        """The recommended action in words; `label` names a request (an export replaces other agencies' ids)."""
        a, b = self.a, self.b
        units = f"notify both units ({a.unit or a.agency}; {b.unit or b.agency})"
        if self.action == "merge":
            return f"merge into one joint sortie by a {self.joint_type}, on station together; {units}"
        if self.action == "sequence":
            first, second = (a, b) if self.first == a.request else (b, a)
            done = first.local(first.window_start + timedelta(minutes=first.duration_min))
            latest = second.local(second.window_end - timedelta(minutes=second.duration_min))
            by = f"{latest:%H:%M}" if latest.date() == done.date() else f"{latest:%b %d %H:%M}"
            return (
                f"sequence: {label(first.request)} first (off station from {local_text(done)}), "
                f"then {label(second.request)} (on station by {by} {zone_label(latest)} at the latest); {units}"
            )
        return f"escalate to both units ({a.unit or a.agency}; {b.unit or b.agency}): no joint sortie or sequence fits"


def _overlap(a: Request, b: Request) -> tuple[datetime, datetime] | None:
    start, end = max(a.window.start, b.window.start), min(a.window.end, b.window.end)
    return (start, end) if start < end else None


def _joint_type(instance: Instance, a: Request, b: Request) -> str | None:
    """An aircraft type of the fleet meeting both requests (capabilities, allow-lists, enough aircraft)."""
    needed = max(a.aircraft_count, b.aircraft_count)
    in_fleet: dict[str, int] = {}
    for ac in instance.aircraft:
        in_fleet[ac.type] = in_fleet.get(ac.type, 0) + 1
    for kind in instance.aircraft_types:
        if in_fleet.get(kind.id, 0) < needed:
            continue
        if any(r.aircraft_types is not None and kind.id not in r.aircraft_types for r in (a, b)):
            continue
        if set(a.capabilities) | set(b.capabilities) <= set(kind.capabilities):
            return kind.id
    return None


def _first_of(a: Request, b: Request) -> str | None:
    """The request that can be off station before the other's latest start (more slack first), or None."""
    slack = {}
    for first, second in ((a, b), (b, a)):
        gap = (second.window.end - timedelta(minutes=second.duration_min)) - (
            first.window.start + timedelta(minutes=first.duration_min)
        )
        if gap >= timedelta(0):
            slack[first.id] = gap
    return max(slack, key=lambda rid: (slack[rid], rid == a.id)) if slack else None


def _side(instance: Instance, req: Request) -> Side:
    side = Side(
        request=req.id,
        agency=req.agency,
        unit=req.unit,
        sector=req.sector,
        window_start=req.window.start,
        window_end=req.window.end,
        duration_min=req.duration_min,
    )
    side._zone = sector_zone(instance, req.sector)
    return side


RADIUS_TOLERANCE_NM = 1e-6
"""Places exactly at the radius are within it: haversine's rounding error (2.5000000000001563 for 2.5 nm)."""


def _target_key(request: Request) -> str:
    """A target as compared: without surrounding spaces and case ("Vessel X " names "vessel x"); "" if none."""
    return (request.target or "").strip().casefold()


def find_conflicts(instance: Instance) -> list[Conflict]:
    """Every pair of requests of different agencies that conflict (SPEC section 8), earliest first."""
    radius = instance.policy.deconfliction_radius_nm
    requests = sorted(instance.requests, key=lambda r: (r.window.start, r.id))
    targets = {r.id: _target_key(r) for r in requests}
    found: list[Conflict] = []
    for i, a in enumerate(requests):
        for b in requests[i + 1 :]:
            if a.agency == b.agency:
                continue
            same_target = bool(targets[a.id]) and targets[a.id] == targets[b.id]
            overlap = _overlap(a, b)
            if not same_target and overlap is None:
                continue
            distance = dist_nm(a.lat, a.lon, b.lat, b.lon)
            within = distance <= radius + RADIUS_TOLERANCE_NM
            kinds: list[Kind] = []
            if same_target:
                kinds.append("same_target")
            if overlap is not None and within:
                kinds.append("nearby")
            if kinds:
                found.append(_conflict(instance, a, b, kinds, distance, within, overlap))
    for n, conflict in enumerate(found, start=1):
        conflict.id = f"C{n}"
    return found


def _conflict(
    instance: Instance,
    a: Request,
    b: Request,
    kinds: list[Kind],
    distance: float,
    within: bool,
    overlap: tuple[datetime, datetime] | None,
) -> Conflict:
    """The conflict between `a` and `b`, with its action: merge when one aircraft type fits both, they are
    `within` the radius and overlap for the longer duration; else sequence when one can go first; else
    escalate."""
    longest = timedelta(minutes=max(a.duration_min, b.duration_min))
    joint = _joint_type(instance, a, b)
    together = overlap is not None and overlap[1] - overlap[0] >= longest
    first = _first_of(a, b)
    if joint is not None and together and within:
        action: Action = "merge"
    elif first is not None:
        action = "sequence"
    else:
        action = "escalate"
    return Conflict(
        id="",
        kinds=kinds,
        a=_side(instance, a),
        b=_side(instance, b),
        distance_nm=round(distance, 1),
        overlap_start=overlap[0] if overlap else None,
        overlap_end=overlap[1] if overlap else None,
        action=action,
        joint_type=joint if action == "merge" else None,
        first=first if action == "sequence" else None,
    )


def with_plan(instance: Instance, plan: Plan, conflicts: list[Conflict] | None = None) -> list[Conflict]:
    """The conflicts with the plan's flights filled in; scheduled ones first."""
    conflicts = find_conflicts(instance) if conflicts is None else conflicts
    flown: dict[str, tuple[datetime, datetime, list[str]]] = {}
    for s in plan.sorties:
        on, off, aircraft = flown.get(s.request, (s.on_station, s.off_station, []))
        flown[s.request] = (on, off, sorted([*aircraft, s.aircraft]))
    out = []
    for conflict in conflicts:
        sides = []
        for side in (conflict.a, conflict.b):
            if side.request in flown:
                on, off, aircraft = flown[side.request]
                side = side.model_copy(update={"on_station": on, "off_station": off, "aircraft": aircraft})
            sides.append(side)
        a, b = sides
        both = a.flown and b.flown
        at_once = both and a.on_station < b.off_station and b.on_station < a.off_station  # type: ignore[operator]
        scheduled = both and ("same_target" in conflict.kinds or ("nearby" in conflict.kinds and at_once))
        out.append(conflict.model_copy(update={"a": a, "b": b, "scheduled": scheduled}))
    return sorted(out, key=lambda c: (not c.scheduled, int(c.id[1:])))


def plan_conflicts(instance: Instance, plan: Plan) -> list[Conflict]:
    """Conflicts between sorties actually scheduled in the plan."""
    return [c for c in with_plan(instance, plan) if c.scheduled]


def conflicts_for_plan(instance: Instance, plan: Plan) -> list[dict]:
    """Every conflict of the instance as JSON-ready dicts for the plan's `conflicts` key, with the plan's
    flights filled in (`scheduled` says whether both are flown at conflicting times) and the action in words."""
    return [conflict_record(c) for c in with_plan(instance, plan)]


def conflict_record(conflict: Conflict) -> dict:
    """A conflict as a JSON-ready dict, with its recommendation in words."""
    return {**conflict.model_dump(mode="json"), "recommendation": conflict.recommendation()}


def conflicts_frame(conflicts: list[Conflict]) -> pd.DataFrame:
    """One row per conflict: both requests, agencies, units, times, distance, kind and action."""
    rows = []
    for c in conflicts:
        row = {"id": c.id, "kind": "+".join(c.kinds), "distance_nm": c.distance_nm}
        for name, side in (("a", c.a), ("b", c.b)):
            row |= {
                f"{name}_request": side.request,
                f"{name}_agency": side.agency,
                f"{name}_unit": side.unit,
                f"{name}_start": side.on_station or side.window_start,
                f"{name}_end": side.off_station or side.window_end,
                f"{name}_aircraft": ",".join(side.aircraft),
            }
        row |= {"scheduled": c.scheduled, "action": c.action, "recommendation": c.recommendation()}
        rows.append(row)
    return pd.DataFrame(rows)
