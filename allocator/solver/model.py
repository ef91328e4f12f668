"""Build the CP-SAT model: create the variables, then add one constraint family per SPEC rule."""

from __future__ import annotations

import logging
from collections import Counter

from ortools.sat.python import cp_model

from allocator.domain import Aircraft
from allocator.solver import constraints as rules
from allocator.solver import objective
from allocator.solver.anchor import Anchor
from allocator.solver.prepare import Prepared, SortieShape
from allocator.solver.variables import (
    Domain,
    RelocationSlot,
    SortieVar,
    Variables,
    feasible_on_domain,
    relocation_destinations,
)

log = logging.getLogger(__name__)

COVERAGE_GRID_MIN = 30  # bucket width of the time-indexed coverage bound (`rules.add_coverage_time_grid`)


def build_model(
    prep: Prepared,
    anchor: Anchor | None = None,
    coverage_grid_min: int | None = COVERAGE_GRID_MIN,
    patterns: dict[str, tuple[int, list[frozenset[str]]]] | None = None,
) -> Variables:
    """The full model of SPEC sections 4 and 5 for an instance; with an anchor, also the frozen flights,
    the earliest new takeoff, the required requests and the stability term of a re-plan (SPEC section 9).
    With `patterns` (identical aircraft not in the instance -> their number and maximal request sets), the
    relaxation of `patterns.relaxation`."""
    anchor = anchor or Anchor()
    v = Variables(model=cp_model.CpModel(), prep=prep)
    _request_variables(v)
    for ac in prep.instance.aircraft:
        _relocation_slots(v, ac, anchor)
        _sortie_candidates(v, ac, anchor.not_before)
        _frozen_sorties(v, ac, anchor)
        _maintenance_intervals(v, ac)
    if patterns:
        rules.add_patterns(v, patterns)
    rules.add_service(v)
    rules.add_one_sortie_per_request(v)
    rules.add_relocation_chain(v)
    rules.add_sortie_base(v)
    rules.add_one_thing_at_a_time(v)
    rules.add_maintenance_at_home(v)
    rules.add_hours(v)
    rules.add_coverage(v)
    if coverage_grid_min:
        rules.add_coverage_time_grid(v, coverage_grid_min)
    rules.add_fairness(v)
    rules.add_redundant_cumulatives(v)
    rules.add_incompatibility_cliques(v)
    if not anchor.pins_aircraft:
        rules.add_symmetry_breaking(v)
    rules.add_frozen(v, anchor)
    rules.add_not_before(v, anchor)
    rules.add_required(v, anchor)
    rules.add_stability(v, anchor)
    objective.define(v)
    stats = Counter(len(s) for s in v.sorties.values())
    log.info(
        "model: %d requests, %d candidate sorties, %d relocation slots, %d coverage rules (sorties per request: %s)",
        len(v.on),
        sum(len(s) for s in v.sorties.values()),
        sum(len(s) for s in v.slots.values()),
        len(v.rules),
        dict(sorted(stats.items())),
    )
    return v


def _request_variables(v: Variables) -> None:
    """`on[r]` within the request's window; `served[r]`."""
    for req in v.prep.instance.requests:
        lo, hi = v.prep.window(req)
        top = max(lo, hi - req.duration_min)
        v.on[req.id] = v.model.new_int_var(lo, top, f"on[{req.id}]")
        v.served[req.id] = v.model.new_bool_var(f"served[{req.id}]")
        v.sorties[req.id] = []


def _relocation_slots(v: Variables, ac: Aircraft, anchor: Anchor) -> None:
    """One optional relocation interval per allowed relocation, with a Boolean per route (the baseline's
    destinations are always among the routes, so that its relocations can be kept)."""
    prep, m = v.prep, v.model
    dests = relocation_destinations(prep, ac)
    if prep.max_relocations(ac) > 0:
        moves = anchor.baseline_relocations(ac.id)
        extra = {base for r in moves for base in (r.origin, r.dest) if base in prep.base_ids}
        dests += sorted(extra - set(dests) - {ac.home_base})
    v.destinations[ac.id] = dests
    v.slots[ac.id] = []
    if not dests:
        return
    kind = prep.type_of(ac)
    bases = [ac.home_base, *dests]
    horizon = prep.horizon_min
    for k in range(1, prep.max_relocations(ac) + 1):
        pairs = [(ac.home_base, d) for d in dests] if k == 1 else [(a, b) for a in bases for b in bases if a != b]
        ferry = {pair: prep.ferry(ac, *pair) for pair in pairs}
        # a ferry lands inside the horizon, after the aircraft is available (one available only after the
        # horizon ends has no relocation at all: its takeoff variable would have an empty domain)
        pairs = [p for p in pairs if prep.available_from(ac) + ferry[p] <= horizon]
        if not pairs:
            break
        present = m.new_bool_var(f"relocate[{ac.id},{k}]")
        routes = {p: m.new_bool_var(f"relocate[{ac.id},{k},{p[0]}->{p[1]}]") for p in pairs}
        start = m.new_int_var(prep.available_from(ac), horizon, f"reloc_takeoff[{ac.id},{k}]")
        max_size = max(ferry[p] for p in pairs) + kind.turnaround_min
        size = m.new_int_var(0, max_size, f"reloc_block[{ac.id},{k}]")
        end = m.new_int_var(prep.available_from(ac), horizon + max_size, f"reloc_block_end[{ac.id},{k}]")
        interval = m.new_optional_interval_var(start, size, end, present, f"relocation[{ac.id},{k}]")
        v.slots[ac.id].append(RelocationSlot(k, present, routes, ferry, start, size, end, interval))


def _sortie_candidates(v: Variables, ac: Aircraft, not_before: int | None) -> None:
    """Optional sortie intervals for every (request, base, slot) the aircraft could possibly fly (taking
    off at `not_before` or later, when given)."""
    prep, m = v.prep, v.model
    kind = prep.type_of(ac)
    budget = prep.hours_min(ac)
    slots = v.slots[ac.id]
    bases_by_slot: list[list[str]] = [[ac.home_base]]
    for slot in slots:
        bases_by_slot.append(sorted({dest for (_, dest) in slot.routes}))
    v.by_aircraft[ac.id] = []
    rate = round(kind.cost_per_hour * 100)
    reach = min(kind.endurance_min, budget)
    for req in prep.instance.requests:
        if not prep.eligible(req, kind):
            continue
        for k, bases in enumerate(bases_by_slot):
            for base in bases:
                if 2 * prep.transit(kind, req, base) + req.duration_min > reach:
                    continue  # out of range or over the hour budget (checked before building the shape)
                shape = prep.shape(ac, req, base)
                domain = feasible_on_domain(prep, ac, req, shape, k)
                if not_before is not None:
                    domain = domain.intersection_with(Domain(not_before + shape.out_min, prep.horizon_min))
                if domain.is_empty():
                    continue
                name = f"assign[{req.id},{ac.id},{base},{k}]"
                present = m.new_bool_var(name)
                on = v.on[req.id]
                interval = m.new_optional_fixed_size_interval_var(
                    on - shape.out_min,
                    shape.flight_min + kind.turnaround_min,
                    present,
                    f"sortie[{req.id},{ac.id},{base},{k}]",
                )
                m.add_linear_expression_in_domain(on, domain).only_enforce_if(present)
                sv = SortieVar(shape, k, present, interval, domain, kind.turnaround_min, rate * shape.flight_min)
                v.sorties[req.id].append(sv)
                v.by_aircraft[ac.id].append(sv)


def _frozen_sorties(v: Variables, ac: Aircraft, anchor: Anchor) -> None:
    """A sortie for each of the aircraft's frozen baseline sorties, shaped exactly as it was flown."""
    kind = v.prep.type_of(ac)
    rate = round(kind.cost_per_hour * 100)
    relocations = anchor.baseline_relocations(ac.id)
    for f in anchor.frozen_sorties:
        if f.aircraft != ac.id:
            continue
        shape = SortieShape(
            ac.id, f.request, f.base, f.on_station - f.takeoff, f.landing - f.off_station, f.off_station - f.on_station
        )
        slot = sum(1 for r in relocations if r.landing <= f.takeoff)
        present = v.model.new_bool_var(f"frozen[{f.request},{ac.id}]")
        interval = v.model.new_optional_fixed_size_interval_var(
            v.on[f.request] - shape.out_min,
            shape.flight_min + kind.turnaround_min,
            present,
            f"frozen_sortie[{f.request},{ac.id}]",
        )
        domain = Domain(f.on_station, f.on_station)
        sv = SortieVar(shape, slot, present, interval, domain, kind.turnaround_min, rate * shape.flight_min)
        v.frozen.append(sv)
        v.sorties[f.request].append(sv)
        v.by_aircraft[ac.id].append(sv)


def _maintenance_intervals(v: Variables, ac: Aircraft) -> None:
    """Fixed intervals for the aircraft's maintenance windows (clipped to the horizon)."""
    v.maintenance[ac.id] = [
        v.model.new_fixed_size_interval_var(start, end - start, f"maintenance[{ac.id},{i}]")
        for i, (start, end) in enumerate(v.prep.maintenance(ac))
    ]
