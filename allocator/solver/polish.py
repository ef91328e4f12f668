"""Polishing a plan that a time limit stopped before its cost stage was done (SPEC 5: at equal service,
less cost ranks higher)."""

from __future__ import annotations

import logging
from collections.abc import Collection

from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin, Schedule
from allocator.solver.scoring import score

log = logging.getLogger(__name__)


def without_idle_relocations(prep: Prepared, schedule: Schedule, keep: Collection[RelocationMin] = ()) -> Schedule:
    """Drop relocations that are their aircraft's last flight while the plan without them serves as much
    and costs less (a ferry at the end of the day that a short cost stage left in). The plan stays valid:
    the aircraft simply stays at its previous operating base, which must be home when a maintenance window
    ends after the ferry's takeoff (SPEC 4.6). Relocations in `keep` (frozen or a baseline's) stay."""
    current, scored = schedule, score(prep, schedule)
    dropped = 0
    changed = True
    while changed:
        changed = False
        for ac_id, flights in current.by_aircraft().items():
            last = flights[-1]
            if not isinstance(last, RelocationMin) or last in keep:
                continue
            ac = prep.instance.aircraft_by_id(ac_id)
            if last.origin != ac.home_base and any(end > last.takeoff for _, end in prep.maintenance(ac)):
                continue
            candidate = Schedule(list(current.sorties), [r for r in current.relocations if r != last])
            after = score(prep, candidate)
            if after.service >= scored.service and after.cost < scored.cost:
                current, scored, changed, dropped = candidate, after, True, dropped + 1
    if dropped:
        log.info("dropped %d idle relocation(s) at the end of their aircraft's day: cost %d", dropped, scored.cost)
    return current
