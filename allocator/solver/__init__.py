"""`solve(instance, options) -> Result`: the only door into OR-Tools.

The CP-SAT plan is built in lexicographic stages (service, then cost; with a baseline plan to stay
close to, service, then the fewest changed baseline sorties, then cost), hinted with the best plan
known (the baseline, the sector decomposition or first-come-first-served), scored by `scoring.score`
(which must agree with the model's own objective), and given a reason for every unserved request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from allocator.deconflict import conflicts_for_plan
from allocator.domain import Instance, Request
from allocator.errors import InputError
from allocator.result import Objective, Plan, Result, SolveStatus, gap_of
from allocator.solver import objective
from allocator.solver.anchor import (
    Anchor,
    admissible,
    anchor_of,
    changes,
    relocation_changes,
    repaired,
    schedule_of,
)
from allocator.solver.decompose import solve_by_sector
from allocator.solver.fcfs import solve_fcfs
from allocator.solver.greedy import solve_greedy
from allocator.solver.model import COVERAGE_GRID_MIN, build_model
from allocator.solver.patterns import relaxation
from allocator.solver.polish import without_idle_relocations
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import explain_unserved, static_reason
from allocator.solver.schedule import Schedule
from allocator.solver.scoring import AgencyFulfilment, Score, score
from allocator.solver.search import (
    Progress,
    ProgressFn,
    StageOutcome,
    add_hint,
    complete_hint,
    decode,
    hint_solution,
    run_stage,
    service_part,
)
from allocator.solver.variables import Variables
from allocator.timeline import format_instant

log = logging.getLogger(__name__)

__all__ = ["Progress", "SolveOptions", "check_frozen_flights", "solve", "solve_fcfs_plan"]


@dataclass
class SolveOptions:
    """How to solve: time limit (whole run, seconds), CP-SAT workers, random seed, method.

    A re-plan (SPEC section 9) sets `baseline` (stay close to this plan: fewest changed sorties after
    service), `now` (baseline flights that took off before it are kept as flown; nothing new takes off
    before it) and/or `require` (request ids that must be served; when they cannot be, the plan's status
    is INFEASIBLE, or UNKNOWN if the time ran out, and the plan is the FCFS baseline). `hint` is a plan to
    start the search from, e.g. one that serves the required requests."""

    time_limit_s: float = 30.0
    workers: int = 8
    seed: int = 0
    method: Literal["cp", "fcfs"] = "cp"
    progress: ProgressFn | None = None
    log_search: bool = False
    cost_stage_share: float | None = None  # of the time left for the cost stage; default 0.25, 0.1 with a baseline
    decompose: bool = True
    decompose_share: float | None = None  # of the time limit; default 0.5, or 0.9 beyond a two-day horizon
    sector_bounds: bool | None = None  # sector relaxations for a bound; default: beyond a two-day horizon
    pattern_bound: bool = False  # up to two days, bound a plain solve with the pattern relaxation (`patterns.py`)
    baseline: Plan | None = None
    now: datetime | None = None
    require: frozenset[str] = field(default_factory=frozenset)
    hint: Plan | None = None  # a plan to start the search from (where still valid), without staying close to it


def solve(instance: Instance, options: SolveOptions | None = None) -> Result:
    """Plan an instance; returns the plan with its status, bound and the FCFS baseline for comparison.
    Raises InputError when a re-plan's options cannot be honoured (unknown required request, frozen
    flights that no longer fit the instance)."""
    options = options or SolveOptions()
    started = time.monotonic()
    prep = Prepared(instance)
    anchor = anchor_of(prep, options.baseline, options.now, frozenset(options.require))
    baseline_schedule = solve_fcfs(prep)
    baseline = _to_plan(prep, baseline_schedule, SolveStatus.FEASIBLE, None, proven=False, baseline=True)
    baseline.run.update({"method": "fcfs"})
    if options.method == "fcfs":
        return Result(plan=baseline, wall_time_s=time.monotonic() - started, baseline=baseline)
    best = [baseline_schedule]
    try:
        return _solve_cp(prep, options, anchor, best, baseline, started)
    except KeyboardInterrupt:
        log.warning("interrupted before the full model's search: keeping the best plan found so far")
        # the FCFS plan, unless a plan honouring the re-plan's frozen flights and required requests was found
        honoured = admissible(anchor, best[-1])
        status = SolveStatus.FEASIBLE if honoured else SolveStatus.UNKNOWN
        plan = _to_plan(prep, best[-1], status, None, proven=False, baseline=False)
        plan.run.update(
            {
                "method": "cp",
                "interrupted": True,
                "note": "interrupted before the full model's search; this is the best plan found so far"
                if honoured
                else "interrupted before a plan meeting the re-plan's requirements was found; this is the FCFS plan",
            }
        )
        if anchor.require:
            plan.run["required"] = sorted(anchor.require)
        return Result(plan=plan, wall_time_s=time.monotonic() - started, interrupted=True, baseline=baseline)


def check_frozen_flights(instance: Instance, baseline: Plan, now: datetime | None = None) -> None:
    """Raise InputError when a flight of `baseline` that took off before `now` (kept as flown in a re-plan,
    SPEC section 9) no longer fits the instance, or `now` lies outside its horizon."""
    anchor_of(Prepared(instance), baseline, now)


def solve_fcfs_plan(instance: Instance) -> Plan:
    """The first-come-first-served baseline plan (SPEC section 7)."""
    return solve(instance, SolveOptions(method="fcfs")).plan


def _solve_cp(
    prep: Prepared, options: SolveOptions, anchor: Anchor, best: list[Schedule], baseline: Plan, started: float
) -> Result:
    """Decomposition, then the CP-SAT stages; `best` holds the best acceptable schedule known so far."""

    deterministic = options.workers == 1
    spent = 0.0  # nominal seconds handed out so far (deterministic mode)

    def remaining() -> float:
        """Seconds left: by the clock, or with one worker by the nominal budget (reproducible runs)."""
        if deterministic:
            return max(0.1, options.time_limit_s - spent)
        return max(0.1, options.time_limit_s - (time.monotonic() - started))

    def stage(name: str, budget: float, **how: Any) -> StageOutcome:
        """Run one CP-SAT stage on the full model with the options' workers, seed, progress and log."""
        assert v is not None
        return run_stage(
            v.model, name, budget, options.workers, options.seed, options.progress, options.log_search, **how
        )

    def completion_budget() -> float:
        """Seconds for completing a hint: a few, more on large models whose presolve alone takes long."""
        return max(min(3.0, 0.1 * remaining()), 0.15 * remaining())

    # the starting plan: a schedule acceptable for the re-plan's constraints, or none
    start_plan: Schedule | None = best[-1] if admissible(anchor, best[-1]) else None
    start_service = score(prep, start_plan).service if start_plan is not None else None

    def rank(schedule: Schedule) -> tuple[int, int]:
        """SPEC 5: more service first, then less cost."""
        scored = score(prep, schedule)
        return scored.service, -scored.cost

    def offer(schedule: Schedule, label: str) -> None:
        """Make the schedule the starting plan if the re-plan's constraints accept it and it ranks higher."""
        nonlocal start_plan, start_service
        if not admissible(anchor, schedule) or (start_plan is not None and rank(schedule) <= rank(start_plan)):
            return
        service = score(prep, schedule).service
        log.info("starting plan: %s, service %d (was %s)", label, service, start_service)
        start_plan, start_service = schedule, service
        best.append(schedule)

    if anchor.baseline is None:  # a re-plan starts from its baseline, which it is to stay close to
        greedy, order = solve_greedy(prep)
        offer(greedy, f"greedy ({order})")
    upper: int | None  # an upper bound on service; None once a known plan shows it wrong
    upper = _static_bound(prep, anchor)
    restable = anchor.baseline is not None  # stability ranks plans between service and cost
    long = prep.horizon_min > 2 * 24 * 60
    # with flights frozen before `now` the sector plans would ignore them and the relaxations' bounds would
    # count the past as open again: the decomposition costs time and gives little, so it is left out
    decomposing = options.decompose and len(prep.instance.sectors) > 1 and anchor.not_before is None and _small(prep)
    # beyond two days a plain solve ends with the sector plans: the time they leave goes to their cost stages,
    # and the full model is neither built nor searched (its stages, given 2% of the time, returned the merged
    # plan and made runs end a second late), unless the sector plans lose to the starting plan or leave time.
    # A re-plan ranks its changes before cost, and only the full model counts them; a required request, a
    # given start or the agencies' fairness floors (which couple the sectors) are known to the full model alone
    policy = prep.instance.policy
    fair = policy.agency_min_share is not None and policy.fairness_weight > 0
    sectors_only = decomposing and long and not restable and not anchor.require and options.hint is None and not fair

    def full_model() -> Variables:
        built = build_model(prep, anchor, COVERAGE_GRID_MIN if _small(prep) else None)
        if restable:
            objective.maximise_service_then_stability(built)
        else:
            objective.maximise_service(built)
        return built

    v = None if sectors_only else full_model()
    weight = objective.stability_weight(v) if v is not None and restable else 1
    interrupted = False
    # the full model's linear relaxation, searched alone, bounds service in seconds where CP-SAT's whole
    # portfolio takes long or never gets there; the bound is a cut for stage 1, which stops as soon as a
    # plan reaches it. Up to two days (three-sector day: 7,442 0.7 s into that search, 2.6 s in as one of
    # 8 workers), stopped once the bound stalls; for a re-plan after `now` beyond two days, which has no
    # sector relaxations, for its whole share (week, an aircraft down at mid-week: 73,172 at 2 s, 71,490
    # at 7 s, where stage 1 ends at 74,738 after 30 s). A re-plan up to two days is proven without it.
    frozen_long = long and anchor.not_before is not None
    relaxed: Variables | None = None
    if options.workers > 1 and _small(prep) and ((not long and not restable) or frozen_long):
        assert v is not None  # the full model is built whenever there is a bound stage
        # on request, up to two days, a plain solve is bounded by the pattern relaxation (`patterns.py`): a
        # tighter bound, but its solutions are no plans (the live line shows its bound alone), and at 10 s it
        # costs more than it gives (see docs/decisions.md)
        relaxed = relaxation(v, COVERAGE_GRID_MIN) if options.pattern_bound and not long and not restable else None
        budget = BOUND_SHARE * remaining()
        if relaxed is not None:
            lp = run_stage(
                relaxed.model,
                "bound (relaxation)",
                budget,
                options.workers,
                options.seed,
                _bound_only(options.progress),
                options.log_search,
                lp_only=True,  # its whole share: its bound moves in late steps (no stall stop)
            )
        else:
            lp = stage("bound", budget, scale=weight, lp_only=True, bound_only=not frozen_long)
        if lp.interrupted:
            raise KeyboardInterrupt
        if lp.bound is not None and lp.status != "INFEASIBLE":
            upper = min(upper, service_part(lp.bound, weight))
            log.info("bound stage: service at most %d (%s in %.1fs)", upper, lp.status, lp.wall_time_s)
        if lp.has_solution and not restable and relaxed is None:  # the LP workers find plans too
            offer(decode(v, lp.solver), "the bound stage's")
    decomposed = False
    if decomposing:
        share = options.decompose_share
        if share is None:
            share = 0.9 if long else 0.5
        # up to two days the full model's time grid bounds far better than the sector relaxations (three-
        # sector day: 7,442 vs 7,905 at 10 s), so their time goes to the sector plans instead
        bounds = long if options.sector_bounds is None else options.sector_bounds
        budget = remaining() * share
        cost_time = remaining() - budget if sectors_only else 0.0
        parts = solve_by_sector(
            prep.instance,
            budget,
            options.workers,
            options.seed,
            bounds,
            lp_plans=long,
            cost_time_s=cost_time,
            progress=options.progress,
        )
        spent += budget + cost_time
        decomposed = True
        if parts.upper_bound is not None:
            upper = min(upper, parts.upper_bound)
        sector_service = score(prep, parts.schedule).service
        # only plans that honour the required requests and frozen flights bound the optimum from below
        known = [sector_service] if admissible(anchor, parts.schedule) else []
        known += [start_service] if start_service is not None else []
        if upper is not None and known and max(known) > upper:
            log.error("upper bound %d is below a known plan's service %d: ignoring it", upper, max(known))
            upper = None
        log.info("sector decomposition: service %d (start %s), upper bound %s", sector_service, start_service, upper)
        offer(parts.schedule, "the merged sector plans")
        interrupted = parts.interrupted  # in the sector plans' cost stages: the merged plans are kept
        # the sector plans lost to the starting plan, or left time (small sectors proven early): the full model
        lost = start_plan is not None and rank(parts.schedule) < rank(start_plan)
        if v is None and not interrupted and (lost or remaining() > FULL_MODEL_LEFT * options.time_limit_s):
            log.info("the full model gets the %.1fs the sector plans leave", remaining())
            v = full_model()
    # the baseline and a given starting plan, without what no longer fits, are the natural starts: hint
    # each and keep the best that completes into a solution of the model
    candidates = []
    earliest = anchor.not_before or 0
    if anchor.frozen_sorties or anchor.frozen_relocations:  # the flights already flown (and flights home)
        flown = Schedule(list(anchor.frozen_sorties), list(anchor.frozen_relocations))
        candidates.append(("frozen flights alone", repaired(prep, flown, earliest)))
    if anchor.baseline is not None:
        candidates.append(("baseline", repaired(prep, anchor.baseline, earliest)))
    if options.hint is not None:
        candidates.append(("given starting plan", repaired(prep, schedule_of(prep, options.hint), earliest)))
    hinted_now: Schedule | None = None
    for label, candidate in candidates if v is not None else []:
        assert v is not None  # (the loop runs only then)
        add_hint(v, candidate, relabel=not anchor.pins_aircraft)
        hinted_now = None
        if not admissible(anchor, candidate) or not complete_hint(v, time_limit_s=completion_budget()):
            log.info("the %s is not a valid start for this solve", label)
            continue
        hinted_now = candidate
        service = score(prep, candidate).service
        if start_service is None or service >= start_service:
            start_plan, start_service = candidate, service
            best.append(candidate)
            log.info("starting from the %s: service %d", label, service)
    if start_plan is not None and start_plan is not hinted_now and v is not None:
        hinted = add_hint(v, start_plan, relabel=not anchor.pins_aircraft)
        complete_hint(v, time_limit_s=completion_budget())
        log.info("hinted %d sorties of a plan with service %d", hinted, start_service)
    if upper is not None and start_service is not None and start_service >= upper:
        log.info("the starting plan reaches the upper bound: proven optimal before the full model")
    schedule: Schedule | None = start_plan
    model_service: int | None = start_service
    bound = upper
    service_proven = upper is not None and start_service is not None and start_service >= upper
    infeasible = False
    max_instability: int | None = None
    first = None
    if v is not None and not interrupted and (not service_proven or restable):
        if upper is not None:
            v.model.add(v.terms.service <= upper)  # a valid cut: the bound stage's or the sector relaxations'
        share = options.cost_stage_share
        if share is None:
            share = 0.1 if restable else 0.25  # a re-plan's cost matters after its changes, which stage 1 settles
        budget = remaining() * (1 - share)
        name = "service" if not restable else "service, then fewest changes"
        first = stage(name, budget, scale=weight, service_weight=weight)
        log.info(
            "stage 1 (service%s): %s objective %s bound %s in %.1fs",
            ", then fewest changes" if restable else "",
            first.status,
            first.objective,
            first.bound,
            first.wall_time_s,
        )
        spent += budget
        if first.bound is not None and first.has_solution:
            # weight * service - instability <= bound, with 0 <= instability <= weight - 1
            first_bound = service_part(first.bound, weight)
            bound = first_bound if bound is None else min(bound, first_bound)
        interrupted = first.interrupted
        service_proven = service_proven or first.status == "OPTIMAL"
        infeasible = first.status == "INFEASIBLE"
        if first.has_solution:
            found = round(first.solver.value(v.terms.service))
            if model_service is None or found >= model_service:
                schedule, model_service = decode(v, first.solver), found
                max_instability = round(first.solver.value(objective.instability(v))) if restable else None
                hint_solution(v, first.solver)
        # the service part can be proven while the fewest changes are not (a re-plan's stage 1)
        service_proven = service_proven or (bound is not None and model_service is not None and model_service >= bound)
    if infeasible and (anchor.frozen_sorties or anchor.frozen_relocations) and not anchor.require:
        raise InputError("baseline: the flights that took off before --now cannot all be kept in this instance.")
    changes_proven = not restable or (first is not None and first.status == "OPTIMAL")
    cost_proven = False
    settled = not restable or max_instability is not None  # a re-plan's cost stage keeps its stability
    if v is not None and model_service is not None and not interrupted and settled:
        objective.minimise_cost_keeping(v, model_service, max_instability)
        second = stage("cost", remaining(), scale=objective.COST_UNITS_PER_DOLLAR)
        log.info("stage 2 (cost): %s objective %s in %.1fs", second.status, second.objective, second.wall_time_s)
        interrupted = second.interrupted
        if second.has_solution:
            schedule = decode(v, second.solver)
            cost_proven = second.status == "OPTIMAL"
    chosen = schedule
    note = None
    status: SolveStatus | None = None
    if chosen is None and start_plan is not None:
        chosen, note = start_plan, "CP-SAT found no plan in the time limit; this is its starting plan"
    elif chosen is None:
        chosen = best[0]
        status = SolveStatus.INFEASIBLE if infeasible else SolveStatus.UNKNOWN
        note = (
            "no plan serves every required request and keeps the frozen flights"
            if infeasible
            else "CP-SAT found no plan meeting the re-plan's requirements in the time limit"
        ) + "; this is the FCFS plan"
    elif start_plan is not None and start_service is not None and score(prep, chosen).service < start_service:
        chosen, note = start_plan, "CP-SAT's best plan scored below its starting plan; this is the starting plan"
        service_proven = cost_proven = False
    if status is None:
        proven = service_proven and cost_proven and changes_proven
        status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    if status == SolveStatus.FEASIBLE:  # the cost stage may have been cut short
        kept = {*anchor.frozen_relocations, *(anchor.baseline.relocations if anchor.baseline is not None else [])}
        chosen = without_idle_relocations(prep, chosen, kept)
    plan = _to_plan(prep, chosen, status, bound, proven=service_proven, baseline=False)
    gap = gap_of(plan.objective.service, bound)
    # the full model's size (0 when it was not built: a plain solve beyond two days ends with the sector plans)
    variables = len(v.model.proto.variables) if v is not None else 0
    constraints = len(v.model.proto.constraints) if v is not None else 0
    plan.run.update(
        {
            "method": "cp",
            "service_proven_optimal": service_proven,
            "cost_proven_optimal": cost_proven,
            "gap": gap,
            "wall_time_s": round(time.monotonic() - started, 3),
            "workers": options.workers,
            "seed": options.seed,
            "time_limit_s": options.time_limit_s,
            "interrupted": interrupted,
            "sector_decomposition": decomposed,
            "full_model_searched": v is not None,
            "coverage_grid_min": v.grid.width if v is not None and v.grid is not None else None,
            "pattern_bound": relaxed is not None,
            "variables": variables or None,
            "constraints": constraints or None,
            "fcfs": {
                "service": baseline.objective.service,
                "cost": baseline.objective.cost,
                "served": len({s.request for s in baseline.sorties}),
            },
        }
    )
    if anchor.baseline is not None:
        plan.run["changes"] = changes(anchor.baseline, chosen)
        plan.run["relocation_changes"] = relocation_changes(anchor.baseline, chosen)
        plan.run["changes_proven_minimal"] = changes_proven and service_proven
    if anchor.not_before is not None:
        plan.run["now"] = format_instant(prep.timeline.instant(anchor.not_before))
        plan.run["frozen_flights"] = len(anchor.frozen_sorties) + len(anchor.frozen_relocations)
    if anchor.require:
        plan.run["required"] = sorted(anchor.require)
    if note:
        plan.run["note"] = note
    return Result(
        plan=plan,
        wall_time_s=time.monotonic() - started,
        gap=gap,
        num_variables=variables,
        num_constraints=constraints,
        interrupted=interrupted,
        baseline=baseline,
    )


LARGE_INSTANCE_PAIRS = 50_000  # aircraft x requests
# beyond two days, the share of the time limit the sector plans must leave unused for a plain solve to go on
# with the full model (they use it all on the three-sector week; small sectors proven early leave most)
FULL_MODEL_LEFT = 0.1
BOUND_SHARE = 0.3  # of the time left: at most this for the bound stage (up to two days it stops once its bound stalls)


def _bound_only(progress: ProgressFn | None) -> ProgressFn | None:
    """Progress reports of a relaxation: its bound bounds service, its solutions are no plans."""
    if progress is None:
        return None
    return lambda p: progress(replace(p, incumbent=None))


def _small(prep: Prepared) -> bool:
    """Whether the sector decomposition and the coverage time grid pay: both are worth their cost on
    small models only. Every sector relaxation holds nearly the whole fleet (any aircraft may relocate
    anywhere), so the decomposition costs about one full model per sector; the grid adds thousands of
    literals. Measured on the national week, 240 aircraft x 750 requests: every relaxation timed out and
    the restrictions merged scored below FCFS, whose sorties cross sector lines; with the grid the full
    model ended at the FCFS plan's 108,447, without it at 109,540."""
    return len(prep.instance.aircraft) * len(prep.instance.requests) <= LARGE_INSTANCE_PAIRS


def _static_bound(prep: Prepared, anchor: Anchor | None = None) -> int:
    """A first upper bound on service: the value of every request that could be flown at all (alert
    coverage and fairness only ever subtract); after `now`, only those already flown or that can still
    be on station after it."""
    inst = prep.instance
    frozen = {s.request for s in anchor.frozen_sorties} if anchor is not None else set()
    after = anchor.not_before if anchor is not None and anchor.not_before is not None else 0

    def open_(r: Request) -> bool:
        return r.id in frozen or (static_reason(prep, r) is None and prep.window(r)[1] - r.duration_min >= after)

    return sum(inst.value(r) for r in inst.requests if open_(r))


def _to_plan(
    prep: Prepared, schedule: Schedule, status: SolveStatus, bound: int | None, *, proven: bool, baseline: bool
) -> Plan:

    result = score(prep, schedule)
    unserved = explain_unserved(prep, schedule, proven=proven, baseline=baseline)
    plan = schedule.to_plan(
        prep.instance.name, prep.timeline, status, Objective(service=result.service, cost=result.cost), bound, unserved
    )
    plan.metrics = metrics_of(prep, schedule, result)
    plan.coverage = [
        {
            "sector": r.sector,
            "index": r.rule,
            "capability": r.capability,
            "count": r.count,
            "start": format_instant(prep.timeline.instant(r.start)),
            "end": format_instant(prep.timeline.instant(r.end)),
            "shortfall_min": r.shortfall_min,
            "penalty": r.penalty,
        }
        for r in result.coverage
    ]
    plan.conflicts = conflicts_for_plan(prep.instance, plan)  # SPEC 8: reported to both units, never resolved
    return plan


def metrics_of(prep: Prepared, schedule: Schedule, result: Score) -> dict[str, Any]:
    """Headline figures of a plan: served requests, value, coverage and fairness terms, per agency/sector."""
    total = len(prep.instance.requests)
    served = len(schedule.served())
    return {
        "requests": total,
        "served": served,
        "served_pct": round(100 * served / total, 1) if total else 100.0,
        "value_served": result.value_served,
        "coverage_penalty": sum(rule.penalty for rule in result.coverage),
        "coverage_shortfall_min": sum(rule.shortfall_min for rule in result.coverage),
        "fairness_penalty": result.fairness_penalty,
        "flight_minutes": sum(s.landing - s.takeoff for s in schedule.sorties)
        + sum(r.landing - r.takeoff for r in schedule.relocations),
        "relocations": len(schedule.relocations),
        "per_agency": {k: _jsonable(a) for k, a in result.per_agency.items()},
        "per_sector": {k: _jsonable(a) for k, a in result.per_sector.items()},
    }


def _jsonable(obj: AgencyFulfilment) -> dict[str, Any]:
    """A fulfilment tally as JSON, with the GAO-12-518 measure (% of requests met) and % of value met."""
    out = asdict(obj)
    if "requested" in out:
        out["pct_met"] = round(100 * out["served"] / out["requested"], 1) if out["requested"] else None
        out["pct_value_met"] = (
            round(100 * out["value_served"] / out["value_requested"], 1) if out["value_requested"] else None
        )
    return out
