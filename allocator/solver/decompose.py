"""Sector decomposition: a good first plan and an upper bound from small models.

*Restriction*: each sector planned alone, with the aircraft based there, relocating only between its
own bases. Aircraft and requests are disjoint across sectors and other sectors' aircraft can only add
alert cover, so the merged plans form a valid plan of the whole instance.

*Relaxation*: each sector's requests with every aircraft that could fly one, from any base it could
operate from, and no coverage rule. Any plan of the whole instance, cut down to one sector's
requests, is a plan of that relaxation with at least the same service, so the relaxations' bounds
sum to an upper bound on the whole instance's service (unless agency fairness floors couple the
sectors). When the merged plan reaches that sum, it is proven optimal without the full model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from allocator.domain import Instance
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule

log = logging.getLogger(__name__)


@dataclass
class Decomposition:
    schedule: Schedule
    upper_bound: int | None  # None when some relaxation had no bound or fairness couples sectors
    parts: list[dict] = field(default_factory=list)


def sector_restrictions(instance: Instance) -> list[Instance]:
    """Per sector: its own bases, the aircraft based there, its requests and coverage rules."""
    out = []
    for sector in instance.sectors:
        bases = [b for b in instance.bases if b.sector == sector.id]
        base_ids = {b.id for b in bases}
        fleet = [a for a in instance.aircraft if a.home_base in base_ids]
        if fleet:
            out.append(instance.model_copy(update={
                "name": f"{instance.name}/{sector.id}", "bases": bases, "sectors": [sector], "aircraft": fleet,
                "requests": [r for r in instance.requests if r.sector == sector.id],
            }))
    return out


def sector_relaxations(instance: Instance) -> list[Instance]:
    """Per sector with requests: its requests, every aircraft that could fly one (from any base), every
    base, and no coverage rule (penalties are never negative, so dropping them only relaxes)."""
    prep = Prepared(instance)
    no_rules = [s.model_copy(update={"coverage": []}) for s in instance.sectors]
    out = []
    for sector in instance.sectors:
        requests = [r for r in instance.requests if r.sector == sector.id]
        fleet = [
            ac for ac in instance.aircraft
            if any(prep.eligible(r, prep.type_of(ac)) and any(prep.in_range(ac, r, b) for b in _bases_of(prep, ac))
                   for r in requests)
        ]
        if requests and fleet:
            out.append(instance.model_copy(update={
                "name": f"{instance.name}/{sector.id}/value", "sectors": no_rules, "aircraft": fleet,
                "requests": requests,
            }))
    return out


def _bases_of(prep: Prepared, ac) -> list[str]:
    return prep.base_ids if prep.max_relocations(ac) > 0 else [ac.home_base]


def _solve_part(part: Instance, time_limit_s: float, workers: int, seed: int) -> tuple[Schedule, int | None, dict]:
    from allocator.solver import objective
    from allocator.solver.fcfs import solve_fcfs
    from allocator.solver.model import build_model
    from allocator.solver.search import add_hint, decode, run_stage

    prep = Prepared(part)
    v = build_model(prep)
    add_hint(v, solve_fcfs(prep))
    objective.maximise_service(v)
    outcome = run_stage(v.model, part.name, time_limit_s, workers, seed, None)
    log.info("%s: %s service %s bound %s in %.1fs", part.name, outcome.status, outcome.objective, outcome.bound,
             outcome.wall_time_s)
    if outcome.interrupted:
        raise KeyboardInterrupt
    schedule = decode(v, outcome.solver) if outcome.has_solution else Schedule()
    bound = round(outcome.bound) if outcome.bound is not None else None
    info = {"part": part.name, "status": outcome.status, "service": outcome.objective, "bound": bound,
            "time_s": round(outcome.wall_time_s, 2)}
    return schedule, bound, info


def solve_by_sector(instance: Instance, time_limit_s: float, workers: int, seed: int) -> Decomposition:
    """Plan each sector on its own (merged: a valid plan) and bound each sector's value (summed: a bound)."""
    restricted = sector_restrictions(instance)
    relaxed = sector_relaxations(instance)
    coupled = instance.policy.agency_min_share is not None and instance.policy.fairness_weight > 0
    parts = restricted + ([] if coupled else relaxed)
    weight = {p.name: 1 + len(p.requests) for p in parts}
    total = sum(weight.values())
    merged = Schedule()
    bounds: list[int | None] = []
    info = []
    for part in parts:
        schedule, bound, part_info = _solve_part(part, time_limit_s * weight[part.name] / total, workers, seed)
        info.append(part_info)
        if part in restricted:
            merged.sorties.extend(schedule.sorties)
            merged.relocations.extend(schedule.relocations)
        else:
            bounds.append(bound)
    served_anywhere = {r.sector for r in instance.requests}
    covered = {p.name.split("/")[-2] for p in relaxed}
    upper = None
    if not coupled and all(b is not None for b in bounds) and served_anywhere <= covered | _unreachable(instance):
        upper = sum(b for b in bounds if b is not None)
    return Decomposition(merged, upper, info)


def _unreachable(instance: Instance) -> set[str]:
    """Sectors whose requests no aircraft can fly at all (they add nothing to any bound)."""
    prep = Prepared(instance)
    out = set()
    for sector in instance.sectors:
        requests = [r for r in instance.requests if r.sector == sector.id]
        if not any(prep.eligible(r, prep.type_of(ac)) and any(prep.in_range(ac, r, b) for b in _bases_of(prep, ac))
                   for r in requests for ac in instance.aircraft):
            out.add(sector.id)
    return out
