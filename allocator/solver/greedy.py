"""Priority-first greedy plans: a cheap, good start for CP-SAT.

The approval chain of `fcfs.py` is run over the requests in a few value-first orders instead of the
order they were submitted in, and the best plan by SPEC section 5 is kept. Measured on the three-sector
week (seed 7): 67,839 against FCFS's 55,978, in half a second; CP-SAT started from FCFS needs about ten
seconds on Arizona alone to get where the greedy plan starts.
"""

from __future__ import annotations

from collections.abc import Callable

from allocator.domain import Request
from allocator.solver.fcfs import plan_in_order
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule
from allocator.solver.scoring import score


def _orders(prep: Prepared) -> dict[str, Callable[[Request], tuple]]:
    """Value first; ties by earliest window, by tightest window, or value per aircraft-minute first."""
    value = prep.instance.value

    def width(r: Request) -> int:
        start, end = prep.window(r)
        return end - start

    return {
        "value, earliest window": lambda r: (-value(r), prep.window(r)[0], r.id),
        "value, tightest window": lambda r: (-value(r), width(r), r.id),
        "value per aircraft-minute": lambda r: (
            -value(r) / (r.duration_min * r.aircraft_count),
            prep.window(r)[0],
            r.id,
        ),
    }


def solve_greedy(prep: Prepared) -> tuple[Schedule, str]:
    """The best of the value-first greedy plans, and the order that made it."""
    best: tuple[int, int, Schedule, str] | None = None
    for name, key in _orders(prep).items():
        schedule = plan_in_order(prep, sorted(prep.instance.requests, key=key))
        result = score(prep, schedule)
        if best is None or (result.service, -result.cost) > best[:2]:
            best = (result.service, -result.cost, schedule, name)
    assert best is not None
    return best[2], best[3]
