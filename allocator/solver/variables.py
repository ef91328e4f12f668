"""Typed containers of CP-SAT variables, named from domain ids.

Decision variables:

- `on[r]`: the on-station minute of request `r` (shared by all its aircraft);
  `served[r]`: whether it is served.
- one optional interval per candidate sortie `(aircraft, request, base, slot)`,
  blocking the aircraft from takeoff to landing + turnaround; `slot` counts the
  relocations that landed before it (0: from the home base).
- per relocatable aircraft, one optional interval per relocation slot, with a
  Boolean per route `(from, to)`.
- per coverage rule: *absence* intervals of the aircraft that could stand alert
  for it (while they operate outside the sector), and optional *fill* intervals,
  each anchored where a busy interval ends (see `constraints.add_coverage`).
- redundant, on small instances: the coverage *time grid*: per pool aircraft,
  sector and bucket its alert minutes, and literals placing each takeoff,
  departure and arrival in a bucket (see `constraints.add_coverage_time_grid`).

Candidates that can never be part of a valid plan (ineligible, out of range,
outside the window or the horizon, over the hour budget, always overlapping
maintenance) are not created at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from allocator.domain import Aircraft, CoverageRule, Request
from allocator.solver.prepare import Prepared, SortieShape

Domain = cp_model.Domain


def last_value(domain: Any) -> int:
    """The largest value of a proto domain (its repeated field has no negative indexing: `[-1]` gives 0)."""
    return domain[len(domain) - 1]


def upper(var: cp_model.IntVar) -> int:
    """The largest value in the variable's domain."""
    return last_value(var.proto.domain)


@dataclass
class SortieVar:
    """A candidate sortie: `present` decides it, `interval` blocks the aircraft."""

    shape: SortieShape
    slot: int
    present: cp_model.IntVar
    interval: cp_model.IntervalVar
    on_domain: Domain
    turnaround_min: int
    cost: int  # cents x minutes / 60 (see objective)

    def __post_init__(self) -> None:
        self.block_min = self.shape.flight_min + self.turnaround_min
        self.earliest_takeoff = self.on_domain.min() - self.shape.out_min
        self.latest_takeoff = self.on_domain.max() - self.shape.out_min
        self.earliest_block_end = self.earliest_takeoff + self.block_min


@dataclass
class RelocationSlot:
    """The k-th relocation of an aircraft (k >= 1)."""

    k: int
    present: cp_model.IntVar
    routes: dict[tuple[str, str], cp_model.IntVar]
    ferry: dict[tuple[str, str], int]
    start: cp_model.IntVar  # takeoff
    size: cp_model.IntVar  # ferry + turnaround
    end: cp_model.IntVar
    interval: cp_model.IntervalVar

    def at(self, base: str) -> list[cp_model.IntVar]:
        """Route literals that leave the aircraft operating from `base` after this slot."""
        return [lit for (_, dest), lit in self.routes.items() if dest == base]

    def leaving(self, base: str) -> list[cp_model.IntVar]:
        return [lit for (origin, _), lit in self.routes.items() if origin == base]


# the known value of a variable (a constant is its own value), and an auxiliary's value through such a lookup
Lookup = Callable[[cp_model.IntVar | int], int]
Derivation = Callable[[Lookup], int]


@dataclass
class FillVar:
    """A stretch of the rule window filled by an aircraft on alert (see `constraints.add_coverage`)."""

    present: cp_model.IntVar
    start: cp_model.IntVar
    size: cp_model.IntVar
    end: cp_model.IntVar
    interval: cp_model.IntervalVar
    anchor: cp_model.IntervalVar | None = None  # starts where this busy interval ends (None: at the rule start)


@dataclass
class RuleVars:
    """Coverage rule: busy intervals per pool aircraft, fill intervals, penalty."""

    sector: str
    index: int
    rule: CoverageRule
    start: int
    end: int
    busy: dict[str, list[cp_model.IntervalVar]] = field(default_factory=dict)
    absent: dict[str, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # relocated out, by slot
    arrived: dict[str, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # relocated in, by slot
    absences: set[int] = field(default_factory=set)  # indices of the busy intervals that are absences
    fills: list[FillVar] = field(default_factory=list)
    # auxiliary variables as functions of the decisions (for completing a hint): (variable, value given
    # a lookup of already known values), in an order in which each only needs earlier ones
    derived: list[tuple[cp_model.IntVar, Derivation]] = field(default_factory=list)
    count: int = 0  # aircraft still to find on alert, after those on alert whatever the plan
    penalty: cp_model.IntVar | int = 0


@dataclass
class Placement:
    """`lit` is true iff `present` and `lo <= var - shift <= hi` (`hi` None: after every piece)."""

    lit: cp_model.IntVar
    var: cp_model.IntVar
    shift: int
    lo: int
    hi: int | None
    present: cp_model.IntVar


@dataclass
class TimeGrid:
    """Buckets of `width` minutes from the horizon start, for the time-indexed coverage bound."""

    width: int
    horizon: int
    alert: dict[tuple[str, str, int], cp_model.IntVar] = field(default_factory=dict)  # (aircraft, sector, j)
    covered: list[tuple[cp_model.IntVar, RuleVars, int]] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    # running sums `total == previous + sum(literals)` (departed or arrived before a bucket)
    running: list[tuple[cp_model.IntVar, list[cp_model.IntVar], cp_model.IntVar | int]] = field(default_factory=list)

    def buckets(self, start: int, end: int) -> range:
        return range(start // self.width, (end - 1) // self.width + 1) if end > start else range(0)

    def begin(self, j: int) -> int:
        return j * self.width

    def end(self, j: int) -> int:
        return min((j + 1) * self.width, self.horizon)

    def overlap(self, start: int, end: int, j: int) -> int:
        return max(0, min(end, self.end(j)) - max(start, self.begin(j)))

    def pieces(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """`[lo, hi]` cut at the bucket edges, as (first, last) pairs."""
        out = []
        while lo <= hi:
            edge = (lo // self.width + 1) * self.width
            out.append((lo, min(hi, edge - 1)))
            lo = edge
        return out

    def pieces_of(self, var: cp_model.IntVar, last: int) -> list[tuple[int, int]]:
        """The variable's range up to `last`, cut at the bucket edges (later values fall in no piece)."""
        lo, hi = var.proto.domain[0], min(upper(var), last)
        return self.pieces(lo, hi)

    def place(
        self,
        m: cp_model.CpModel,
        var: cp_model.IntVar,
        present: cp_model.IntVar,
        name: str,
        pieces: list[tuple[int, int]],
        shift: int = 0,
        complete: bool = False,
    ) -> list[tuple[int, int, cp_model.IntVar]]:
        """A literal per piece for `var - shift` falling in it; with one for "after the last piece" (unless
        the pieces are `complete`: they hold every value `var` takes when `present`) they sum to `present`.
        A single piece holding every value is `present` itself."""
        if not pieces:
            return []
        top = pieces[-1][1] if complete else upper(var) - shift
        if len(pieces) == 1 and pieces[0][1] >= top:
            return [(pieces[0][0], pieces[0][1], present)]
        out = []
        for k, (lo, hi) in enumerate(pieces):
            lit = m.new_bool_var(f"{name}[{k}]")
            m.add(var >= lo + shift).only_enforce_if(lit)
            m.add(var <= hi + shift).only_enforce_if(lit)
            self.placements.append(Placement(lit, var, shift, lo, hi, present))
            out.append((lo, hi, lit))
        lits = [lit for _, _, lit in out]
        if pieces[-1][1] < top:
            later = m.new_bool_var(f"{name}[later]")
            m.add(var >= pieces[-1][1] + 1 + shift).only_enforce_if(later)
            self.placements.append(Placement(later, var, shift, pieces[-1][1] + 1, None, present))
            lits.append(later)
        m.add(sum(lits) == present)
        return out


@dataclass
class Variables:
    model: cp_model.CpModel
    prep: Prepared
    on: dict[str, cp_model.IntVar] = field(default_factory=dict)
    served: dict[str, cp_model.IntVar] = field(default_factory=dict)
    sorties: dict[str, list[SortieVar]] = field(default_factory=dict)  # by request
    by_aircraft: dict[str, list[SortieVar]] = field(default_factory=dict)
    slots: dict[str, list[RelocationSlot]] = field(default_factory=dict)
    destinations: dict[str, list[str]] = field(default_factory=dict)
    maintenance: dict[str, list[cp_model.IntervalVar]] = field(default_factory=dict)
    flight_minutes: dict[str, cp_model.LinearExprT] = field(default_factory=dict)
    rules: list[RuleVars] = field(default_factory=list)
    fairness_deficit: dict[str, cp_model.IntVar] = field(default_factory=dict)
    frozen: list[SortieVar] = field(default_factory=list)  # baseline sorties flown before `now`
    kept: list[cp_model.IntVar] = field(default_factory=list)  # per baseline sortie: kept unchanged
    kept_relocations: list[cp_model.IntVar] = field(default_factory=list)  # per baseline relocation: kept
    grid: TimeGrid | None = None  # the time-indexed coverage bound, when built
    # a relaxation (`patterns.relaxation`): per request, how many of each group of relaxed aircraft fly it
    pattern_cover: dict[str, list[cp_model.IntVar]] = field(default_factory=dict)
    terms: Any = None  # objective.Terms, set by objective.define

    def flights(self, aircraft_id: str) -> list[cp_model.IntervalVar]:
        """Every interval that occupies the aircraft: sorties, relocations, maintenance."""
        return [
            *(s.interval for s in self.by_aircraft.get(aircraft_id, [])),
            *(slot.interval for slot in self.slots.get(aircraft_id, [])),
            *self.maintenance.get(aircraft_id, []),
        ]


def feasible_on_domain(prep: Prepared, ac: Aircraft, req: Request, shape: SortieShape, slot: int) -> Domain:
    """On-station minutes at which this sortie fits the window, horizon, availability and maintenance."""
    kind = prep.type_of(ac)
    lo, hi = prep.window(req)
    first = max(lo, prep.available_from(ac) + shape.out_min)
    last = min(hi - shape.duration_min, prep.horizon_min - shape.duration_min - shape.back_min)
    maintenance = prep.maintenance(ac)
    if slot >= 1:
        ferry_in = prep.ferry(ac, ac.home_base, shape.base) if slot == 1 else 0
        first = max(first, prep.available_from(ac) + ferry_in + kind.turnaround_min + shape.out_min)
        if prep.max_relocations(ac) == 1 and maintenance:
            # away from home after its only relocation: that relocation follows the last maintenance
            first = max(
                first,
                maintenance[-1][1] + prep.ferry(ac, ac.home_base, shape.base) + kind.turnaround_min + shape.out_min,
            )
    if first > last:
        return Domain.from_values([])
    block_after_on = shape.duration_min + shape.back_min + kind.turnaround_min
    # block [on - out, on + block_after_on) overlaps [start, end) iff on in (start - block_after_on, end + out)
    forbidden = [
        (start - block_after_on + 1, end + shape.out_min - 1)
        for start, end in maintenance
        if start - block_after_on + 1 <= last and end + shape.out_min - 1 >= first
    ]
    domain = Domain(first, last)
    for lo, hi in forbidden:
        domain = domain.intersection_with(Domain(lo, hi).complement())
    return domain


def relocation_destinations(prep: Prepared, ac: Aircraft) -> list[str]:
    """Bases worth relocating to: an eligible request is in range from there, or its sector asks for alert
    cover with the type's capability, in time to matter. With a single relocation allowed, a base of the
    home sector from which no request is closer than from home is dominated (fly from home instead)."""
    if prep.max_relocations(ac) == 0:
        return []
    kind = prep.type_of(ac)
    home = prep.instance.base(ac.home_base)
    single = prep.max_relocations(ac) == 1
    eligible = [req for req in prep.instance.requests if prep.eligible(req, kind)]
    out = []
    for base in prep.instance.bases:
        if base.id == home.id:
            continue
        arrival = prep.available_from(ac) + prep.ferry(ac, home.id, base.id) + kind.turnaround_min
        if single and arrival >= prep.horizon_min:
            continue
        covers = any(
            rule.capability in kind.capabilities and prep.timeline.floor(rule.end) > arrival
            for sector in prep.instance.sectors
            if sector.id == base.sector
            for rule in sector.coverage
        )
        useful = [
            req for req in eligible if prep.in_range(ac, req, base.id) and (not single or prep.window(req)[1] > arrival)
        ]
        if not covers and not useful:
            continue
        if (
            single
            and base.sector == home.sector
            and all(
                prep.in_range(ac, req, home.id)
                and prep.shape(ac, req, home.id).out_min <= prep.shape(ac, req, base.id).out_min
                for req in useful
            )
        ):
            continue  # dominated: every sortie from there is as good from home, without the ferry
        out.append(base.id)
    return out
