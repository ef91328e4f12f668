"""A relaxation of the full model that bounds service far better: aircraft as sets of requests.

An aircraft that cannot stand alert for any coverage rule (it lacks every capability the rules ask
for) affects service only through the requests it flies. Its *patterns* are the sets of requests it
could fly in one plan on its own: every sequence of its candidate sorties that fits in time (windows,
maintenance, availability, turnaround, ferries between relocation slots) and in its flight hours. In
the relaxation each such aircraft picks at most one maximal pattern and may fly any of its requests;
the aircraft that can stand alert keep their exact model (sorties, relocations, alert coverage and its
time grid). Requests flown by several aircraft are not held on station together across patterns.

Every valid plan maps into the relaxation with the same service (each aircraft's requests lie in some
maximal pattern), so its optimum bounds the optimum of the instance. Picking among patterns is a set
packing whose linear relaxation is much tighter than that of optional intervals: on the three-sector
day the relaxation bounds service at 7,436 after 3 s where the full model's LP workers stop at 7,442,
and solved to the end it proves the best plan known (7,429) optimal.
"""

from __future__ import annotations

import logging

from allocator.domain import Aircraft
from allocator.solver import objective
from allocator.solver.constraints import identity_key
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.variables import Domain, SortieVar, Variables

log = logging.getLogger(__name__)

Pattern = frozenset[str]  # request ids
State = tuple[int, int, str, int]  # of a sortie set: earliest end of its last block, slot, operating base, minutes
MAX_SEQUENCES = 100_000  # per aircraft: beyond this many sortie sets an aircraft keeps its exact model


def coverage_pool(prep: Prepared) -> list[Aircraft]:
    """The aircraft that can stand alert for some coverage rule: they keep their exact model."""
    asked = {rule.capability for sector in prep.instance.sectors for rule in sector.coverage}
    return [ac for ac in prep.instance.aircraft if asked & set(prep.type_of(ac).capabilities)]


def request_sets(v: Variables, ac: Aircraft, limit: int = MAX_SEQUENCES) -> list[Pattern] | None:
    """The maximal sets of requests the aircraft could fly on its own, from its candidate sorties in `v`
    (None when it has more than `limit` feasible sortie sets).

    Sortie sets are grown in time order, each kept with the earliest moment its last block (with
    turnaround) can end: a later sortie fits after the set iff it fits after that moment, so the search
    finds every feasible set. A ferry between relocation slots is counted when the slots are consecutive;
    further relocations, and maintenance at home during a relocation, are not checked (a relaxation)."""
    prep = v.prep
    kind = prep.type_of(ac)
    sorties = v.by_aircraft[ac.id]
    budget = prep.hours_min(ac)
    level: dict[frozenset[int], State] = {frozenset(): (prep.available_from(ac), 0, ac.home_base, 0)}
    found = {frozenset[str]()}
    seen = 1
    while level:
        grown: dict[frozenset[int], State] = {}
        for chosen, (ready, slot, base, minutes) in level.items():
            flown = {sorties[i].shape.request for i in chosen}
            for i, s in enumerate(sorties):
                if i in chosen or s.shape.request in flown:
                    continue
                step = _after(prep, ac, kind.turnaround_min, s, bool(chosen), ready, slot, base, minutes)
                if step is None or step[3] > budget:
                    continue
                key = chosen | {i}
                if key not in grown or step[0] < grown[key][0]:
                    grown[key] = step
        seen += len(grown)
        if seen > limit:
            return None
        found.update(frozenset(sorties[i].shape.request for i in key) for key in grown)
        level = grown
    # feasibility is closed under removal, so a set is maximal iff no feasible set is one request larger
    smaller = {bigger - {r} for bigger in found for r in bigger}
    return sorted((p for p in found - smaller if p), key=sorted)


def _after(
    prep: Prepared,
    ac: Aircraft,
    turnaround: int,
    s: SortieVar,
    flying: bool,
    ready: int,
    slot: int,
    base: str,
    minutes: int,
) -> State | None:
    """Sortie `s` flown next, after blocks ending at `ready` in relocation slot `slot` from `base`: the end of
    its block (with turnaround), its slot, base and the flight minutes so far; None if it cannot be."""
    if s.slot < slot or (s.slot == slot and s.shape.base != base):
        return None
    minutes += s.shape.flight_min
    if s.slot == slot + 1:
        if s.shape.base == base:
            return None  # a relocation changes the operating base
        ferry = prep.ferry(ac, base, s.shape.base)
        minutes += ferry
        if flying:  # from the horizon start the sortie's own domain already allows for the ferry
            ready += ferry + turnaround
    earliest = ready + s.shape.out_min
    if earliest > s.on_domain.max():
        return None
    fits = s.on_domain.intersection_with(Domain(earliest, s.on_domain.max()))
    if fits.is_empty():
        return None
    return fits.min() - s.shape.out_min + s.block_min, s.slot, s.shape.base, minutes


def relaxation(v: Variables, coverage_grid_min: int | None) -> Variables | None:
    """The relaxation of the full model `v` (plain solve, no anchor), its objective set to maximise
    service; None when no aircraft can be relaxed. Identical relaxed aircraft (`identity_key`) share
    their patterns: a count per pattern instead of interchangeable copies."""
    prep = v.prep
    kept = {ac.id for ac in coverage_pool(prep)}  # the aircraft that keep their exact model
    groups: dict[tuple, list[Aircraft]] = {}
    for ac in prep.instance.aircraft:
        if ac.id not in kept:
            groups.setdefault(identity_key(prep, ac), []).append(ac)
    patterns: dict[str, tuple[int, list[Pattern]]] = {}
    for members in groups.values():
        sets = request_sets(v, members[0])
        if sets is None:
            log.info("relaxation: %s keep their exact model (too many sortie sets)", ", ".join(a.id for a in members))
            kept.update(a.id for a in members)
        else:
            patterns["+".join(a.id for a in members)] = (len(members), sets)
    if not patterns:
        return None
    part = prep.instance.model_copy(update={"aircraft": [ac for ac in prep.instance.aircraft if ac.id in kept]})
    relaxed = build_model(Prepared(part), coverage_grid_min=coverage_grid_min, patterns=patterns)
    objective.maximise_service(relaxed)
    log.info(
        "relaxation: %d aircraft as %d request patterns, %d exact; %d variables",
        sum(n for n, _ in patterns.values()),
        sum(len(p) for _, p in patterns.values()),
        len(kept),
        len(relaxed.model.proto.variables),
    )
    return relaxed
