"""Running CP-SAT: parameters, progress reports, Ctrl-C, hints and decoding the solution."""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from allocator.solver.constraints import identity_key
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.solver.variables import TimeGrid, Variables
from allocator.timeline import merge_intervals

log = logging.getLogger(__name__)

DETERMINISTIC_PER_SECOND = 0.5  # CP-SAT deterministic time granted per second of a one-worker budget
# Beyond this many variables CP-SAT's presolve probing runs for tens of seconds before any search
# (measured: 19 s on the 30,000-variable Arizona part of the national week; 23 s on the 15,700-variable
# three-sector week with its coverage time grid, whose aircraft-down re-plan then reached 66,340 in 30 s
# against 69,030 without probing): it is switched off.
LARGE_MODEL_VARIABLES = 10_000
# A search run for its bound, or on a model whose linear relaxation is strong, uses CP-SAT's LP-based
# full-problem workers, in this order (one per worker), and no LNS. Measured on the three-sector week's
# sector parts (2 cores): `max_lp` with `default_lp` reach the Arizona relaxation's bound of 35,999 1.5 s
# into the search where CP-SAT's 8-worker portfolio takes 6.5 s; in 18 s they plan Arizona to 35,116-
# 35,513 and Laredo to 25,426-25,556, where CP-SAT's 2-worker portfolio reaches 34,707-35,365 and
# 25,392-25,442 (three seeds each)
BOUND_SUBSOLVERS = ("max_lp", "default_lp", "reduced_costs", "pseudo_costs", "core", "lb_tree_search")
BOUND_STALL = 0.3  # a bound-only search stops once its bound has not moved for this share of its run


@dataclass(frozen=True)
class Progress:
    """A live report: the incumbent and bound of the current stage (service points; dollars for cost)."""

    stage: str
    incumbent: float | None
    bound: float | None
    elapsed_s: float
    service_proven: bool = False  # the service stage's bound already equals the incumbent's service

    @property
    def gap(self) -> float | None:
        if self.incumbent is None or self.bound is None:
            return None
        if self.bound == self.incumbent:
            return 0.0
        # of the larger: the bound when maximising service, the incumbent when minimising cost
        return abs(self.bound - self.incumbent) / max(1.0, abs(self.bound), abs(self.incumbent))


ProgressFn = Callable[[Progress], None]


@dataclass
class StageOutcome:
    status: str  # OR-Tools status name
    has_solution: bool
    objective: float | None
    bound: float | None
    wall_time_s: float
    interrupted: bool
    solver: cp_model.CpSolver


def service_part(objective: float, weight: int) -> int:
    """The service in a stage objective `weight * service - instability` (0 <= instability < weight); for
    a bound, the largest service it allows."""
    return (math.floor(objective + 1e-6) + weight - 1) // weight


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(
        self, stage: str, progress: ProgressFn | None, started: float, scale: float = 1.0, service_weight: int = 0
    ) -> None:
        super().__init__()
        self.stage = stage
        self.scale = scale
        self.service_weight = service_weight  # > 0: the objective is `weight * service - instability`
        self.progress = progress
        self.started = started
        self.incumbent: float | None = None
        self.bound: float | None = None
        self.bound_moved_at = started  # when the bound last improved (clock)
        self.bound_moves = 0  # how often it did (the first report is presolve's, usually far off)
        self.proven_at: float | None = None

    def on_solution_callback(self) -> None:
        self.incumbent = self.objective_value
        self.bound = self.best_objective_bound
        self.report()

    def on_bound(self, bound: float) -> None:
        if self.bound is None or bound != self.bound:
            self.bound_moved_at = time.monotonic()
            self.bound_moves += 1
        self.bound = bound
        self.report()

    def report(self) -> None:
        def scaled(x: float | None) -> float | None:
            return None if x is None else x / self.scale

        elapsed = time.monotonic() - self.started
        if (
            self.proven_at is None
            and self.service_weight
            and self.incumbent is not None
            and self.bound is not None
            and service_part(self.bound, self.service_weight) <= service_part(self.incumbent, self.service_weight)
        ):
            self.proven_at = elapsed
            log.info("%s: service proven optimal after %.1fs", self.stage, elapsed)
        report = Progress(
            self.stage, scaled(self.incumbent), scaled(self.bound), elapsed, service_proven=self.proven_at is not None
        )
        log.debug("%s: incumbent %s bound %s at %.1fs", report.stage, report.incumbent, report.bound, report.elapsed_s)
        if self.progress is not None:
            self.progress(report)


def run_stage(
    model: cp_model.CpModel,
    stage: str,
    time_limit_s: float,
    workers: int,
    seed: int,
    progress: ProgressFn | None,
    log_search: bool = False,
    scale: float = 1.0,
    service_weight: int = 0,
    lp_only: bool = False,
    bound_only: bool = False,
    one_presolve_pass: bool = False,
) -> StageOutcome:
    """Solve one stage in a worker thread so that Ctrl-C stops the search and keeps the incumbent. With
    `lp_only`, only LP-based full-problem workers search (`BOUND_SUBSOLVERS`, as many as cores), after a
    single presolve pass (which `one_presolve_pass` asks for alone). `bound_only` (a search run for its
    bound, e.g. a sector relaxation's) is `lp_only` that also stops once its bound has not moved for
    `BOUND_STALL` of the time spent so far (at least two seconds, or a tenth of the limit if less),
    counted from its first move after presolve's first bound. Both are ignored with one worker, which
    must stop on deterministic time to be reproducible."""
    solver = cp_model.CpSolver()
    params = solver.parameters
    limit = max(0.05, time_limit_s)
    if workers == 1:
        # one worker is reproducible only if the search stops on deterministic time, not on the clock;
        # a unit of it takes one to a few seconds here, hence the factor (the clock limit is a safety net)
        params.max_deterministic_time = DETERMINISTIC_PER_SECOND * limit
        params.max_time_in_seconds = 4 * limit + 5
    else:
        params.max_time_in_seconds = limit
    params.num_workers = workers
    params.random_seed = seed
    bound_only = bound_only and workers > 1
    lp_only = (lp_only or bound_only) and workers > 1
    if lp_only:  # no more workers than cores, none that only looks for plans
        params.num_workers = min(workers, os.cpu_count() or workers, len(BOUND_SUBSOLVERS))
        params.subsolvers.extend(BOUND_SUBSOLVERS[: params.num_workers])
        params.use_lns = False
        params.use_feasibility_jump = False
        params.num_violation_ls = 0
        params.ignore_subsolvers.extend(
            ["fs_random", "fs_random_no_lp", "fs_random_quick_restart", "fs_random_quick_restart_no_lp"]
        )
    if lp_only or one_presolve_pass:
        # one presolve pass: the second mostly repeats probing (Arizona's relaxation of the week: search
        # from 1.1 s instead of 3.3-5.2 s, the same bound of 35,999 at 2.5 s instead of 5.2-7.6 s; a cost
        # stage starting from a complete hint gets seconds to search instead of presolving again)
        params.max_presolve_iterations = 1
    if len(model.proto.variables) > LARGE_MODEL_VARIABLES:
        params.cp_model_probing_level = 0  # presolve probing alone would take the whole limit
    params.catch_sigint_signal = False
    params.log_search_progress = log_search
    started = time.monotonic()
    reporter = _Reporter(stage, progress, started, scale, service_weight)
    solver.best_bound_callback = reporter.on_bound
    outcome: dict[str, cp_model.CpSolverStatus] = {}

    def work() -> None:
        outcome["status"] = solver.solve(model, reporter)

    thread = threading.Thread(target=work, name=f"cp-sat-{stage}", daemon=True)
    interrupted = stalled = False

    def on_ctrl_c() -> None:
        nonlocal interrupted
        if not interrupted:
            log.warning("interrupted: stopping the search and keeping the best plan found")
        interrupted = True
        solver.stop_search()

    with _ctrl_c_calls(on_ctrl_c):
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            if interrupted:  # again: a stop asked before the search began is not seen
                solver.stop_search()
            now = time.monotonic()
            if (
                bound_only
                and not stalled
                and reporter.bound_moves >= 2
                and now - reporter.bound_moved_at > max(min(2.0, 0.1 * limit), BOUND_STALL * (now - started))
            ):
                quiet = now - reporter.bound_moved_at
                log.info("%s: bound %s unchanged for %.1fs: stopping", stage, reporter.bound, quiet)
                stalled = True
                solver.stop_search()
    if "status" not in outcome:  # the search never ran
        return StageOutcome("UNKNOWN", False, None, None, time.monotonic() - started, interrupted, solver)
    status = outcome["status"]
    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    # without a solution CP-SAT's final bound is not meaningful; keep the last one it reported, if any
    bound = solver.best_objective_bound if has_solution else reporter.bound
    if has_solution:  # a last report with the final incumbent and bound (a proof found at the end shows)
        reporter.incumbent, reporter.bound = solver.objective_value, bound
        reporter.report()
    return StageOutcome(
        status=solver.status_name(status),
        has_solution=has_solution,
        objective=solver.objective_value if has_solution else None,
        bound=bound,
        wall_time_s=time.monotonic() - started,
        interrupted=interrupted,
        solver=solver,
    )


@contextmanager
def _ctrl_c_calls(handler: Callable[[], None]) -> Iterator[None]:
    """Within the block Ctrl-C calls `handler` instead of raising KeyboardInterrupt wherever the main
    thread happens to be: raised outside the wait, it would leave the solver thread running and the
    interpreter would abort at exit. Only the main thread can set signal handlers; elsewhere Ctrl-C never
    arrives anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, lambda signum, frame: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def decode(v: Variables, solver: cp_model.CpSolver) -> Schedule:
    """The schedule in the solver's current solution."""
    schedule = Schedule()
    for sorties in v.sorties.values():
        for s in sorties:
            if solver.boolean_value(s.present):
                on = solver.value(v.on[s.shape.request])
                off = on + s.shape.duration_min
                schedule.sorties.append(
                    SortieMin(
                        on - s.shape.out_min,
                        s.shape.aircraft,
                        s.shape.request,
                        s.shape.base,
                        on,
                        off,
                        off + s.shape.back_min,
                    )
                )
    for ac_id, slots in v.slots.items():
        for slot in slots:
            if not solver.boolean_value(slot.present):
                continue
            for (origin, dest), lit in slot.routes.items():
                if solver.boolean_value(lit):
                    start = solver.value(slot.start)
                    schedule.relocations.append(
                        RelocationMin(start, ac_id, origin, dest, start + slot.ferry[(origin, dest)])
                    )
    return schedule


def without_dominated_relocations(v: Variables, schedule: Schedule) -> Schedule:
    """Replace relocations the model left out as dominated (see `relocation_destinations`) by flying the
    same sorties from home: each is as short or shorter, so the schedule stays valid and scores as well."""
    prep = v.prep
    dropped = {
        r.aircraft
        for r in schedule.relocations
        if prep.max_relocations(prep.instance.aircraft_by_id(r.aircraft)) == 1
        and r.dest not in v.destinations.get(r.aircraft, [])
    }
    if not dropped:
        return schedule
    sorties = []
    for s in schedule.sorties:
        if s.aircraft in dropped and s.base != prep.instance.aircraft_by_id(s.aircraft).home_base:
            ac = prep.instance.aircraft_by_id(s.aircraft)
            shape = prep.shape(ac, prep.instance.request(s.request), ac.home_base)
            s = SortieMin(
                s.on_station - shape.out_min,
                s.aircraft,
                s.request,
                ac.home_base,
                s.on_station,
                s.off_station,
                s.off_station + shape.back_min,
            )
        sorties.append(s)
    return Schedule(sorties=sorties, relocations=[r for r in schedule.relocations if r.aircraft not in dropped])


def canonical(v: Variables, schedule: Schedule) -> Schedule:
    """Relabel identical aircraft so that the schedule satisfies the symmetry-breaking order."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for ac in v.prep.instance.aircraft:
        groups[identity_key(v.prep, ac)].append(ac.id)
    minutes: dict[str, int] = defaultdict(int)
    for s in schedule.sorties:
        minutes[s.aircraft] += s.landing - s.takeoff
    for r in schedule.relocations:
        minutes[r.aircraft] += r.landing - r.takeoff
    rename: dict[str, str] = {}
    for members in groups.values():
        ranked = sorted(members, key=lambda a: (-minutes[a], members.index(a)))
        rename.update(dict(zip(ranked, members, strict=True)))
    return Schedule(
        sorties=[
            SortieMin(s.takeoff, rename[s.aircraft], s.request, s.base, s.on_station, s.off_station, s.landing)
            for s in schedule.sorties
        ],
        relocations=[
            RelocationMin(r.takeoff, rename[r.aircraft], r.origin, r.dest, r.landing) for r in schedule.relocations
        ],
    )


def add_hint(v: Variables, schedule: Schedule, relabel: bool = True) -> int:
    """Hint the model with a valid schedule (e.g. the FCFS plan); returns the number of sorties hinted.
    Besides the decisions, the relocation slots and the alert coverage fills are hinted (the best fills
    for the schedule), so that `complete_hint` only has auxiliaries left to find. With `relabel`,
    identical aircraft are renamed to follow the symmetry-breaking order (not for a re-plan, where
    aircraft identities matter)."""
    m = v.model
    m.clear_hints()
    values: dict[int, int] = {}

    def hint(var: cp_model.IntVar, value: int) -> None:
        m.add_hint(var, value)
        values[var.index] = int(value)

    schedule = without_dominated_relocations(v, schedule)
    if relabel:
        schedule = canonical(v, schedule)
    relocations: dict[str, list[RelocationMin]] = defaultdict(list)
    for r in sorted(schedule.relocations):
        relocations[r.aircraft].append(r)
    chosen: set[tuple[str, str, str, int]] = set()
    for sortie in schedule.sorties:
        after = sum(1 for r in relocations[sortie.aircraft] if r.landing <= sortie.takeoff)  # its slot
        chosen.add((sortie.aircraft, sortie.request, sortie.base, after))
    frozen = {id(s) for s in v.frozen}
    frozen_pairs = {(s.shape.aircraft, s.shape.request) for s in v.frozen}
    hinted = 0
    on_hint: dict[str, int] = {s.request: s.on_station for s in schedule.sorties}
    for rid, sorties in v.sorties.items():
        hint(v.served[rid], rid in on_hint)
        hint(v.on[rid], on_hint.get(rid, _lowest(v.on[rid])))
        for s in sorties:
            if id(s) in frozen:
                pick = True
            elif (s.shape.aircraft, s.shape.request) in frozen_pairs:
                pick = False
            else:
                pick = (s.shape.aircraft, s.shape.request, s.shape.base, s.slot) in chosen
            hinted += pick
            hint(s.present, pick)
    for ac_id, slots in v.slots.items():
        flown = relocations.get(ac_id, [])
        turnaround = v.prep.type_of(v.prep.instance.aircraft_by_id(ac_id)).turnaround_min
        for k, slot in enumerate(slots):
            reloc = flown[k] if k < len(flown) else None
            hint(slot.present, reloc is not None)
            takeoff = reloc.takeoff if reloc is not None else _lowest(slot.start)
            size = slot.ferry.get((reloc.origin, reloc.dest), 0) + turnaround if reloc is not None else 0
            hint(slot.start, takeoff)
            hint(slot.size, size)
            hint(slot.end, takeoff + size)
            for pair, lit in slot.routes.items():
                hint(lit, reloc is not None and pair == (reloc.origin, reloc.dest))
    try:
        _hint_coverage(v, values, hint)
        if v.grid is not None:
            _hint_grid(v, v.grid, values, hint)
    except KeyError:  # a schedule outside the model's candidates: CP-SAT completes what is missing
        log.debug("coverage fills not hinted: the schedule uses a sortie the model does not have")
    return hinted


def _lowest(var: cp_model.IntVar) -> int:
    return var.proto.domain[0]


def _expression_value(expr: Any, values: dict[int, int]) -> int:
    """The value of a linear expression proto given variable values (KeyError if one is unknown)."""
    return expr.offset + sum(c * values[i] for i, c in zip(expr.vars, expr.coeffs, strict=True))


def _literal_value(literal: int, values: dict[int, int]) -> int:
    return values[literal] if literal >= 0 else 1 - values[-literal - 1]


def _interval_value(interval: cp_model.IntervalVar, values: dict[int, int]) -> tuple[int, int] | None:
    """The interval's span given variable values, or None when it is absent."""
    proto = interval.proto
    if not all(_literal_value(lit, values) for lit in proto.enforcement_literal):
        return None
    return _expression_value(proto.interval.start, values), _expression_value(proto.interval.end, values)


def _hint_coverage(v: Variables, values: dict[int, int], hint: Callable[[cp_model.IntVar, int], None]) -> None:
    """Hint each coverage rule's auxiliaries and its best fills for the hinted schedule: at every minute
    `min(count, aircraft on alert)`, each rise starting a fill anchored where a busy interval ends."""

    def value(x: cp_model.IntVar | int) -> int:
        return int(x) if isinstance(x, (int, bool)) else values[x.index]

    for rv in v.rules:
        for var, define in rv.derived:
            hint(var, define(value))
        if not rv.fills:
            continue
        spans = [span for intervals in rv.busy.values() for i in intervals if (span := _interval_value(i, values))]
        anchored: dict[int, list[int]] = defaultdict(list)  # minute -> fills that may start there
        for j, fill in enumerate(rv.fills):
            at = rv.start if fill.anchor is None else (_interval_value(fill.anchor, values) or (None, None))[1]
            if at is not None and rv.start <= at < rv.end:
                anchored[at].append(j)
        pool = len(rv.busy)
        cuts = sorted({rv.start, rv.end, *(t for span in spans for t in span if rv.start < t < rv.end)})
        starts, ends = Counter(a for a, _ in spans), Counter(b for _, b in spans)
        busy = sum(1 for a, b in spans if a <= rv.start < b)
        placed: dict[int, tuple[int, int]] = {}
        active: list[tuple[int, int]] = []  # (fill, start)
        for t in cuts[:-1]:
            if t > rv.start:
                busy += starts[t] - ends[t]
            level = min(rv.count, max(0, pool - busy))
            while len(active) > level:
                j, begin = active.pop()
                placed[j] = (begin, t)
            while len(active) < level and anchored[t]:
                active.append((anchored[t].pop(), t))
        for j, begin in active:
            placed[j] = (begin, rv.end)
        for j, fill in enumerate(rv.fills):
            begin, end = placed.get(j, (rv.start, rv.start))
            for var, x in ((fill.present, j in placed), (fill.start, begin), (fill.size, end - begin), (fill.end, end)):
                hint(var, x)
        if not isinstance(rv.penalty, int):
            covered = sum(end - begin for begin, end in placed.values())
            shortfall = rv.count * (rv.end - rv.start) - covered
            hint(rv.penalty, math.ceil(rv.rule.penalty_per_hour * shortfall / 60))


def _hint_grid(
    v: Variables, grid: TimeGrid, values: dict[int, int], hint: Callable[[cp_model.IntVar, int], None]
) -> None:
    """Hint the time grid: which piece each takeoff, departure and arrival falls in, each aircraft's
    alert minutes per sector and bucket (those outside its busy intervals), and the covered minutes."""
    placed: dict[int, int] = {}
    for p in grid.placements:
        at = values[p.var.index] - p.shift
        placed[p.lit.index] = int(bool(values[p.present.index]) and p.lo <= at and (p.hi is None or at <= p.hi))
        hint(p.lit, placed[p.lit.index])
    running: dict[int, int] = {}
    for total, lits, previous in grid.running:  # in the order built: each after the one it extends
        before = 0 if isinstance(previous, int) else running[previous.index]
        running[total.index] = before + sum(placed.get(lit.index, values.get(lit.index, 0)) for lit in lits)
        hint(total, running[total.index])
    busy: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for rv in v.rules:  # rules of one sector share each aircraft's busy intervals: merged once
        for ac_id, intervals in rv.busy.items():
            if (ac_id, rv.sector) not in busy:
                spans = [span for i in intervals if (span := _interval_value(i, values))]
                busy[(ac_id, rv.sector)] = merge_intervals(spans)
    for (ac_id, sector, j), var in grid.alert.items():
        taken = sum(grid.overlap(a, b, j) for a, b in busy[(ac_id, sector)])
        hint(var, grid.end(j) - grid.begin(j) - taken)
    for var, rv, j in grid.covered:
        length = min(rv.end, grid.end(j)) - max(rv.start, grid.begin(j))
        hint(var, min(rv.count * length, sum(values[grid.alert[(ac_id, rv.sector, j)].index] for ac_id in rv.busy)))


def complete_hint(v: Variables, time_limit_s: float = 5.0) -> bool:
    """Extend the decision hints to every variable by solving with the hinted decisions fixed (the
    model's objective, if set, chooses the coverage fills)."""
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_deterministic_time = DETERMINISTIC_PER_SECOND * time_limit_s
    solver.parameters.max_time_in_seconds = 4 * time_limit_s + 5
    solver.parameters.num_workers = 1
    solver.parameters.catch_sigint_signal = False
    status = solver.solve(v.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        log.warning("the starting plan could not be completed into a model solution (%s)", solver.status_name(status))
        return False
    hint_solution(v, solver)
    return True


def hint_solution(v: Variables, solver: cp_model.CpSolver) -> None:
    """Hint every decision variable with the solver's current solution (for the next stage)."""
    m = v.model
    m.clear_hints()
    proto = m.proto
    for index in range(len(proto.variables)):
        var = m.get_int_var_from_proto_index(index)
        m.add_hint(var, solver.value(var))
