"""The planner's optimum against exhaustive enumeration on tiny random instances.

Each instance (seeded `random.Random`) has 1–2 aircraft and 2–5 single-aircraft requests, no coverage rule and no
relocation, with optional maintenance, late availability and flight-hour budgets. The optimal service is found by
trying every assignment of each request to an aircraft or to nobody. An aircraft's set of requests is feasible when
some order of them can be flown: in a given order each sortie is placed at its earliest feasible on-station minute
(leaving exactly `transit` before it and landing exactly `transit` after it), which is exact because an earlier
landing never hurts the sorties that follow. The feasibility rules are written here from SPEC section 4 and
docs/decisions.md, using only `allocator.timeline` for distances and transit times, never the solver's internals.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import pytest

import allocator
from allocator import SolveOptions
from allocator.domain import Aircraft, Instance, Request
from allocator.result import SolveStatus
from allocator.timeline import dist_nm, transit_min
from factory import aircraft, make, request, solve_model_alone, t

OPTIONS = SolveOptions(time_limit_s=20, workers=1, seed=0)
SEEDS = range(15)


# -- the instances ----------------------------------------------------------------------------------------------
def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def random_instance(seed: int) -> Instance:
    """1–2 aircraft and 2–5 requests competing for them during the morning."""
    rng = random.Random(seed)
    fleet = []
    for i in range(rng.randint(1, 2)):
        extra: dict[str, Any] = {}
        if rng.random() < 0.4:
            start = rng.randrange(7 * 60, 12 * 60)
            extra["maintenance"] = [{"start": t(hhmm(start)), "end": t(hhmm(start + rng.randint(20, 150)))}]
        if rng.random() < 0.25:
            extra["available_from"] = t(hhmm(rng.randrange(7 * 60, 11 * 60)))
        fleet.append(
            aircraft(
                f"N{i}",
                rng.choice(["LIGHT", "MEDIUM"]),
                home=rng.choice(["A", "A", "A2"]),
                hours=rng.choice([1.5, 2.25, 2.9, 4.0, 6.0, 10.0, 10.0]),
                **extra,
            )
        )
    reqs = []
    for i in range(rng.randint(2, 5)):
        duration = rng.randint(15, 100)
        start = rng.randrange(8 * 60, 12 * 60)
        extra = {}
        if rng.random() < 0.15:
            extra["aircraft_types"] = [rng.choice(["LIGHT", "MEDIUM"])]
        if rng.random() < 0.15:
            extra["value"] = rng.randint(0, 300)
        reqs.append(
            request(
                f"R{i}",
                north=rng.choice([5, 15, 30, 45, 60]),
                near=rng.choice(["A", "A", "A2"]),
                start=hhmm(start),
                end=hhmm(start + duration + rng.randint(0, 120)),
                duration=duration,
                priority=rng.randint(1, 5),
                caps=rng.choice([["eo_ir"], ["eo_ir"], ["night_vision"], [], ["hoist"]]),
                submitted=hhmm(rng.randrange(0, 8 * 60)),
                **extra,
            )
        )
    return make(fleet, reqs, policy={"max_relocations_per_aircraft": 0})


# -- an independent reading of the rules, in whole minutes ----------------------------------------------------------
def minutes(inst: Instance, instant: datetime) -> int:
    exact = (instant - inst.horizon.start).total_seconds() / 60
    assert exact == int(exact), "the test instances use whole minutes only"
    return int(exact)


@dataclass(frozen=True)
class Sortie:
    """What one aircraft needs to fly one request from its home base."""

    lo: int  # earliest on-station minute (window start)
    hi: int  # latest off-station minute (window end)
    duration: int
    transit: int


class Brute:
    """The optimal service of a no-coverage, no-relocation, single-aircraft-request instance, by enumeration."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.horizon_end = minutes(inst, inst.horizon.end)
        self.requests = list(inst.requests)
        self.fleet = list(inst.aircraft)
        assert all(r.aircraft_count == 1 for r in self.requests)
        assert not any(s.coverage for s in inst.sectors)
        assert inst.policy.max_relocations_per_aircraft == 0
        # sorties[a][r]: how aircraft a would fly request r, or None when it is ineligible or out of endurance.
        self.sorties = [[self._sortie(ac, req) for req in self.requests] for ac in self.fleet]

    def value(self, req: Request) -> int:
        return req.value if req.value is not None else self.inst.policy.priority_weights[req.priority]

    def _sortie(self, ac: Aircraft, req: Request) -> Sortie | None:
        kind = next(k for k in self.inst.aircraft_types if k.id == ac.type)
        if not set(req.capabilities) <= set(kind.capabilities):
            return None
        if req.aircraft_types is not None and kind.id not in req.aircraft_types:
            return None
        home = next(b for b in self.inst.bases if b.id == ac.home_base)
        transit = transit_min(dist_nm(home.lat, home.lon, req.lat, req.lon), kind.cruise_kt)
        if 2 * transit + req.duration_min > kind.endurance_min:
            return None
        lo, hi = minutes(self.inst, req.window.start), minutes(self.inst, req.window.end)
        return Sortie(lo, hi, req.duration_min, transit)

    def _maintenance(self, ac: Aircraft) -> list[tuple[int, int]]:
        """Maintenance windows clipped to the horizon."""
        out = []
        for m in ac.maintenance:
            lo = max(0, minutes(self.inst, m.start))
            hi = min(self.horizon_end, minutes(self.inst, m.end))
            if lo < hi:
                out.append((lo, hi))
        return out

    def _earliest_on_station(self, ac: Aircraft, free: int, s: Sortie) -> int | None:
        """The earliest on-station minute of a sortie taking off at or after `free`, or None."""
        turnaround = next(k for k in self.inst.aircraft_types if k.id == ac.type).turnaround_min
        on = max(s.lo, free + s.transit)
        moved = True
        while moved:
            moved = False
            takeoff, blocked_until = on - s.transit, on + s.duration + s.transit + turnaround
            for start, end in self._maintenance(ac):
                if takeoff < end and start < blocked_until:
                    on, moved = end + s.transit, True
        if on + s.duration > s.hi or on + s.duration + s.transit > self.horizon_end:
            return None
        return on

    def feasible(self, a: int, chosen: tuple[int, ...]) -> bool:
        """Can aircraft `a` fly all of `chosen` (request indices) in some order?"""
        ac = self.fleet[a]
        sorties = [self.sorties[a][r] for r in chosen]
        if any(s is None for s in sorties):
            return False
        flown = [s for s in sorties if s is not None]
        if sum(2 * s.transit + s.duration for s in flown) > math.floor(60 * ac.hours_available):
            return False
        return any(self._fits(ac, order) for order in itertools.permutations(flown))

    def _fits(self, ac: Aircraft, order: tuple[Sortie, ...]) -> bool:
        """Can `ac` fly these sorties in this order, each at its earliest feasible minute?"""
        turnaround = next(k for k in self.inst.aircraft_types if k.id == ac.type).turnaround_min
        free = 0 if ac.available_from is None else max(0, minutes(self.inst, ac.available_from))
        for s in order:
            on = self._earliest_on_station(ac, free, s)
            if on is None:
                return False
            free = on + s.duration + s.transit + turnaround
        return True

    def optimum(self) -> int:
        feasible = cache(self.feasible)
        best = 0
        n = len(self.fleet)
        for assignment in itertools.product(range(n + 1), repeat=len(self.requests)):  # n means "nobody"
            per_aircraft = [tuple(r for r, a in enumerate(assignment) if a == k) for k in range(n)]
            if all(feasible(k, chosen) for k, chosen in enumerate(per_aircraft)):
                served = sum(self.value(self.requests[r]) for r, a in enumerate(assignment) if a < n)
                best = max(best, served)
        return best

    def alone(self) -> list[bool]:
        """Which requests some aircraft could fly on its own."""
        return [any(self.feasible(a, (r,)) for a in range(len(self.fleet))) for r in range(len(self.requests))]


# -- the tests --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_solver_optimum_equals_exhaustive_enumeration(seed: int) -> None:
    inst = random_instance(seed)
    expected = Brute(inst).optimum()
    result = allocator.solve(inst, OPTIONS)
    assert result.status == SolveStatus.OPTIMAL
    assert result.service == expected
    assert result.bound == expected
    assert result.baseline is not None
    assert result.baseline.objective.service <= expected


@pytest.mark.parametrize("seed", SEEDS)
def test_model_alone_finds_and_proves_the_enumerated_optimum(seed: int) -> None:
    # the planner returns the better of its starting plans (FCFS, greedy) and CP-SAT's: here the model
    # is solved on its own, so a constraint that cut off the optimum (or allowed more) would show
    inst = random_instance(seed)
    status, value, plan = solve_model_alone(inst)
    assert status == "OPTIMAL"
    assert value is not None and round(value) == Brute(inst).optimum()
    report = allocator.check(inst, plan)  # the model's own plan, not the planner's choice among starts
    assert report.ok, report.summary()


def test_enumerated_instances_are_not_trivial() -> None:
    """Guards the generator: most instances serve something, and several must leave a flyable request out."""
    serving, competing = 0, 0
    for seed in SEEDS:
        brute = Brute(random_instance(seed))
        alone = brute.alone()
        flyable = sum(brute.value(r) for r, ok in zip(brute.requests, alone, strict=True) if ok)
        optimum = brute.optimum()
        serving += optimum > 0
        competing += optimum < flyable
    assert serving >= 10
    assert competing >= 4


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_bound_stage_never_cuts_off_the_enumerated_optimum(seed: int) -> None:
    # with more than one worker the full model's linear relaxation runs first, alone, for a bound that
    # then cuts stage 1: it must never fall below the true optimum
    inst = random_instance(seed)
    expected = Brute(inst).optimum()
    result = allocator.solve(inst, SolveOptions(time_limit_s=10, workers=2, seed=0))
    assert result.service == expected
    assert result.bound is not None and result.bound >= expected
