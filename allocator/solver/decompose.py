"""Sector decomposition: a good first plan and an upper bound from small models.

*Restriction*: each sector planned alone, with the aircraft based there, relocating only between its
own bases. Aircraft and requests are disjoint across sectors and other sectors' aircraft can only add
alert cover, so the merged plans form a valid plan of the whole instance.

*Relaxation*: each sector's requests and coverage rules with every aircraft that could fly one of
them or stand alert there, and every base. Any plan of the whole instance, cut down to one sector's
requests and rules, is a plan of that relaxation with the same service for that sector, so the
relaxations' bounds sum to an upper bound on the whole instance's service (unless agency fairness
floors couple the sectors). When the merged plan reaches that sum, it is proven optimal without the
full model.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from allocator.domain import Aircraft, Instance, Request
from allocator.solver import objective
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.greedy import solve_greedy
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule
from allocator.solver.scoring import score
from allocator.solver.search import ProgressFn, StageOutcome, add_hint, complete_hint, decode, hint_solution, run_stage
from allocator.solver.variables import Variables

log = logging.getLogger(__name__)

# The relaxations' coverage time grid, in minutes: three-sector week, Arizona's bound 35,939 (35,999
# without the grid) and Laredo's 26,191 (26,426), in 2-6 s of search; 30-minute buckets give the same
# bounds later
RELAXATION_GRID_MIN = 60
# of a sector plan's time when LP-based workers search it: kept to retime the plan they find with CP-SAT's
# whole portfolio (`_retimed`). Three-sector week, 60 s: Arizona +521 to +640, Laredo +55 to +162
RETIME_SHARE = 0.2
# a relaxation's weight in the time sharing, per request, against a sector plan's 1: it stops once its bound
# stalls, leaving the rest to the sector plans, but needs a few seconds to reach a bound at all (three-sector
# week at 30 s with equal weights: Arizona's relaxation got 2.9 s and no bound, so the week's bound was the
# static 75,059)
RELAXATION_WEIGHT = 2


@dataclass
class Decomposition:
    schedule: Schedule
    upper_bound: int | None  # None when some relaxation had no bound or fairness couples sectors
    parts: list[dict] = field(default_factory=list)
    interrupted: bool = False  # during the cost stages (the merged plan is valid)


def sector_restrictions(instance: Instance) -> list[Instance]:
    """Per sector: its own bases, the aircraft based there, its requests and coverage rules."""
    out = []
    for sector in instance.sectors:
        bases = [b for b in instance.bases if b.sector == sector.id]
        base_ids = {b.id for b in bases}
        fleet = [a for a in instance.aircraft if a.home_base in base_ids]
        if fleet:
            out.append(
                instance.model_copy(
                    update={
                        "name": f"{instance.name}/{sector.id}",
                        "bases": bases,
                        "sectors": [sector],
                        "aircraft": fleet,
                        "requests": [r for r in instance.requests if r.sector == sector.id],
                    }
                )
            )
    return out


def sector_relaxations(instance: Instance, prep: Prepared | None = None) -> list[Instance]:
    """Per sector: its requests and coverage rules, every base, and every aircraft that could fly one of
    its requests (as it is) or stand alert there (as an optimistic *stand-in*, see `_stand_in`)."""
    prep = prep or Prepared(instance)
    out = []
    for sector in instance.sectors:
        requests = [r for r in instance.requests if r.sector == sector.id]
        caps = {rule.capability for rule in sector.coverage}
        fleet = []
        for ac in instance.aircraft:
            kind = prep.type_of(ac)
            if _can_fly_any(prep, ac, requests):
                fleet.append(ac)
            elif caps & set(kind.capabilities):
                stand_in = _stand_in(prep, ac, sector.id)
                if stand_in is not None:
                    fleet.append(stand_in)
        if (requests or sector.coverage) and fleet:
            sectors = [s if s.id == sector.id else s.model_copy(update={"coverage": []}) for s in instance.sectors]
            out.append(
                instance.model_copy(
                    update={
                        "name": f"{instance.name}/{sector.id}/relaxed",
                        "sectors": sectors,
                        "aircraft": fleet,
                        "requests": requests,
                    }
                )
            )
    return out


def _can_fly_any(prep: Prepared, ac: Aircraft, requests: list[Request]) -> bool:
    """Whether the aircraft could fly one of the requests, from some base it could operate from."""
    kind = prep.type_of(ac)
    return any(
        prep.eligible(r, kind) and any(prep.in_range(ac, r, b) for b in prep.operating_bases(ac)) for r in requests
    )


def _stand_in(prep: Prepared, ac: Aircraft, sector_id: str) -> Aircraft | None:
    """An aircraft that can fly none of the sector's requests only matters for its alert cover: it is
    replaced by a stand-in at least as useful, based at the sector base it could reach first, available
    from the moment it could first stand alert there, with no maintenance, and staying put (relocating
    could only lower the sector's cover). None when it can never be in the sector."""
    bases = prep.sector_bases.get(sector_id, set())
    if ac.home_base in bases:
        return ac.model_copy(update={"relocatable": False})
    if prep.max_relocations(ac) == 0:
        return None
    maintenance = prep.maintenance(ac)
    # with a single relocation it can only leave home after its last maintenance window
    leave = max(prep.available_from(ac), maintenance[-1][1] if maintenance and prep.max_relocations(ac) == 1 else 0)
    arrival = {b: leave + prep.ferry(ac, ac.home_base, b) + prep.type_of(ac).turnaround_min for b in sorted(bases)}
    if not arrival:
        return None
    base = min(arrival, key=lambda b: (arrival[b], b))
    if arrival[base] >= prep.horizon_min:
        return None
    return ac.model_copy(
        update={
            "home_base": base,
            "available_from": prep.timeline.instant(arrival[base]),
            "maintenance": [],
            "relocatable": False,
        }
    )


@dataclass
class _Part:
    """One part's outcome: a sector plan (a relaxation's is empty) and bound; a sector plan CP-SAT found
    also keeps its model, hinted with that plan, for the cost stage."""

    schedule: Schedule
    bound: int | None
    info: dict
    model: Variables | None = None
    service: int | None = None
    label: str = ""  # "sector AZ": for the progress line


def _solve_part(
    part: Instance,
    time_limit_s: float,
    workers: int,
    seed: int,
    for_bound: bool,
    lp_only: bool,
    label: str,
    progress: ProgressFn | None = None,
) -> _Part:
    """A sector restriction's plan (from its FCFS or greedy plan, whichever is better) or, `for_bound`,
    a sector relaxation's bound (no plan: that of a relaxation is not a plan of the instance); `lp_only`:
    a plan searched by CP-SAT's LP-based workers alone (`run_stage`), then retimed (`_retimed`)."""
    began = time.monotonic()
    prep = Prepared(part)
    # the sector plans are for a good start fast: the time grid's bound would slow them down; for the
    # relaxations that bound is the point
    v = build_model(prep, coverage_grid_min=RELAXATION_GRID_MIN if for_bound else None)
    objective.maximise_service(v)
    start = Schedule()
    if not for_bound:
        start = max((solve_fcfs(prep), solve_greedy(prep)[0]), key=lambda plan: score(prep, plan).service)
        add_hint(v, start)
    if workers > 1:  # building the model counts against the part's time (one worker: nominal budgets)
        time_limit_s = max(0.1, time_limit_s - (time.monotonic() - began))
    if not for_bound:
        completing = time.monotonic()
        complete_hint(v, time_limit_s=0.25 * time_limit_s)
        if workers > 1:  # one worker: the nominal budget, or the run would depend on the clock
            time_limit_s = max(0.1, time_limit_s - (time.monotonic() - completing))
    # a relaxation is there for its bound, which stalls long before the limit on the sector-week parts:
    # the time it leaves goes to the sector plans that follow
    retime = lp_only and not for_bound and workers > 1
    search_s = time_limit_s * (1 - RETIME_SHARE) if retime else time_limit_s
    stage = f"{label} {'bound' if for_bound else 'plan'}"
    outcome = run_stage(v.model, stage, search_s, workers, seed, progress, lp_only=lp_only, bound_only=for_bound)
    log.info(
        "%s: %s service %s bound %s in %.1fs",
        part.name,
        outcome.status,
        outcome.objective,
        outcome.bound,
        outcome.wall_time_s,
    )
    if outcome.interrupted:
        raise KeyboardInterrupt
    bound = round(outcome.bound) if outcome.bound is not None else None
    info = {
        "part": part.name,
        "status": outcome.status,
        "service": outcome.objective,
        "bound": bound,
        "time_s": round(outcome.wall_time_s, 2),
    }
    if for_bound or not outcome.has_solution:  # a sector plan without a CP-SAT solution is its start (valid)
        return _Part(start, bound, info)
    hint_solution(v, outcome.solver)
    if retime and outcome.status != "OPTIMAL":
        outcome = _retimed(v, outcome, time_limit_s - outcome.wall_time_s, workers, seed, f"{label} timing", progress)
        info["service"] = outcome.objective
    service = round(outcome.solver.value(v.terms.service))
    return _Part(decode(v, outcome.solver), bound, info, v, service, label)


def _retimed(
    v: Variables,
    found: StageOutcome,
    time_limit_s: float,
    workers: int,
    seed: int,
    name: str,
    progress: ProgressFn | None = None,
) -> StageOutcome:
    """The plan found with its sorties and relocations kept and their times searched again by CP-SAT's
    whole portfolio, for the alert cover their timing costs (the LP-based search has no neighbourhood
    search to retime them); the better of the two, hinted."""
    decisions = [s.present for sorties in v.by_aircraft.values() for s in sorties]
    decisions += [lit for slots in v.slots.values() for slot in slots for lit in (slot.present, *slot.routes.values())]
    domains = [v.model.proto.variables[lit.index].domain for lit in decisions]  # Booleans: [0, 1]
    for lit, domain in zip(decisions, domains, strict=True):  # for this search only: the cost stage is free
        domain[0] = domain[1] = found.solver.value(lit)
    retimed = run_stage(v.model, name, max(0.1, time_limit_s), workers, seed, progress, one_presolve_pass=True)
    for domain in domains:
        domain[0], domain[1] = 0, 1
    log.info("%s: %s service %s in %.1fs", name, retimed.status, retimed.objective, retimed.wall_time_s)
    if retimed.interrupted:
        raise KeyboardInterrupt
    if not retimed.has_solution or retimed.objective is None or retimed.objective <= (found.objective or 0):
        return found
    hint_solution(v, retimed.solver)
    return retimed


def _cheapest_keeping(
    part: _Part, time_limit_s: float, workers: int, seed: int, progress: ProgressFn | None = None
) -> None:
    """A sector plan's cost stage: the cheapest plan found in the time that serves at least as much."""
    v = part.model
    assert v is not None and part.service is not None
    objective.minimise_cost_keeping(v, part.service)
    name = f"{part.label} cost"
    # one presolve pass: the second takes Arizona's sector-week model past a 2 s cost stage
    dollars = objective.COST_UNITS_PER_DOLLAR
    outcome = run_stage(v.model, name, time_limit_s, workers, seed, progress, scale=dollars, one_presolve_pass=True)
    before = score(v.prep, part.schedule).cost
    if outcome.has_solution:
        part.schedule = decode(v, outcome.solver)
    log.info(
        "%s: %s, cost %d -> %d in %.1fs",
        name,
        outcome.status,
        before,
        score(v.prep, part.schedule).cost,
        outcome.wall_time_s,
    )
    part.info["cost_status"] = outcome.status
    if outcome.interrupted:  # after keeping its incumbent
        raise KeyboardInterrupt


def solve_by_sector(
    instance: Instance,
    time_limit_s: float,
    workers: int,
    seed: int,
    bounds: bool = True,
    lp_plans: bool = False,
    cost_time_s: float = 0.0,
    progress: ProgressFn | None = None,
) -> Decomposition:
    """Plan each sector on its own (merged: a valid plan) and, with `bounds`, bound each sector's service
    (summed: a bound on the whole). With `lp_plans` the sector plans are searched by CP-SAT's LP-based
    workers alone: better on sector-weeks given 15-20 s each (see `search.BOUND_SUBSOLVERS`), worse on
    sector-days given a second or two (three-sector day, 10 s, four seeds: 7,219-7,401 against
    7,371-7,402). With `cost_time_s`, that many seconds more go to the sector plans' cost stages (each
    plan's cheapest keeping its service), after every plan's service is searched. `progress` hears each
    part's searches (stages "sector AZ bound", "... plan", "... timing", "... cost")."""
    restricted = sector_restrictions(instance)
    prep = Prepared(instance)
    relaxed = sector_relaxations(instance, prep) if bounds else []
    coupled = not bounds or (instance.policy.agency_min_share is not None and instance.policy.fairness_weight > 0)
    # the relaxations first, then the sector plans, each group smallest first: the time a part leaves
    # unused (a bound that stalls, a small sector proven optimal) goes to the larger ones that follow
    weight = {p.name: 1 + len(p.requests) for p in restricted}
    # (with one worker a relaxation has no stall stop and would keep all of its larger share)
    relaxation_weight = RELAXATION_WEIGHT if workers > 1 else 1
    weight |= {p.name: relaxation_weight * (1 + len(p.requests)) for p in relaxed}
    parts = sorted([] if coupled else relaxed, key=lambda p: weight[p.name])
    parts += sorted(restricted, key=lambda p: weight[p.name])
    # no more workers than cores: a sector plan is a search for good plans (measured on the Arizona part of
    # the three-sector week, 12 s on 2 cores: 31,767-32,327 with 8 workers, 34,863-35,549 with 2); a
    # relaxation is there for its bound, which CP-SAT's LP-based workers find (`run_stage(bound_only)`)
    part_workers = min(workers, os.cpu_count() or workers)
    plans: list[_Part] = []
    part_bounds: list[int | None] = []
    info = []
    shares = _time_shares([weight[p.name] for p in parts], time_limit_s, workers)
    for part, share in zip(parts, shares, strict=True):
        label = f"sector {_sector_of(part)}"
        outcome = _solve_part(part, share, part_workers, seed, part not in restricted, lp_plans, label, progress)
        info.append(outcome.info)
        if part in restricted:
            plans.append(outcome)
        else:
            part_bounds.append(outcome.bound)
    # then the cost stages, sharing their time in the same way
    costed = [(plan, model) for plan in plans if (model := plan.model) is not None and cost_time_s > 0]
    shares = _time_shares([1 + len(model.prep.instance.requests) for _, model in costed], cost_time_s, workers)
    interrupted = False
    for (plan, _), share in zip(costed, shares, strict=True):
        try:
            _cheapest_keeping(plan, share, part_workers, seed, progress)
        except KeyboardInterrupt:  # every sector has its plan: they are merged and kept
            interrupted = True
            break
    merged = Schedule()
    for plan in plans:
        merged.sorties.extend(plan.schedule.sorties)
        merged.relocations.extend(plan.schedule.relocations)
    needed = {r.sector for r in instance.requests} | {s.id for s in instance.sectors if s.coverage}
    relaxed_sectors = {_sector_of(p) for p in relaxed}
    upper = None
    if not coupled and all(b is not None for b in part_bounds) and needed <= relaxed_sectors | _unreachable(prep):
        upper = sum(b for b in part_bounds if b is not None)
    return Decomposition(merged, upper, info, interrupted)


def _sector_of(part: Instance) -> str:
    """The sector a part was cut for, from its name: `NAME/SECTOR` or `NAME/SECTOR/relaxed`."""
    *_, sector, last = part.name.split("/")
    return sector if last == "relaxed" else last


def _time_shares(weights: list[int], time_limit_s: float, workers: int) -> Iterator[float]:
    """Each part's share of the time left when it starts, in proportion to its weight, so that what one
    part leaves unused goes to those after it (one worker: of the nominal budget, for reproducible runs)."""
    deadline = time.monotonic() + time_limit_s
    total = unplanned = sum(weights)
    for w in weights:
        left = time_limit_s if workers == 1 else max(0.1, deadline - time.monotonic())
        yield left * w / (total if workers == 1 else unplanned)
        unplanned -= w


def _unreachable(prep: Prepared) -> set[str]:
    """Sectors whose requests no aircraft can fly at all (they add nothing to any bound)."""
    instance = prep.instance
    out = set()
    for sector in instance.sectors:
        requests = [r for r in instance.requests if r.sector == sector.id]
        if not any(_can_fly_any(prep, ac, requests) for ac in instance.aircraft):
            out.add(sector.id)
    return out
