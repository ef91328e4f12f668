"""Small hand-built instances for tests: two sectors far apart, a light and a medium helicopter type.

Requests are placed `north` nautical miles north of a base: 30 nm is 15 minutes at 120 kt.
"""

from __future__ import annotations

import math
from typing import Any

from ortools.sat.python import cp_model

from allocator.domain import Instance
from allocator.result import Plan, SolveStatus
from allocator.solver import _to_plan, objective
from allocator.solver.model import COVERAGE_GRID_MIN, build_model
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import Schedule, SortieMin
from allocator.solver.search import decode
from allocator.timeline import EARTH_RADIUS_NM

DAY = "2026-12-01"


def t(hhmm: str, day: str = DAY) -> str:
    """An instant on the test day, UTC."""
    return f"{day}T{hhmm}:00Z"


def base(id: str, sector: str, lat: float, lon: float) -> dict[str, Any]:
    return {"id": id, "name": id, "sector": sector, "lat": lat, "lon": lon}


BASES = [base("A", "S1", 32.0, -111.0), base("A2", "S1", 32.0, -110.0), base("B", "S2", 27.5, -99.5)]
TYPES = [
    {
        "id": "LIGHT",
        "category": "light_helicopter",
        "cruise_kt": 120,
        "endurance_min": 180,
        "turnaround_min": 30,
        "cost_per_hour": 1200,
        "capabilities": ["eo_ir", "night_vision"],
    },
    {
        "id": "MEDIUM",
        "category": "medium_helicopter",
        "cruise_kt": 120,
        "endurance_min": 150,
        "turnaround_min": 45,
        "cost_per_hour": 6000,
        "capabilities": ["eo_ir", "hoist", "night_vision"],
    },
]


def aircraft(id: str, type: str = "LIGHT", home: str = "A", hours: float = 10, **extra: Any) -> dict[str, Any]:
    return {"id": id, "type": type, "home_base": home, "hours_available": hours, **extra}


def request(
    id: str,
    *,
    north: float = 30,
    near: str = "A",
    start: str = "08:00",
    end: str = "12:00",
    duration: int = 60,
    priority: int = 3,
    agency: str = "CBP",
    sector: str | None = None,
    caps: list[str] | None = None,
    submitted: str = "00:00",
    **extra: Any,
) -> dict[str, Any]:
    """A request `north` nautical miles due north of base `near` (a hair less, so transit rounds down)."""
    b = next(b for b in BASES if b["id"] == near)
    return {
        "id": id,
        "agency": agency,
        "unit": f"{agency} unit",
        "sector": sector or b["sector"],
        "mission": "surveillance",
        "lat": b["lat"] + math.degrees((north - 1e-4) / EARTH_RADIUS_NM),
        "lon": b["lon"],
        "window": {"start": t(start), "end": t(end)},
        "duration_min": duration,
        "capabilities": caps if caps is not None else ["eo_ir"],
        "priority": priority,
        "submitted_at": t(submitted),
        **extra,
    }


def make(
    fleet: list[dict[str, Any]],
    requests: list[dict[str, Any]],
    *,
    coverage: dict[str, list[dict[str, Any]]] | None = None,
    policy: dict[str, Any] | None = None,
    start: str = "00:00",
    end: str = "23:59",
) -> Instance:
    coverage = coverage or {}
    data: dict[str, Any] = {
        "name": "test",
        "horizon": {"start": t(start), "end": t(end)},
        "bases": BASES,
        "sectors": [{"id": s, "name": s, "coverage": coverage.get(s, [])} for s in ("S1", "S2")],
        "aircraft_types": TYPES,
        "aircraft": fleet,
        "requests": requests,
    }
    if policy:
        data["policy"] = policy
    return Instance.model_validate(data)


def solve_hint_fixed(model: Any) -> tuple[str, float | None]:
    """Solve a CP-SAT model with every hinted variable fixed to its hint: the status and the objective."""
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.max_time_in_seconds = 20
    solver.parameters.num_workers = 1
    status = solver.solve(model)
    value = solver.objective_value if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    return solver.status_name(status), value


def solve_bare_model(
    prep: Prepared, time_limit_s: float, workers: int = 1, coverage_grid_min: int | None = COVERAGE_GRID_MIN
) -> tuple[str, float | None, Schedule | None]:
    """Maximise service with the bare CP-SAT model, no starting plan: the status, the model's objective
    and its schedule (None without a solution)."""
    v = build_model(prep, coverage_grid_min=coverage_grid_min)
    objective.maximise_service(v)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = time_limit_s
    status = solver.solve(v.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver.status_name(status), None, None
    return solver.status_name(status), solver.objective_value, decode(v, solver)


def solve_model_alone(inst: Instance, time_limit_s: float = 20) -> tuple[str, float | None, Plan | None]:
    """The bare model's own plan (no FCFS or greedy start for the planner to fall back on): the status, the
    model's objective, and the plan (None without a solution)."""
    prep = Prepared(inst)
    name, value, schedule = solve_bare_model(prep, time_limit_s)
    if schedule is None:
        return name, None, None
    proven = name == "OPTIMAL"
    bound = round(value) if proven and value is not None else None  # the model's objective is the service
    plan = _to_plan(prep, schedule, SolveStatus(name), bound, proven=proven, baseline=False)
    return name, value, plan


def relocating_candidate() -> tuple[Instance, Schedule]:
    """L1 at A flies R-WIN (P1) in R-LOST's window; L2 at B, 650 nm away, could relocate to A in time for R-LOST
    but flies R-BWIN (P2) near B instead, while it would be ferrying."""
    inst = make(
        [aircraft("L1"), aircraft("L2", home="B")],
        [
            request("R-WIN", start="14:00", end="15:00", priority=1),
            request("R-LOST", start="14:00", end="15:00", priority=3),
            request("R-BWIN", near="B", start="08:00", end="09:00", priority=2),
        ],
    )
    sorties = [SortieMin(825, "L1", "R-WIN", "A", 840, 900, 915), SortieMin(465, "L2", "R-BWIN", "B", 480, 540, 555)]
    return inst, Schedule(sorties=sorties)
