"""Running a CP-SAT stage: Ctrl-C stops the search and keeps the incumbent, wherever it arrives."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from allocator import load_instance
from allocator.solver import objective
from allocator.solver.greedy import solve_greedy
from allocator.solver.model import build_model
from allocator.solver.prepare import Prepared
from allocator.solver.search import Progress, add_hint, complete_hint, run_stage


def test_ctrl_c_during_a_stage_stops_it_with_its_incumbent_and_restores_the_handler():
    day = Path(__file__).parents[2] / "instances" / "three-sector-day.json"  # not proven in 60 s
    prep = Prepared(load_instance(day))
    v = build_model(prep)
    objective.maximise_service(v)
    add_hint(v, solve_greedy(prep)[0])  # an incumbent from the start
    assert complete_hint(v)
    # Ctrl-C from another thread reaches the main thread wherever it is in the wait loop
    timer = threading.Timer(4.0, signal.raise_signal, args=(signal.SIGINT,))
    timer.start()
    try:
        outcome = run_stage(v.model, "service", 60, 2, 0, None)
    finally:
        timer.cancel()
    assert outcome.interrupted
    assert outcome.wall_time_s < 30
    assert outcome.status in ("FEASIBLE", "OPTIMAL") and outcome.has_solution
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_progress_gap_is_relative_to_the_bound_for_service_and_to_the_incumbent_for_cost():
    assert Progress("service", 900, 1000, 1.0).gap == 0.1
    assert Progress("sector AZ cost", 605_275, 0, 1.0).gap == 1.0  # not 60 million percent
    assert Progress("cost", 500, 400, 1.0).gap == 0.2
    assert Progress("service", None, 1000, 1.0).gap is None
