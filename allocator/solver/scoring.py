"""The objective of SPEC section 5 for a fixed schedule, as docs/decisions.md reads it.

Used for both the FCFS plan and the CP-SAT plan, so the two are compared on the
same numbers. Coverage (SPEC 4.3) is counted per minute with numpy: each
aircraft's on-alert stretches are built as intervals, summed per (sector,
capability) with a difference array, and each rule's shortfall is
`sum(max(0, count - on_alert))` over its minutes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from allocator.domain import Aircraft, CoverageRule, Request
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Flight, Schedule
from allocator.timeline import merge_intervals

Interval = tuple[int, int]


@dataclass(frozen=True)
class RuleShortfall:
    """One coverage rule's shortfall: minutes are clipped to the horizon."""

    sector: str
    rule: int  # index in the sector's `coverage` list
    capability: str
    count: int
    start: int
    end: int
    shortfall_min: int  # missing aircraft-minutes
    penalty: int  # ceil(penalty_per_hour * shortfall_min / 60)


@dataclass(frozen=True)
class AgencyFulfilment:
    """Requests and their value, asked for and served (per agency or per sector)."""

    requested: int = 0
    served: int = 0
    value_requested: int = 0
    value_served: int = 0

    def plus(self, value: int, served: bool) -> AgencyFulfilment:
        """This tally with one more request added."""
        return AgencyFulfilment(
            self.requested + 1,
            self.served + served,
            self.value_requested + value,
            self.value_served + (value if served else 0),
        )


@dataclass(frozen=True)
class Score:
    """SPEC section 5 for one schedule, with the parts it is made of."""

    service: int
    cost: int
    value_served: int
    coverage: list[RuleShortfall] = field(default_factory=list)
    fairness_penalty: int = 0
    per_agency: dict[str, AgencyFulfilment] = field(default_factory=dict)
    per_sector: dict[str, AgencyFulfilment] = field(default_factory=dict)

    @property
    def coverage_penalty(self) -> int:
        return sum(r.penalty for r in self.coverage)

    @property
    def shortfall_min(self) -> int:
        return sum(r.shortfall_min for r in self.coverage)


def score(prep: Prepared, schedule: Schedule) -> Score:
    """The section 5 objective of a fixed schedule (served = has at least one sortie)."""
    served = schedule.served()
    requests = prep.instance.requests
    value_served = sum(prep.instance.value(r) for r in requests if r.id in served)
    coverage = coverage_shortfall(prep, schedule)
    per_agency = fulfilment(prep, served, lambda r: r.agency)
    fairness = fairness_penalty(prep, per_agency)
    return Score(
        service=value_served - sum(r.penalty for r in coverage) - fairness,
        cost=schedule_cost(prep, schedule),
        value_served=value_served,
        coverage=coverage,
        fairness_penalty=fairness,
        per_agency=per_agency,
        per_sector=fulfilment(prep, served, lambda r: r.sector),
    )


# -- cost ----------------------------------------------------------------------------------------
def exact_rate(cost_per_hour: float) -> Fraction:
    """The hourly rate as written in decimal (1200.6, not the binary float just below it), as the checker reads it."""
    return Fraction(repr(cost_per_hour))


def dollars(cost_per_hour: float, minutes: int) -> int:
    """SPEC 5's cost of `minutes` of flight at `cost_per_hour`: `cost_per_hour * minutes / 60`, rounded half up."""
    return math.floor(exact_rate(cost_per_hour) * minutes / 60 + Fraction(1, 2))


def schedule_cost(prep: Prepared, schedule: Schedule) -> int:
    """`floor(sum cost_per_hour * flight minutes / 60 + 1/2)` over all flights, exactly."""
    rate = {ac.id: exact_rate(prep.type_of(ac).cost_per_hour) for ac in prep.instance.aircraft}
    total = Fraction(0)
    for flight in schedule.flights():
        total += rate[flight.aircraft] * (flight.landing - flight.takeoff)
    return math.floor(total / 60 + Fraction(1, 2))


# -- requests, agencies, fairness --------------------------------------------------------------------
def fulfilment(prep: Prepared, served: set[str], key: Callable[[Request], str]) -> dict[str, AgencyFulfilment]:
    """Requested and served tallies grouped by `key(request)`, keys sorted."""
    out: dict[str, AgencyFulfilment] = {}
    for req in prep.instance.requests:
        group = key(req)
        out[group] = out.get(group, AgencyFulfilment()).plus(prep.instance.value(req), req.id in served)
    return dict(sorted(out.items()))


def fairness_floor(share: float, value_requested: int) -> int:
    """`ceil(share * requested)`, reading the share as the decimal written (0.14 * 50 is 7, not 8)."""
    return math.ceil(Fraction(repr(share)) * value_requested)


def fairness_penalty(prep: Prepared, per_agency: dict[str, AgencyFulfilment]) -> int:
    """`fairness_weight * sum max(0, floor_g - served_g)` when `agency_min_share` is set, else 0."""
    policy = prep.instance.policy
    if policy.agency_min_share is None:
        return 0
    missing = sum(
        max(0, fairness_floor(policy.share(agency), tally.value_requested) - tally.value_served)
        for agency, tally in per_agency.items()
    )
    return policy.fairness_weight * missing


# -- coverage ------------------------------------------------------------------------------------
def operating_base_timeline(prep: Prepared, aircraft: Aircraft, schedule: Schedule) -> list[tuple[int, int, str]]:
    """`[start, end, base)` stretches covering the horizon: home base, then each relocation's `to` from its landing."""
    relocations = sorted((r for r in schedule.relocations if r.aircraft == aircraft.id), key=lambda r: r.landing)
    out: list[tuple[int, int, str]] = []
    start, base = 0, aircraft.home_base
    for rel in relocations:
        landing = min(max(rel.landing, 0), prep.horizon_min)
        if landing > start:
            out.append((start, landing, base))
            start = landing
        base = rel.dest
    if prep.horizon_min > start:
        out.append((start, prep.horizon_min, base))
    return out


def _subtract(segment: Interval, blocked: list[Interval]) -> list[Interval]:
    """`segment` minus a sorted disjoint list of intervals."""
    out: list[Interval] = []
    cursor, end = segment
    for b_start, b_end in blocked:
        if b_end <= cursor:
            continue
        if b_start >= end:
            break
        if b_start > cursor:
            out.append((cursor, b_start))
        cursor = max(cursor, b_end)
    if cursor < end:
        out.append((cursor, end))
    return out


def alert_intervals(
    prep: Prepared, aircraft: Aircraft, schedule: Schedule, flights: Sequence[Flight] | None = None
) -> list[tuple[int, int, str]]:
    """`(start, end, base)` stretches when the aircraft is on alert at its operating base (decisions.md)."""
    turnaround = prep.type_of(aircraft).turnaround_min
    if flights is None:
        flights = [f for f in schedule.flights() if f.aircraft == aircraft.id]
    blocked = [(0, prep.available_from(aircraft)), *prep.maintenance(aircraft)]
    blocked += [(f.takeoff, f.landing + turnaround) for f in flights]
    blocked = merge_intervals(blocked)
    out: list[tuple[int, int, str]] = []
    for start, end, base in operating_base_timeline(prep, aircraft, schedule):
        out.extend((s, e, base) for s, e in _subtract((start, end), blocked))
    return out


def _rule_keys(prep: Prepared) -> set[tuple[str, str]]:
    """The (sector, capability) pairs some coverage rule asks for."""
    return {(s.id, rule.capability) for s in prep.instance.sectors for rule in s.coverage}


def alert_counts(prep: Prepared, schedule: Schedule) -> dict[tuple[str, str], np.ndarray]:
    """Per (sector, capability) of a rule: aircraft on alert at each minute of the horizon."""
    keys = _rule_keys(prep)
    horizon = prep.horizon_min
    if not keys:
        return {}
    sector_of = {b.id: b.sector for b in prep.instance.bases}
    flights_of: dict[str, list[Flight]] = {}
    for flight in schedule.flights():
        flights_of.setdefault(flight.aircraft, []).append(flight)
    edges: dict[tuple[str, str], tuple[list[int], list[int]]] = {k: ([], []) for k in keys}
    for ac in prep.instance.aircraft:
        capabilities = prep.type_of(ac).capabilities
        for start, end, base in alert_intervals(prep, ac, schedule, flights_of.get(ac.id, [])):
            for cap in capabilities:
                key = (sector_of[base], cap)
                if key in edges:
                    edges[key][0].append(start)
                    edges[key][1].append(end)
    counts = {}
    for key, (starts, ends) in edges.items():
        diff = np.zeros(horizon + 1, dtype=np.int64)
        np.add.at(diff, np.asarray(starts, dtype=np.int64), 1)
        np.add.at(diff, np.asarray(ends, dtype=np.int64), -1)
        counts[key] = np.cumsum(diff[:horizon])
    return counts


def rule_minutes(prep: Prepared, rule: CoverageRule) -> Interval:
    """A coverage rule's minutes: start rounds up, end rounds down, clipped to the horizon."""
    start = max(0, prep.timeline.ceil(rule.start))
    end = min(prep.horizon_min, prep.timeline.floor(rule.end))
    return start, max(start, end)


def coverage_shortfall(prep: Prepared, schedule: Schedule) -> list[RuleShortfall]:
    """Every coverage rule's shortfall minutes and penalty, in sector and rule order."""
    counts = alert_counts(prep, schedule)
    out = []
    for sector in prep.instance.sectors:
        for index, rule in enumerate(sector.coverage):
            start, end = rule_minutes(prep, rule)
            on_alert = counts[(sector.id, rule.capability)][start:end]
            shortfall = int(np.maximum(0, rule.count - on_alert).sum())
            penalty = -(-rule.penalty_per_hour * shortfall // 60)
            out.append(RuleShortfall(sector.id, index, rule.capability, rule.count, start, end, shortfall, penalty))
    return out
