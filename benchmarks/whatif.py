"""Benchmark: minimal-disruption re-planning after an aircraft goes down (issue 4).

    python benchmarks/whatif.py                    # the three-sector day and week
    python benchmarks/whatif.py --only day3 --workers 8

For each case: solve a baseline plan, then for each of the `--aircraft` (default 3) aircraft with the
most baseline sorties after `now` (the middle of the horizon unless `--now-at` says otherwise): take it
down from `now` (or, if it is flying then, from when it has landed and turned around) to the end of the
horizon, and re-plan against the baseline with `now` (flights that took off before it are kept as
flown; the realistic case: it broke during the day), and, for the busiest one, also without `now` (the
whole plan may change). "service proven at" is when the service stage's bound first met its incumbent.
Reported: wall time of the re-plan, status, service against its proven bound, whether service is
proven optimal, changed baseline sorties. Every plan is run through the independent checker.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from allocator import SolveOptions, check, load_instance, solve
from allocator.diff import diff
from allocator.domain import Instance
from allocator.errors import InputError
from allocator.generate import generate
from allocator.scenario import Scenario, apply_scenario, replan
from allocator.solver import Progress

ROOT = Path(__file__).resolve().parent.parent
DONE, CHECK_FAILED, INVALID = 0, 1, 2  # how one aircraft's re-plans went

# label, instance, baseline time limit, re-plan time limits (with `now`; the last one also without)
CASES: dict[str, tuple[str, Callable[[], Instance], float, tuple[float, ...]]] = {
    "day3": ("three-sector day", lambda: load_instance(ROOT / "instances/three-sector-day.json"), 30, (5, 30)),
    "surge": ("arizona-surge", lambda: load_instance(ROOT / "instances/arizona-surge.yaml"), 30, (5, 30)),
    "week3": ("three-sector week", lambda: generate(seed=7, days=7), 60, (30, 60)),  # as benchmarks/run.py
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run (default: day3 week3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="default: cores")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--now-at", type=float, default=0.5, help="`now` as a fraction of the horizon")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every time limit")
    parser.add_argument("--aircraft", type=int, default=3, help="take down each of the N busiest aircraft in turn")
    args = parser.parse_args(argv)
    print(
        "| instance | baseline service (bound) | down | now | re-plan limit s | time s | service proven at s "
        "| status | service | bound | changed sorties | lost | gained |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.only or ["day3", "week3"]:
        label, make, base_limit, limits = CASES[name]
        inst = make()
        opts = SolveOptions(time_limit_s=base_limit * args.scale, workers=args.workers, seed=args.seed)
        base = solve(inst, opts).plan
        if not _checked(label, inst, base):
            return 1
        now = inst.horizon.start + args.now_at * (inst.horizon.end - inst.horizon.start)
        now = now - timedelta(seconds=now.second, microseconds=now.microsecond)
        later = [s.aircraft for s in base.sorties if s.takeoff >= now]
        busiest = sorted(sorted(set(later)), key=later.count, reverse=True)
        rank = 0  # valid what-ifs so far: an aircraft that cannot go down (SPEC 4.6) makes way for the next
        for down in busiest:
            if rank == args.aircraft:
                break
            # it breaks at `now`; if it is flying then, it goes down once landed and turned around
            kind = inst.type_of(inst.aircraft_by_id(down))
            flown = [*base.sorties, *base.relocations]
            airborne = [f.landing for f in flown if f.aircraft == down and f.takeoff < now]
            broken = max([now, *(t + timedelta(minutes=kind.turnaround_min) for t in airborne)])
            change = {"aircraft_down": {"aircraft": down, "from": broken.isoformat()}}
            changed = apply_scenario(inst, Scenario.model_validate({"name": f"{down}-down", "changes": [change]}))
            # every limit with `now`; the busiest aircraft also without `now` (the whole plan may move)
            runs = [(limit, now) for limit in limits] + ([(limits[-1], None)] if rank == 0 else [])
            outcome = _replans(args, label, base, changed, down, runs)
            if outcome == CHECK_FAILED:
                return 1
            rank += outcome == DONE
    return 0


def _replans(args: argparse.Namespace, label: str, base, changed: Instance, down: str, runs: list) -> int:
    """Re-plan the changed instance against the baseline for each (limit, now) and print a row per run:
    DONE, CHECK_FAILED if a plan fails the checker, INVALID if the what-if cannot be honoured."""
    for limit, at in runs:
        service_done: list[float] = []  # when the service stage's bound first met its incumbent

        def progress(p: Progress, done: list[float] = service_done) -> None:
            if p.service_proven and not done:
                done.append(time.monotonic())

        opts = SolveOptions(time_limit_s=limit * args.scale, workers=args.workers, seed=args.seed, progress=progress)
        lead = (
            f"| {label} | {base.objective.service} ({base.bound.service}) | {down} "
            f"| {'mid-horizon' if at else 'none'} | {limit * args.scale:g}"
        )
        started = time.monotonic()
        try:
            result = replan(changed, base, now=at, options=opts)
        except InputError as exc:  # e.g. it broke away from home with no relocation left (SPEC 4.6)
            print(f"{lead} | | | not a valid what-if: {exc} | | | | | |", flush=True)
            return INVALID
        elapsed = time.monotonic() - started
        plan = result.plan
        if not _checked(label, changed, plan):
            return CHECK_FAILED
        d = diff(base, plan, changed)
        proven = plan.run.get("service_proven_optimal")
        proven_at = f"{service_done[0] - started:.1f}" if proven and service_done else ("no" if not proven else "?")
        print(
            f"{lead} | {elapsed:.1f} | {proven_at} | {plan.status} | {plan.objective.service} | {plan.bound.service} "
            f"| {plan.run.get('changes')} of {len(base.sorties)} | {len(d.lost)} | {len(d.gained)} |",
            flush=True,
        )
    return DONE


def _checked(label: str, inst: Instance, plan) -> bool:
    report = check(inst, plan)
    if not report.ok:
        print(f"{label}: the plan fails the checker: {report.violations[0].message}", file=sys.stderr)
    return report.ok


if __name__ == "__main__":
    sys.exit(main())
