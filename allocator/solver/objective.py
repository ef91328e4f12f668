"""The objective of SPEC section 5 as named terms, and the lexicographic stages.

Stage 1 maximises `service`; stage 2 keeps `service` at its stage-1 value and minimises `cost`.
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
    )
    v.terms = terms
    return terms


def maximise_service(v: Variables) -> None:
    """Stage 1: maximise service."""
    v.model.maximize(v.terms.service)


def minimise_cost_keeping(v: Variables, service: int) -> None:
    """Stage 2: no service lost, then the cheapest plan."""
    v.model.add(v.terms.service >= service)
    v.model.minimize(v.terms.cost)
