"""The objective of SPEC section 5 as named terms, and the lexicographic stages.

Stage 1 maximises `service`; stage 2 keeps `service` at its stage-1 value and minimises `cost`. A
re-plan against a baseline ranks by stability between the two: no service lost, then the fewest changed
baseline sorties, then the fewest changed baseline relocations (both folded into stage 1 with weights),
then cost.
Cost is kept in integer units of cents-per-hour x minutes (dollars = units / 6000).
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from allocator.solver.variables import Variables

COST_UNITS_PER_DOLLAR = 6000


@dataclass
class Terms:
    value_served: cp_model.LinearExprT
    coverage_penalty: cp_model.LinearExprT
    fairness_penalty: cp_model.LinearExprT
    service: cp_model.LinearExprT
    cost: cp_model.LinearExprT
    changes: cp_model.LinearExprT  # baseline sorties that could be kept but are not (0 without a baseline)
    relocation_changes: cp_model.LinearExprT  # likewise for baseline relocations


def define(v: Variables) -> Terms:
    """Build the named objective terms (without setting an objective yet)."""
    inst = v.prep.instance
    value_served = sum(inst.value(r) * v.served[r.id] for r in inst.requests)
    coverage_penalty = sum(rv.penalty for rv in v.rules)
    fairness_penalty = inst.policy.fairness_weight * sum(v.fairness_deficit.values())
    cost_terms = [s.cost * s.present for sorties in v.by_aircraft.values() for s in sorties]
    for ac_id, slots in v.slots.items():
        rate = round(inst.type_of(inst.aircraft_by_id(ac_id)).cost_per_hour * 100)
        cost_terms.extend(rate * slot.ferry[p] * lit for slot in slots for p, lit in slot.routes.items())
    terms = Terms(
        value_served=value_served,
        coverage_penalty=coverage_penalty,
        fairness_penalty=fairness_penalty,
        service=value_served - coverage_penalty - fairness_penalty,
        cost=sum(cost_terms),
        changes=len(v.kept) - sum(v.kept),
        relocation_changes=len(v.kept_relocations) - sum(v.kept_relocations),
    )
    v.terms = terms
    return terms


def maximise_service(v: Variables) -> None:
    """Stage 1: maximise service."""
    v.model.maximize(v.terms.service)


def stability_weight(v: Variables) -> int:
    """A weight on service larger than any possible instability (`instability`)."""
    return _relocation_weight(v) * len(v.kept) + len(v.kept_relocations) + 1


def _relocation_weight(v: Variables) -> int:
    """A weight on changed sorties larger than any possible number of changed relocations."""
    return len(v.kept_relocations) + 1


def instability(v: Variables) -> cp_model.LinearExprT:
    """Changed sorties first, then changed relocations, as one figure below `stability_weight`."""
    return _relocation_weight(v) * v.terms.changes + v.terms.relocation_changes


def maximise_service_then_stability(v: Variables) -> None:
    """Stages service and stability of a re-plan in one: `weight * service - instability` ranks plans by
    service first, then by the fewest changed baseline sorties, then by the fewest changed relocations."""
    v.model.maximize(stability_weight(v) * v.terms.service - instability(v))


def minimise_cost_keeping(v: Variables, service: int, instability_found: int | None = None) -> None:
    """Last stage: no service lost (and no more instability than the stability stage found), then the
    cheapest plan."""
    v.model.add(v.terms.service >= service)
    if instability_found is not None:
        v.model.add(instability(v) <= instability_found)
    v.model.minimize(v.terms.cost)
