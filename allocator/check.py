"""An independent checker of a plan against SPEC section 4 and the objective of section 5.

This module is a second reading of the contract: it shares nothing with the
solver (it must never import `allocator.solver`), only the instance model, the
plan model and the minute/transit formulas of `allocator.timeline`. It lists
every violation it finds, never stops at the first, and recomputes the figures
the plan reports (`service`, `cost`, coverage shortfall, the fairness term).

Readings of SPEC that this module follows are those of `docs/decisions.md`:
instance instants round inwards (windows, availability, coverage rules) or
outwards (maintenance) to whole minutes and are clipped to the horizon; a
flight blocks its aircraft over `[takeoff, landing + turnaround)`; the hour
budget is `floor(60 * hours_available)`; `cost` is the exact total rounded
half up. A request counts as served when the plan has at least one sortie for
it (rule 4.2 then says whether those sorties are right).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import numpy as np

from allocator.domain import Aircraft, AircraftType, Base, Instance, Request, count, printable
from allocator.result import Plan, Reason
from allocator.timeline import Timeline, dist_nm, ferry_min, format_instant, free_intervals, transit_min

# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One broken rule: `rule` is a SPEC reference such as "4.2", "4.3-coverage" or "5-objective"."""

    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@dataclass
class CheckReport:
    """Every violation found, and the figures of SPEC section 5 recomputed from the plan."""

    violations: list[Violation] = field(default_factory=list)
    service: int = 0
    cost: int = 0
    value_served: int = 0
    coverage: list[dict[str, Any]] = field(default_factory=list)  # per rule; its window in minutes as start/end_min
    alert: list[tuple[str, int, int, str]] = field(default_factory=list)  # (aircraft, start, end, operating base)
    fairness_penalty: int = 0
    per_agency: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def coverage_penalty(self) -> int:
        return sum(int(rule["penalty"]) for rule in self.coverage)

    def rules(self) -> set[str]:
        """The distinct rules broken."""
        return {v.rule for v in self.violations}

    def summary(self) -> str:
        """A few readable lines: the verdict, the recomputed objective, then every violation."""
        verdict = "valid" if self.ok else f"INVALID ({count(len(self.violations), 'violation')})"
        lines = [
            f"Plan is {verdict}.",
            f"service {self.service} = value served {self.value_served} - coverage penalty "
            f"{self.coverage_penalty} - fairness penalty {self.fairness_penalty}; cost ${self.cost:,}.",
        ]
        short = [c for c in self.coverage if c["shortfall_min"] > 0]
        for c in short:
            lines.append(
                f"coverage {c['sector']}#{c['index']} ({c['capability']} x{c['count']}): "
                f"{count(c['shortfall_min'], 'shortfall minute')}, penalty {c['penalty']}."
            )
        lines.extend(str(v) for v in self.violations)
        return "\n".join(lines)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the plan in minutes ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Sortie:
    aircraft: str
    request: str
    base: str
    takeoff: int
    on: int
    off: int
    landing: int

    @property
    def label(self) -> str:
        return f"the sortie of {self.aircraft} for {self.request}"


@dataclass(frozen=True)
class _Reloc:
    aircraft: str
    src: str
    dst: str
    takeoff: int
    landing: int

    @property
    def label(self) -> str:
        return f"the relocation of {self.aircraft} from {self.src} to {self.dst}"


_Flight = _Sortie | _Reloc


@dataclass
class _Ctx:
    """The instance and the plan, converted once to minutes, plus the report being filled."""

    inst: Instance
    plan: Plan
    report: CheckReport
    tl: Timeline = field(init=False)
    horizon: int = field(init=False)
    sorties: list[_Sortie] = field(init=False)
    relocs: list[_Reloc] = field(init=False)
    aircraft: dict[str, Aircraft] = field(init=False)
    requests: dict[str, Request] = field(init=False)
    kinds: dict[str, AircraftType] = field(init=False)
    base_records: dict[str, Base] = field(init=False)
    _flights: dict[str, list[_Flight]] = field(init=False)
    _relocs: dict[str, list[_Reloc]] = field(init=False)

    def __post_init__(self) -> None:
        self.tl = Timeline(self.inst.horizon.start, self.inst.horizon.end)
        self.horizon = self.tl.end
        self.aircraft = {a.id: a for a in self.inst.aircraft}
        self.requests = {r.id: r for r in self.inst.requests}
        types = {t.id: t for t in self.inst.aircraft_types}
        self.kinds = {a.id: types[a.type] for a in self.inst.aircraft}
        self.base_records = {b.id: b for b in self.inst.bases}
        m = self.tl.minutes
        self.sorties = [
            _Sortie(s.aircraft, s.request, s.base, m(s.takeoff), m(s.on_station), m(s.off_station), m(s.landing))
            for s in self.plan.sorties
        ]
        self.relocs = [_Reloc(r.aircraft, r.from_, r.to, m(r.takeoff), m(r.landing)) for r in self.plan.relocations]
        self._flights, self._relocs = defaultdict(list), defaultdict(list)
        every: list[_Flight] = [*self.sorties, *self.relocs]
        for flight in every:
            self._flights[flight.aircraft].append(flight)
        for group in self._flights.values():
            group.sort(key=lambda f: (f.takeoff, f.landing))
        for r in sorted(self.relocs, key=lambda r: (r.landing, r.takeoff)):
            self._relocs[r.aircraft].append(r)

    def add(self, rule: str, message: str) -> None:
        """Record a violation; ids from the plan that hold control characters are shown escaped (one line)."""
        self.report.violations.append(Violation(rule, printable(message)))

    def at(self, minute: int) -> str:
        """A minute as a readable UTC instant (or as a minute, beyond the calendar's years 1-9999)."""
        try:
            return format_instant(self.tl.instant(minute)).replace(":00Z", "Z")
        except OverflowError:
            return f"minute {minute} of the horizon"

    def kind(self, aircraft_id: str) -> AircraftType:
        return self.kinds[aircraft_id]

    def flights_of(self, aircraft_id: str) -> list[_Flight]:
        """The aircraft's sorties and relocations by takeoff."""
        return self._flights.get(aircraft_id, [])

    def relocs_of(self, aircraft_id: str) -> list[_Reloc]:
        """The aircraft's relocations by landing."""
        return self._relocs.get(aircraft_id, [])

    def base_at(self, aircraft_id: str, minute: int, exclude: _Reloc | None = None) -> str:
        """The operating base at a minute: home, then the `to` of the last relocation landed by then."""
        base = self.aircraft[aircraft_id].home_base
        for r in self.relocs_of(aircraft_id):
            if r is not exclude and r.landing <= minute:
                base = r.dst
        return base

    def available_from(self, ac: Aircraft) -> int:
        return 0 if ac.available_from is None else max(0, self.tl.ceil(ac.available_from))

    def maintenance(self, ac: Aircraft) -> list[tuple[int, int]]:
        """Maintenance windows grown to whole minutes and clipped to the horizon."""
        out = [(max(0, self.tl.floor(w.start)), min(self.horizon, self.tl.ceil(w.end))) for w in ac.maintenance]
        return sorted((a, b) for a, b in out if b > a)

    def window(self, req: Request) -> tuple[int, int]:
        return max(0, self.tl.ceil(req.window.start)), min(self.horizon, self.tl.floor(req.window.end))

    def transit(self, aircraft_id: str, base_id: str, lat: float, lon: float) -> int:
        base = self.base_records[base_id]
        return transit_min(dist_nm(base.lat, base.lon, lat, lon), self.kind(aircraft_id).cruise_kt)

    def served(self) -> set[str]:
        """Known requests with at least one sortie."""
        return {s.request for s in self.sorties if s.request in self.requests}

    def known_sorties(self) -> list[_Sortie]:
        """Sorties whose aircraft and request exist."""
        return [s for s in self.sorties if s.aircraft in self.aircraft and s.request in self.requests]


# -- SPEC section 1 and 3: instants and references ---------------------------------------------


def _plan_instants(plan: Plan) -> list[tuple[str, str, datetime]]:
    out: list[tuple[str, str, datetime]] = []
    for s in plan.sorties:
        label = f"the sortie of {s.aircraft} for {s.request}"
        out += [(label, name, getattr(s, name)) for name in ("takeoff", "on_station", "off_station", "landing")]
    for r in plan.relocations:
        label = f"the relocation of {r.aircraft} from {r.from_} to {r.to}"
        out += [(label, name, getattr(r, name)) for name in ("takeoff", "landing")]
    return out


def check_whole_minutes(ctx: _Ctx) -> None:
    """SPEC 1: every instant that a plan writes is a whole minute."""
    for label, name, instant in _plan_instants(ctx.plan):
        if not ctx.tl.is_whole_minute(instant):
            ctx.add("1", f"The {name} of {label}, {instant.isoformat()}, is not a whole minute.")


def check_instance_name(ctx: _Ctx) -> None:
    """SPEC 3: the plan names the instance it is a plan of."""
    if ctx.plan.instance != ctx.inst.name:
        ctx.add("3-instance", f"The plan is for instance '{ctx.plan.instance}', not '{ctx.inst.name}'.")


def check_references(ctx: _Ctx) -> None:
    """SPEC 3: sorties, relocations and unserved entries name known aircraft, requests and bases."""
    for s in ctx.sorties:
        for what, value, known in (
            ("aircraft", s.aircraft, ctx.aircraft),
            ("request", s.request, ctx.requests),
            ("base", s.base, ctx.base_records),
        ):
            if value not in known:
                ctx.add("3-reference", f"{_cap(s.label)} names unknown {what} '{value}'.")
    for r in ctx.relocs:
        for what, value, known in (("aircraft", r.aircraft, ctx.aircraft), ("base", r.src, ctx.base_records)):
            if value not in known:
                ctx.add("3-reference", f"{_cap(r.label)} names unknown {what} '{value}'.")
        if r.dst not in ctx.base_records:
            ctx.add("3-reference", f"{_cap(r.label)} names unknown base '{r.dst}'.")
    for u in ctx.plan.unserved:
        if u.request not in ctx.requests:
            ctx.add("3-reference", f"The unserved list names unknown request '{u.request}'.")
        for other in u.competitors:
            if other not in ctx.requests:
                ctx.add("3-reference", f"The unserved entry for {u.request} names unknown competitor '{other}'.")


# -- SPEC section 4 ------------------------------------------------------------------------------


def check_eligibility(ctx: _Ctx) -> None:
    """SPEC 4.1: the sortie's type has every required capability and is on the allow-list, if any."""
    for s in ctx.known_sorties():
        req, kind = ctx.requests[s.request], ctx.kind(s.aircraft)
        missing = sorted(set(req.capabilities) - set(kind.capabilities))
        if missing:
            ctx.add("4.1", f"{s.aircraft} ({kind.id}) lacks {', '.join(missing)} required by {s.request}.")
        if req.aircraft_types is not None and kind.id not in req.aircraft_types:
            ctx.add(
                "4.1",
                f"{s.aircraft} is a {kind.id}, not on {s.request}'s allowed types {', '.join(req.aircraft_types)}.",
            )


def check_service(ctx: _Ctx) -> None:
    """SPEC 4.2: exactly `aircraft_count` distinct aircraft, same times, full duration, inside the window."""
    groups: dict[str, list[_Sortie]] = defaultdict(list)
    for s in ctx.sorties:
        if s.request in ctx.requests:
            groups[s.request].append(s)
    for req_id, sorties in groups.items():
        _check_service_of(ctx, ctx.requests[req_id], sorties)


def _check_service_of(ctx: _Ctx, req: Request, sorties: list[_Sortie]) -> None:
    if len(sorties) != req.aircraft_count:
        ctx.add(
            "4.2",
            f"{req.id} has {count(len(sorties), 'sortie')} but needs exactly {req.aircraft_count} aircraft at once.",
        )
    for tail, n in sorted(Counter(s.aircraft for s in sorties).items()):
        if n > 1:
            ctx.add("4.2", f"{tail} flies {n} sorties for {req.id}; its aircraft must be distinct.")
    times = sorted({(s.on, s.off) for s in sorties})
    if len(times) > 1:
        spans = ", ".join(f"{ctx.at(a)}-{ctx.at(b)}" for a, b in times)
        ctx.add("4.2", f"The sorties for {req.id} are not on station together ({spans}).")
    lo, hi = ctx.window(req)
    for on, off in times:
        if off - on != req.duration_min:
            ctx.add(
                "4.2",
                f"{req.id} is on station {off - on} minutes ({ctx.at(on)} to {ctx.at(off)}), "
                f"not its {req.duration_min}-minute duration.",
            )
        if on < lo or off > hi:
            ctx.add(
                "4.2",
                f"{req.id} is on station {ctx.at(on)} to {ctx.at(off)}, outside its window "
                f"{ctx.at(lo)} to {ctx.at(hi)}.",
            )


def check_transit(ctx: _Ctx) -> None:
    """SPEC 4.3: a sortie leaves from and returns to its operating base, allowing transit both ways."""
    for s in ctx.known_sorties():
        if s.base not in ctx.base_records:
            continue
        home = ctx.base_at(s.aircraft, s.takeoff)
        if s.base != home:
            ctx.add(
                "4.3",
                f"{_cap(s.label)} takes off from {s.base} at {ctx.at(s.takeoff)}, "
                f"but its operating base then is {home}.",
            )
        req = ctx.requests[s.request]
        need = ctx.transit(s.aircraft, s.base, req.lat, req.lon)
        if s.on - s.takeoff < need:
            ctx.add(
                "4.3",
                f"{_cap(s.label)} takes off at {ctx.at(s.takeoff)} and is on station at {ctx.at(s.on)}, "
                f"less than the {need}-minute transit from {s.base}.",
            )
        if s.landing - s.off < need:
            ctx.add(
                "4.3",
                f"{_cap(s.label)} leaves station at {ctx.at(s.off)} and lands at {ctx.at(s.landing)}, "
                f"less than the {need}-minute transit back to {s.base}.",
            )


def check_endurance(ctx: _Ctx) -> None:
    """SPEC 4.4: a sortie's `landing - takeoff` is at most the type's endurance."""
    for s in ctx.sorties:
        if s.aircraft not in ctx.aircraft:
            continue
        limit = ctx.kind(s.aircraft).endurance_min
        if s.landing - s.takeoff > limit:
            ctx.add(
                "4.4",
                f"{_cap(s.label)} flies {s.landing - s.takeoff} minutes ({ctx.at(s.takeoff)} to "
                f"{ctx.at(s.landing)}), more than the {limit}-minute endurance.",
            )


def check_one_at_a_time(ctx: _Ctx) -> None:
    """SPEC 4.5: each flight takes off at least `turnaround_min` after the aircraft's previous landing."""
    for tail in ctx.aircraft:
        turnaround = ctx.kind(tail).turnaround_min
        previous: _Flight | None = None
        for flight in ctx.flights_of(tail):
            if previous is not None and flight.takeoff < previous.landing + turnaround:
                ctx.add(
                    "4.5",
                    f"{_cap(flight.label)} takes off at {ctx.at(flight.takeoff)}, before {previous.label} "
                    f"has landed ({ctx.at(previous.landing)}) and turned around ({turnaround} minutes).",
                )
            if previous is None or flight.landing > previous.landing:
                previous = flight


def check_availability(ctx: _Ctx) -> None:
    """SPEC 4.6: no flight starts before the horizon start or `available_from`, or lands after the horizon end."""
    for tail, ac in ctx.aircraft.items():
        start = ctx.available_from(ac)
        for f in ctx.flights_of(tail):
            if f.takeoff < 0:
                ctx.add("4.6", f"{_cap(f.label)} takes off at {ctx.at(f.takeoff)}, before the horizon start.")
            elif f.takeoff < start:
                ctx.add(
                    "4.6",
                    f"{_cap(f.label)} takes off at {ctx.at(f.takeoff)}, before {tail} is available at {ctx.at(start)}.",
                )
            if f.landing > ctx.horizon:
                ctx.add(
                    "4.6",
                    f"{_cap(f.label)} lands at {ctx.at(f.landing)}, after the horizon end {ctx.at(ctx.horizon)}.",
                )


def check_maintenance_overlap(ctx: _Ctx) -> None:
    """SPEC 4.6: no flight, with the turnaround after it, overlaps a maintenance window."""
    for tail, ac in ctx.aircraft.items():
        turnaround = ctx.kind(tail).turnaround_min
        for f in ctx.flights_of(tail):
            for a, b in ctx.maintenance(ac):
                if f.takeoff < b and a < f.landing + turnaround:
                    ctx.add(
                        "4.6",
                        f"{_cap(f.label)} ({ctx.at(f.takeoff)} to {ctx.at(f.landing)}, then {turnaround} "
                        f"minutes of turnaround) overlaps {tail}'s maintenance {ctx.at(a)} to {ctx.at(b)}.",
                    )


def check_maintenance_at_home(ctx: _Ctx) -> None:
    """SPEC 4.6: during maintenance the aircraft's operating base is its home base."""
    for tail, ac in ctx.aircraft.items():
        for a, b in ctx.maintenance(ac):
            held = {ctx.base_at(tail, a)} | {r.dst for r in ctx.relocs_of(tail) if a < r.landing < b}
            for base in sorted(held - {ac.home_base}):
                ctx.add(
                    "4.6",
                    f"{tail} is based at {base}, not its home base {ac.home_base}, during its maintenance "
                    f"{ctx.at(a)} to {ctx.at(b)}.",
                )


def check_hours(ctx: _Ctx) -> None:
    """SPEC 4.7: the aircraft's flight minutes are at most `floor(60 * hours_available)`."""
    for tail, ac in ctx.aircraft.items():
        flown = sum(f.landing - f.takeoff for f in ctx.flights_of(tail))
        budget = math.floor(60 * ac.hours_available + 1e-9)
        if flown > budget:
            ctx.add("4.7", f"{tail} flies {flown} minutes, more than its {budget}-minute budget.")


def check_relocations(ctx: _Ctx) -> None:
    """SPEC 4.8: relocatable aircraft only, within the limit, from the operating base, no faster than a ferry."""
    limit = ctx.inst.policy.max_relocations_per_aircraft
    for tail, ac in ctx.aircraft.items():
        relocs = ctx.relocs_of(tail)
        if relocs and not ac.relocatable:
            ctx.add("4.8", f"{tail} is not relocatable but has {count(len(relocs), 'relocation')}.")
        elif len(relocs) > limit:
            ctx.add("4.8", f"{tail} relocates {count(len(relocs), 'time')}, more than the limit of {limit}.")
        for r in relocs:
            _check_one_relocation(ctx, r)


def _check_one_relocation(ctx: _Ctx, r: _Reloc) -> None:
    if r.src not in ctx.base_records or r.dst not in ctx.base_records:
        return
    where = ctx.base_at(r.aircraft, r.takeoff, exclude=r)
    if r.src != where:
        ctx.add(
            "4.8",
            f"{_cap(r.label)} takes off at {ctx.at(r.takeoff)}, but its operating base then is {where}.",
        )
    if r.dst == r.src:
        ctx.add("4.8", f"{_cap(r.label)} does not change base.")
        return
    kind = ctx.kind(r.aircraft)
    dst = ctx.base_records[r.dst]
    need = ferry_min(ctx.transit(r.aircraft, r.src, dst.lat, dst.lon), kind.endurance_min, kind.turnaround_min)
    if r.landing - r.takeoff < need:
        ctx.add(
            "4.8",
            f"{_cap(r.label)} takes {r.landing - r.takeoff} minutes ({ctx.at(r.takeoff)} to "
            f"{ctx.at(r.landing)}), less than the {need}-minute ferry.",
        )


def check_completeness(ctx: _Ctx) -> None:
    """SPEC 4.9: every request not served is in `unserved` exactly once, and no served request is."""
    served = ctx.served()
    listed = Counter(u.request for u in ctx.plan.unserved)
    for req_id, n in sorted(listed.items()):
        if req_id in served:
            ctx.add("4.9", f"{req_id} is served but listed as unserved.")
        if n > 1:
            ctx.add("4.9", f"{req_id} is listed as unserved {n} times.")
    for req in ctx.inst.requests:
        if req.id not in served and req.id not in listed:
            ctx.add("4.9", f"{req.id} is not served and missing from the unserved list.")


def check_reasons(ctx: _Ctx) -> None:
    """SPEC 6: every unserved entry has one of the reason codes, true of the instance where it alone decides."""
    codes = {r.value for r in Reason}
    served = ctx.served()
    for u in ctx.plan.unserved:
        code = getattr(u.reason, "value", u.reason)
        if code not in codes:
            ctx.add("6", f"The unserved entry for {u.request} has unknown reason '{code}'.")
        elif u.request in ctx.requests:
            _check_static_reason(ctx, ctx.requests[u.request], code)
        if code == Reason.NOT_PROVEN.value and _status(ctx) == "OPTIMAL":
            ctx.add("6", f"{u.request} is unserved as NOT_PROVEN, but the plan is OPTIMAL (proven).")
        for other in u.competitors:
            if other in ctx.requests and other not in served:
                ctx.add(
                    "6",
                    f"The unserved entry for {u.request} names {other} as a competitor; the plan does not serve it.",
                )


def _check_static_reason(ctx: _Ctx, req: Request, code: str) -> None:
    """NO_CAPABLE_TYPE exactly when fewer aircraft qualify than it needs; OUT_OF_RANGE when fewer can reach it."""
    eligible = [ac for ac in ctx.inst.aircraft if _qualifies(ctx.kind(ac.id), req)]
    in_range = [ac for ac in eligible if _can_reach(ctx, ac, req)]
    need = req.aircraft_count
    if len(eligible) < need:
        expected = Reason.NO_CAPABLE_TYPE.value
        why = f"only {len(eligible)} aircraft qualif{'y' if len(eligible) != 1 else 'ies'} and it needs {need}"
    elif len(in_range) < need:
        expected = Reason.OUT_OF_RANGE.value
        why = f"{len(eligible)} aircraft qualify but only {len(in_range)} can reach it within endurance"
    else:
        if code in (Reason.NO_CAPABLE_TYPE.value, Reason.OUT_OF_RANGE.value):
            ctx.add("6", f"{req.id} is unserved as {code}, but {len(in_range)} qualifying aircraft can reach it.")
        return
    if code != expected:
        ctx.add("6", f"{req.id} is unserved as {code}, but {why}: the reason is {expected}.")


def _qualifies(kind: AircraftType, req: Request) -> bool:
    """SPEC 4.1 for a type: every required capability, and on the allow-list when there is one."""
    allowed = req.aircraft_types is None or kind.id in req.aircraft_types
    return allowed and set(req.capabilities) <= set(kind.capabilities)


def _can_reach(ctx: _Ctx, ac: Aircraft, req: Request) -> bool:
    """A sortie from home (or from any base, when the aircraft may relocate) fits its endurance."""
    may_relocate = ac.relocatable and ctx.inst.policy.max_relocations_per_aircraft > 0
    bases = list(ctx.base_records) if may_relocate else [ac.home_base]
    endurance = ctx.kind(ac.id).endurance_min
    return any(2 * ctx.transit(ac.id, b, req.lat, req.lon) + req.duration_min <= endurance for b in bases)


# -- SPEC 4.3 coverage -----------------------------------------------------------------------------


def _alert_intervals(ctx: _Ctx, ac: Aircraft) -> list[tuple[int, int, str]]:
    """Where the aircraft is on alert: `(start, end, operating base)`, on the ground and not blocked."""
    turnaround = ctx.kind(ac.id).turnaround_min
    blocked = [(0, ctx.available_from(ac)), *ctx.maintenance(ac)]
    blocked += [(f.takeoff, f.landing + turnaround) for f in ctx.flights_of(ac.id)]
    relocs = ctx.relocs_of(ac.id)
    changes = [0] + [r.landing for r in relocs] + [ctx.horizon]
    bases = [ac.home_base] + [r.dst for r in relocs]
    out = []
    for a, b in free_intervals(blocked, ctx.horizon):
        for i, base in enumerate(bases):
            lo, hi = max(a, changes[i]), min(b, changes[i + 1])
            if hi > lo:
                out.append((lo, hi, base))
    return out


@dataclass
class _AlertTable:
    """All alert intervals of the fleet as flat arrays, for fast per-rule sweeps."""

    start: np.ndarray
    end: np.ndarray
    sector: np.ndarray  # index into `sectors` of the operating base's sector (-1 when unknown)
    aircraft: np.ndarray  # index into the fleet
    sectors: list[str]
    capabilities: list[set[str]]


def _alert_table(ctx: _Ctx) -> _AlertTable:
    """The fleet's alert intervals, also kept in the report (`CheckReport.alert`) for the HTML report."""
    sectors = [s.id for s in ctx.inst.sectors]
    index = {sector: i for i, sector in enumerate(sectors)}
    sector_of = {b.id: index.get(b.sector, -1) for b in ctx.inst.bases}
    rows: list[tuple[int, int, int, int]] = []
    for i, ac in enumerate(ctx.inst.aircraft):
        spans = _alert_intervals(ctx, ac)
        ctx.report.alert += [(ac.id, a, b, base) for a, b, base in spans]
        rows += [(a, b, sector_of.get(base, -1), i) for a, b, base in spans]
    cols = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return _AlertTable(
        start=cols[:, 0],
        end=cols[:, 1],
        sector=cols[:, 2],
        aircraft=cols[:, 3],
        sectors=sectors,
        capabilities=[set(ctx.kind(ac.id).capabilities) for ac in ctx.inst.aircraft],
    )


def _shortfall(table: _AlertTable, sector: str, capability: str, count: int, lo: int, hi: int) -> int:
    """Sum over minutes of `[lo, hi)` of `max(0, count - aircraft on alert)`."""
    if hi <= lo:
        return 0
    capable = np.array([capability in caps for caps in table.capabilities], dtype=bool)
    mask = (table.sector == table.sectors.index(sector)) & capable[table.aircraft]
    starts = np.clip(table.start[mask], lo, hi) - lo
    ends = np.clip(table.end[mask], lo, hi) - lo
    diff = np.bincount(starts, minlength=hi - lo + 1) - np.bincount(ends, minlength=hi - lo + 1)
    on_alert = np.cumsum(diff)[: hi - lo]
    return int(np.maximum(0, count - on_alert).sum())


def compute_coverage(ctx: _Ctx) -> list[dict[str, Any]]:
    """SPEC 4.3: shortfall minutes and penalty `ceil(penalty_per_hour * shortfall / 60)` per rule."""
    table = _alert_table(ctx)
    out = []
    for sector in ctx.inst.sectors:
        for index, rule in enumerate(sector.coverage):
            lo = max(0, ctx.tl.ceil(rule.start))
            hi = min(ctx.horizon, ctx.tl.floor(rule.end))
            short = _shortfall(table, sector.id, rule.capability, rule.count, lo, hi)
            out.append(
                {
                    "sector": sector.id,
                    "index": index,
                    "capability": rule.capability,
                    "count": rule.count,
                    "start_min": lo,
                    "end_min": hi,
                    "shortfall_min": short,
                    "penalty": -(-rule.penalty_per_hour * short // 60),
                }
            )
    return out


def check_reported_coverage(ctx: _Ctx) -> None:
    """SPEC 4.3: the shortfall a plan reports per rule (when it reports one) is the recomputed one."""
    computed = {(c["sector"], c["index"]): c for c in ctx.report.coverage}
    for entry in ctx.plan.coverage:
        if not isinstance(entry, dict) or "sector" not in entry or "index" not in entry:
            continue
        key = (entry["sector"], entry["index"])
        if not isinstance(key[0], str) or not isinstance(key[1], int) or isinstance(key[1], bool):
            ctx.add("4.3-coverage", f"The plan reports coverage for rule {key[0]!r}#{key[1]!r}, which names no rule.")
            continue
        if key not in computed:
            ctx.add("4.3-coverage", f"The plan reports coverage for unknown rule {key[0]}#{key[1]}.")
            continue
        for name in ("shortfall_min", "penalty"):
            if name in entry and (entry[name] != computed[key][name] or isinstance(entry[name], bool)):
                ctx.add(
                    "4.3-coverage",
                    f"The plan reports {name} {entry[name]} for coverage rule {key[0]}#{key[1]}, "
                    f"but it is {computed[key][name]}.",
                )


# -- SPEC section 5 ------------------------------------------------------------------------------


def compute_cost(ctx: _Ctx) -> int:
    """SPEC 5: `cost_per_hour * flight minutes / 60` over all flights, total rounded half up."""
    total = Fraction(0)
    flights: list[_Flight] = [*ctx.sorties, *ctx.relocs]
    for f in flights:
        if f.aircraft in ctx.aircraft:
            rate = Fraction(repr(ctx.kind(f.aircraft).cost_per_hour))
            total += rate * (f.landing - f.takeoff) / 60
    return math.floor(total + Fraction(1, 2))


def compute_agencies(ctx: _Ctx) -> tuple[dict[str, dict[str, int]], int]:
    """SPEC 5 fairness: per agency counts and values, and `weight * max(0, ceil(share * requested) - served)`."""
    policy, served = ctx.inst.policy, ctx.served()
    table: dict[str, dict[str, int]] = {}
    for req in ctx.inst.requests:
        row = table.setdefault(req.agency, {"requested": 0, "served": 0, "requested_value": 0, "served_value": 0})
        row["requested"] += 1
        row["requested_value"] += ctx.inst.value(req)
        if req.id in served:
            row["served"] += 1
            row["served_value"] += ctx.inst.value(req)
    total = 0
    for agency, row in table.items():
        share = Fraction(repr(policy.share(agency))) if policy.agency_min_share is not None else Fraction(0)
        row["floor"] = math.ceil(share * row["requested_value"])
        row["penalty"] = policy.fairness_weight * max(0, row["floor"] - row["served_value"])
        total += row["penalty"]
    return table, total


def check_objective(ctx: _Ctx) -> None:
    """SPEC 4.9 and 5: the plan's `objective` equals the recomputed service and cost."""
    rep, reported = ctx.report, ctx.plan.objective
    if reported.service != rep.service:
        ctx.add(
            "5-objective",
            f"The plan reports service {reported.service}, but it is {rep.service} (value {rep.value_served}, "
            f"coverage penalty {rep.coverage_penalty}, fairness penalty {rep.fairness_penalty}).",
        )
    if reported.cost != rep.cost:
        ctx.add("5-objective", f"The plan reports cost {reported.cost}, but it is {rep.cost}.")
    bound = ctx.plan.bound.service
    if bound is not None and bound < rep.service:
        ctx.add("5-bound", f"The plan's bound {bound} is below its own service {rep.service}.")
    if _status(ctx) == "OPTIMAL" and bound != rep.service:
        ctx.add("5-bound", f"The plan is OPTIMAL, so its service {rep.service} is proven, but its bound is {bound}.")


def _status(ctx: _Ctx) -> str:
    return str(getattr(ctx.plan.status, "value", ctx.plan.status))


def _compute_figures(ctx: _Ctx) -> None:
    rep = ctx.report
    rep.value_served = sum(ctx.inst.value(ctx.requests[r]) for r in ctx.served())
    rep.coverage = compute_coverage(ctx)
    rep.per_agency, rep.fairness_penalty = compute_agencies(ctx)
    rep.service = rep.value_served - rep.coverage_penalty - rep.fairness_penalty
    rep.cost = compute_cost(ctx)


# -- entry point ---------------------------------------------------------------------------------

RULE_CHECKS = (
    check_instance_name,
    check_whole_minutes,
    check_references,
    check_eligibility,
    check_service,
    check_transit,
    check_endurance,
    check_one_at_a_time,
    check_availability,
    check_maintenance_overlap,
    check_maintenance_at_home,
    check_hours,
    check_relocations,
    check_completeness,
    check_reasons,
)


def check(instance: Instance, plan: Plan | dict[str, Any]) -> CheckReport:
    """Check a plan against SPEC section 4 and recompute its objective (section 5); lists every violation."""
    if not isinstance(plan, Plan):
        plan = Plan.model_validate(plan)
    ctx = _Ctx(instance, plan, CheckReport())
    for rule in RULE_CHECKS:
        rule(ctx)
    _compute_figures(ctx)
    check_reported_coverage(ctx)
    check_objective(ctx)
    return ctx.report


__all__ = ["CheckReport", "Violation", "check"]
