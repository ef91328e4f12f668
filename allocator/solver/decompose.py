"""Sector decomposition: a fast, good first plan for the full model.

Each sector is planned on its own, with the aircraft based there, its own requests and coverage
rules, and relocations only between its own bases. The union of the sector plans is a valid plan
of the whole instance (aircraft and requests are disjoint; aircraft of other sectors can only add
alert cover), so it is a hint for the full model, which alone can prove a bound, since it also
considers relocations between sectors.
"""

from __future__ import annotations

import logging

from allocator.domain import Instance
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule

log = logging.getLogger(__name__)


def sector_instances(instance: Instance) -> list[Instance]:
    """One sub-instance per sector that has aircraft based in it."""
    out = []
    for sector in instance.sectors:
        bases = [b for b in instance.bases if b.sector == sector.id]
        base_ids = {b.id for b in bases}
        fleet = [a for a in instance.aircraft if a.home_base in base_ids]
        if not fleet:
            continue
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


def solve_by_sector(instance: Instance, time_limit_s: float, workers: int, seed: int) -> Schedule:
    """Plan each sector alone (service only) and merge the sector schedules."""
    from allocator.solver import objective
    from allocator.solver.fcfs import solve_fcfs
    from allocator.solver.model import build_model
    from allocator.solver.search import add_hint, decode, run_stage

    parts = sector_instances(instance)
    merged = Schedule()
    total_requests = max(1, sum(len(p.requests) for p in parts))
    for part in parts:
        prep = Prepared(part)
        v = build_model(prep)
        add_hint(v, solve_fcfs(prep))
        objective.maximise_service(v)
        share = time_limit_s * max(0.1, len(part.requests) / total_requests)
        outcome = run_stage(v.model, f"sector {part.name}", share, workers, seed, None)
        log.info(
            "sector %s: %s service %s bound %s in %.1fs",
            part.name,
            outcome.status,
            outcome.objective,
            outcome.bound,
            outcome.wall_time_s,
        )
        if outcome.interrupted:
            raise KeyboardInterrupt
        if outcome.has_solution:
            part_schedule = decode(v, outcome.solver)
            merged.sorties.extend(part_schedule.sorties)
            merged.relocations.extend(part_schedule.relocations)
    return merged
