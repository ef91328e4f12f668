"""Benchmark: solve instances of growing size with a fixed time limit and print a markdown table.

    python benchmarks/run.py                 # all sizes, default time limits
    python benchmarks/run.py --only day3 week3 --workers 8

Columns: size, CP-SAT variables of the full model (built here, untimed, when a plain solve beyond two
days ends with the sector plans and never builds it), wall time, status, service, proven bound, gap,
served %, cost of the flying in dollars, the first-come-first-served baseline's service, served % and
cost, and the ratio optimized / FCFS service.
Every plan is also run through the independent checker; a violation aborts the benchmark.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from allocator import SolveOptions, check, load_instance, solve
from allocator.domain import Instance
from allocator.generate import generate
from allocator.solver import _small
from allocator.solver.model import COVERAGE_GRID_MIN, build_model
from allocator.solver.prepare import Prepared

ROOT = Path(__file__).resolve().parent.parent

CASES: dict[str, tuple[str, Callable[[], Instance], float]] = {
    "tiny": ("tiny (hand-worked)", lambda: load_instance(ROOT / "instances/tiny.yaml"), 10),
    "day1": ("one-sector day (AZ)", lambda: generate(seed=1, days=1, sectors=["AZ"]), 10),
    "day3": ("three-sector day", lambda: load_instance(ROOT / "instances/three-sector-day.json"), 10),
    "day3-long": ("three-sector day", lambda: load_instance(ROOT / "instances/three-sector-day.json"), 60),
    "surge": ("arizona-surge", lambda: load_instance(ROOT / "instances/arizona-surge.yaml"), 10),
    "week3": ("three-sector week", lambda: generate(seed=7, days=7), 60),
    "national": ("national week", lambda: generate(seed=11, days=7, extended=True, aircraft=240, requests=750), 120),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run (default: all)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every time limit")
    args = parser.parse_args(argv)
    names = args.only or list(CASES)
    print(
        "| instance | aircraft | requests | variables | limit s | time s | status | service | bound | gap % "
        "| served % | cost $ | FCFS service | FCFS served % | FCFS cost $ | opt/FCFS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        label, make, limit = CASES[name]
        inst = make()
        limit *= args.scale
        started = time.monotonic()
        result = solve(inst, SolveOptions(time_limit_s=limit, workers=args.workers, seed=args.seed))
        elapsed = time.monotonic() - started
        plan, base = result.plan, result.baseline
        for p in (plan, base):
            report = check(inst, p)
            if not report.ok:
                print(f"{label}: the plan fails the checker: {report.violations[0].message}", file=sys.stderr)
                return 1
        variables = result.num_variables or full_model_size(inst)
        gap = "" if result.gap is None else f"{100 * result.gap:.2f}"
        ratio = plan.objective.service / base.objective.service if base.objective.service else float("inf")
        print(
            f"| {label} | {len(inst.aircraft)} | {len(inst.requests)} | {variables} | {limit:g} "
            f"| {elapsed:.1f} | {plan.status} | {plan.objective.service} | {plan.bound.service} | {gap} "
            f"| {plan.metrics['served_pct']} | {plan.objective.cost:,} | {base.objective.service} "
            f"| {base.metrics['served_pct']} | {base.objective.cost:,} | {ratio:.2f} |",
            flush=True,
        )
    return 0


def full_model_size(inst: Instance) -> int:
    """CP-SAT variables of the instance's full model, with the coverage time grid as `solve` builds it."""
    prep = Prepared(inst)
    return len(build_model(prep, coverage_grid_min=COVERAGE_GRID_MIN if _small(prep) else None).model.proto.variables)


if __name__ == "__main__":
    sys.exit(main())
