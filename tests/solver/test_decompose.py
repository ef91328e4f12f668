"""The sector decomposition: its merged plan is a valid plan, and its relaxations bound the optimum."""

from __future__ import annotations

import dataclasses

import pytest

import allocator
from allocator import SolveOptions
from allocator.domain import Instance
from allocator.generate import generate
from allocator.result import SolveStatus
from allocator.solver import decompose, objective
from allocator.solver.decompose import _retimed, sector_relaxations, sector_restrictions, solve_by_sector
from allocator.solver.greedy import solve_greedy
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.scoring import score
from allocator.solver.search import add_hint, complete_hint, decode, hint_solution, run_stage
from factory import aircraft, make, request, solve_hint_fixed, t


@pytest.mark.parametrize("seed", [2, 5])
def test_sector_relaxation_bounds_sum_to_at_least_the_proven_optimum(seed: int):
    inst = generate(seed=seed, days=1, aircraft=12, requests=30)
    full = allocator.solve(inst, SolveOptions(time_limit_s=30, workers=2, decompose=False))
    assert full.status == SolveStatus.OPTIMAL  # precondition: the optimum is known
    parts = solve_by_sector(inst, time_limit_s=6, workers=2, seed=0, bounds=True)
    assert parts.upper_bound is not None
    assert parts.upper_bound >= full.service


def test_merged_sector_plans_score_within_the_relaxations_bound():
    # (the model accepts the merged plan at its exact service: tests/solver/test_model.py)
    inst = generate(seed=2, days=1, aircraft=12, requests=30)
    parts = solve_by_sector(inst, time_limit_s=6, workers=2, seed=0, bounds=True)
    assert parts.upper_bound is not None
    assert 0 < score(Prepared(inst), parts.schedule).service <= parts.upper_bound


def test_each_sector_is_restricted_to_its_own_aircraft_and_relaxed_to_every_useful_one():
    inst = generate(seed=2, days=1, aircraft=12, requests=30)
    sector_of = {b.id: b.sector for b in inst.bases}
    for part in sector_restrictions(inst):
        sector = part.sectors[0].id
        assert all(sector_of[a.home_base] == sector for a in part.aircraft)
        assert all(r.sector == sector for r in part.requests)
    relaxed = sector_relaxations(inst)
    assert relaxed
    for part in relaxed:
        sector = decompose._sector_of(part)
        assert all(r.sector == sector for r in part.requests)
        assert len(part.aircraft) >= sum(1 for a in inst.aircraft if sector_of[a.home_base] == sector)


def test_sector_plans_searched_by_lp_workers_alone_are_accepted_by_the_model_at_their_service():
    inst = generate(seed=2, days=1, aircraft=12, requests=30)
    prep = Prepared(inst)
    schedule = solve_by_sector(inst, time_limit_s=4, workers=2, seed=0, bounds=False, lp_plans=True).schedule
    v = build_model(prep)
    add_hint(v, schedule)
    objective.maximise_service(v)
    status, value = solve_hint_fixed(v.model)
    assert status == "OPTIMAL"
    assert value == score(prep, schedule).service > 0


def test_sector_cost_stages_keep_the_service_and_lower_the_cost():
    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    prep = Prepared(inst)
    # one worker: both runs search the same sector plans for service, so only the cost stages differ
    plain = solve_by_sector(inst, time_limit_s=3, workers=1, seed=0, bounds=False)
    costed = solve_by_sector(inst, time_limit_s=3, workers=1, seed=0, bounds=False, cost_time_s=3)
    before, after = score(prep, plain.schedule), score(prep, costed.schedule)
    assert after.service >= before.service > 0
    assert after.cost < before.cost
    assert {part["cost_status"] for part in costed.parts} <= {"OPTIMAL", "FEASIBLE"}
    v = build_model(prep)
    add_hint(v, costed.schedule)
    objective.maximise_service(v)
    assert solve_hint_fixed(v.model) == ("OPTIMAL", after.service)


def test_ctrl_c_in_the_sector_cost_stages_keeps_the_merged_sector_plans(monkeypatch: pytest.MonkeyPatch):
    real = decompose.run_stage

    def interrupted_in_cost_stages(model, stage, *args, **kwargs):
        outcome = real(model, stage, *args, **kwargs)
        return dataclasses.replace(outcome, interrupted=stage.endswith(" cost"))

    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    prep = Prepared(inst)
    plain = solve_by_sector(inst, time_limit_s=3, workers=1, seed=0, bounds=False)
    monkeypatch.setattr(decompose, "run_stage", interrupted_in_cost_stages)
    stopped = solve_by_sector(inst, time_limit_s=3, workers=1, seed=0, bounds=False, cost_time_s=3)
    assert stopped.interrupted
    assert [part.get("cost_status") is not None for part in stopped.parts] == [True, False, False]
    # every sector's plan is in the merged one: the service of all of them
    assert score(prep, stopped.schedule).service >= score(prep, plain.schedule).service > 0
    result = allocator.solve(inst, SolveOptions(time_limit_s=6, workers=2))
    assert result.interrupted and result.plan.run["interrupted"]
    assert result.plan.bound is not None and "note" not in result.plan.run  # the decomposition's bound stays


def test_retiming_a_sector_plan_keeps_its_sorties_and_relocations_and_frees_them_afterwards():
    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    prep = Prepared(inst)
    v = build_model(prep, coverage_grid_min=None)
    objective.maximise_service(v)
    add_hint(v, solve_greedy(prep)[0])
    assert complete_hint(v)
    found = run_stage(v.model, "service", 2, 2, 0, None, lp_only=True)
    assert found.has_solution
    hint_solution(v, found.solver)
    retimed = _retimed(v, found, 3, 2, 0, "timing")
    assert retimed.objective is not None and found.objective is not None
    assert retimed.objective >= found.objective

    def decisions(schedule):
        return (
            sorted((s.aircraft, s.request, s.base) for s in schedule.sorties),
            sorted((r.aircraft, r.origin, r.dest) for r in schedule.relocations),
        )

    assert decisions(decode(v, retimed.solver)) == decisions(decode(v, found.solver))
    booleans = [s.present for sorties in v.by_aircraft.values() for s in sorties]
    assert all(list(v.model.proto.variables[b.index].domain) == [0, 1] for b in booleans)


def test_progress_is_reported_for_each_sector_search():
    inst = generate(seed=2, days=3, aircraft=12, requests=40)
    reports = []
    solve_by_sector(inst, time_limit_s=6, workers=2, seed=0, lp_plans=True, cost_time_s=2, progress=reports.append)
    stages = {p.stage for p in reports}
    sectors = {s.id for s in inst.sectors if any(r.sector == s.id for r in inst.requests)}
    assert {f"sector {s} plan" for s in sectors} <= stages
    assert any(stage.endswith(" cost") for stage in stages)
    assert all(p.incumbent is None or p.incumbent >= 0 for p in reports)


def test_with_one_worker_a_sector_plan_gets_its_nominal_budget_however_long_the_hint_takes(
    monkeypatch: pytest.MonkeyPatch,
):
    # one worker must stop on deterministic time for a reproducible run: no wall-clock time may shift it
    import time

    part = sector_restrictions(generate(seed=7, days=1, aircraft=14, requests=30))[0]
    budgets: list[float] = []
    real_stage, real_complete = decompose.run_stage, decompose.complete_hint

    def recording(model, stage, time_limit_s, *args, **kwargs):
        budgets.append(time_limit_s)
        return real_stage(model, stage, time_limit_s, *args, **kwargs)

    monkeypatch.setattr(decompose, "run_stage", recording)
    for delay in (0.0, 0.4):

        def slow(*args, d=delay, **kwargs):
            done = real_complete(*args, **kwargs)
            time.sleep(d)
            return done

        monkeypatch.setattr(decompose, "complete_hint", slow)
        decompose._solve_part(part, 1.0, 1, 0, False, False, "sector X")
    assert budgets[0] == budgets[1]


def three_days(fleet: list[dict], requests: list[dict]):
    """A factory instance (sectors S1 around bases A and A2, S2 around B) over three days."""
    data = make(fleet, requests).model_dump(mode="json")
    data["horizon"]["end"] = t("23:59", "2026-12-03")
    return Instance.model_validate(data)


def test_long_plain_solve_keeps_the_cheaper_of_equally_serving_plans(monkeypatch: pytest.MonkeyPatch):
    # the sector plans' cost stages put R1 on the light helicopter; a start as good on service but dearer
    # (R1 on the medium one) must not win the tie, since the full model does not search after them
    import allocator.solver as solver_module

    inst = three_days(
        [aircraft("L1"), aircraft("M1", type="MEDIUM"), aircraft("L2", home="B")],
        [request("R1"), request("R2", near="B")],
    )
    prep = Prepared(inst)
    cheap = solve_by_sector(inst, time_limit_s=2, workers=1, seed=0, bounds=False, cost_time_s=2).schedule
    dear = dataclasses.replace(
        cheap, sorties=[dataclasses.replace(s, aircraft="M1") if s.aircraft == "L1" else s for s in cheap.sorties]
    )
    assert score(prep, dear).service == score(prep, cheap).service and score(prep, dear).cost > score(prep, cheap).cost
    # both starts (FCFS and greedy) give the dear plan
    monkeypatch.setattr(solver_module, "solve_fcfs", lambda prep: dear)
    monkeypatch.setattr(solver_module, "solve_greedy", lambda prep: (dear, "patched"))
    result = allocator.solve(inst, SolveOptions(time_limit_s=4, workers=1))
    assert not result.plan.run["full_model_searched"] and result.plan.run["variables"] is None  # not even built
    assert result.plan.objective.cost == score(prep, cheap).cost


def test_long_plain_solve_goes_on_with_the_full_model_when_the_sector_plans_lose_to_its_start():
    # R2, in S2, needs a hoist: only M1, based in S1, has one, so the sector plans cannot serve it and the
    # greedy start (which surges M1 to B) serves more; the full model then searches from that start
    inst = three_days(
        [aircraft("L1"), aircraft("M1", type="MEDIUM"), aircraft("L2", home="B")],
        [request("R1"), request("R2", near="B", caps=["hoist"], priority=1)],
    )
    merged = solve_by_sector(inst, time_limit_s=2, workers=1, seed=0, bounds=False).schedule
    assert "R2" not in merged.served()
    result = allocator.solve(inst, SolveOptions(time_limit_s=4, workers=1))
    assert result.plan.run["full_model_searched"]
    assert {"R1", "R2"} <= {s.request for s in result.plan.sorties}


def test_long_solve_with_agency_fairness_searches_the_full_model():
    # fairness floors count every agency's requests across sectors: the sector plans alone cannot honour them
    inst = generate(seed=3, days=3, aircraft=12, requests=40)
    fair = inst.model_copy(update={"policy": inst.policy.model_copy(update={"agency_min_share": 0.9})})
    result = allocator.solve(fair, SolveOptions(time_limit_s=4, workers=2))
    assert result.plan.run["full_model_searched"]
