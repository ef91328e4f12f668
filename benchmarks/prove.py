"""Benchmark: prove a plan optimal with the pattern relaxation (`allocator/solver/patterns.py`).

    python benchmarks/prove.py instances/three-sector-day.json
    python benchmarks/prove.py INSTANCE --plan PLAN.json --relaxation-time 600

Solves the instance (or reads `--plan`), checks the plan with the independent checker, then solves the
pattern relaxation alone with CP-SAT's LP-based workers until it is optimal or `--relaxation-time` runs
out. The relaxation's optimum bounds the instance's: when it equals the plan's service, the plan's
service is proven optimal. Reported: the plan's service, the full model's bound from the solve, the
relaxation's bound and status, and the time each took.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from allocator import SolveOptions, check, load_instance, load_plan, solve
from allocator.solver.model import COVERAGE_GRID_MIN, build_model
from allocator.solver.patterns import relaxation
from allocator.solver.prepare import Prepared
from allocator.solver.search import run_stage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("instance", type=Path)
    parser.add_argument("--plan", type=Path, help="the plan to prove (default: solve for --solve-time)")
    parser.add_argument("--solve-time", type=float, default=60.0)
    parser.add_argument("--relaxation-time", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    inst = load_instance(args.instance)
    started = time.monotonic()
    if args.plan is not None:
        plan, how = load_plan(args.plan), f"read from {args.plan}"
    else:
        plan = solve(inst, SolveOptions(time_limit_s=args.solve_time, workers=8, seed=args.seed)).plan
        how = f"solved in {time.monotonic() - started:.1f} s ({plan.status}, full-model bound {plan.bound.service})"
    verdict = check(inst, plan)
    if not verdict.ok:
        print(verdict.summary())
        return 1
    print(f"plan: service {verdict.service}, {how}")

    built = time.monotonic()
    relaxed = relaxation(build_model(Prepared(inst)), COVERAGE_GRID_MIN)
    if relaxed is None:
        print("no aircraft can be relaxed: every aircraft can stand alert")
        return 1
    stage = run_stage(relaxed.model, "relaxation", args.relaxation_time, args.workers, args.seed, None, lp_only=True)
    bound = None if stage.bound is None else int(stage.bound + 1e-6)
    print(
        f"relaxation: {stage.status}, bound {bound} in {time.monotonic() - built:.1f} s "
        f"({len(relaxed.model.proto.variables)} variables)"
    )
    proven = bound is not None and bound <= verdict.service  # the relaxation's bound bounds the instance
    print(f"service {verdict.service}: {'PROVEN OPTIMAL' if proven else f'not proven (bound {bound})'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
