"""Plans (SPEC section 3), the project's own solve status, and tabular views.

A `Plan` is what is written to and read from plan files; `Result` wraps a plan
with the run's statistics. Nothing here depends on OR-Tools.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from allocator.domain import Int, instant_in_supported_years, instant_not_number
from allocator.timeline import format_instant

Instant = Annotated[
    AwareDatetime,
    BeforeValidator(instant_not_number),
    AfterValidator(instant_in_supported_years),
    PlainSerializer(format_instant, return_type=str),
]


class SolveStatus(StrEnum):
    """How far the solver got (SPEC section 3)."""

    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"


class Reason(StrEnum):
    """Why a request is not served (SPEC section 6)."""

    NO_CAPABLE_TYPE = "NO_CAPABLE_TYPE"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNAVAILABLE = "UNAVAILABLE"
    OUTCOMPETED = "OUTCOMPETED"
    NOT_PROVEN = "NOT_PROVEN"


# the reasons the instance alone decides (SPEC 6): a request has one exactly when nothing could fly it
STATIC_REASONS = frozenset({Reason.NO_CAPABLE_TYPE, Reason.OUT_OF_RANGE, Reason.UNAVAILABLE})


class _PlanModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Sortie(_PlanModel):
    aircraft: str
    request: str
    base: str
    takeoff: Instant
    on_station: Instant
    off_station: Instant
    landing: Instant


class Relocation(_PlanModel):
    aircraft: str
    from_: str = Field(alias="from")
    to: str
    takeoff: Instant
    landing: Instant


class Unserved(_PlanModel):
    request: str
    reason: Reason
    detail: str = ""
    competitors: list[str] = Field(default_factory=list)


class Objective(_PlanModel):
    service: Int
    cost: Int


class Bound(_PlanModel):
    service: Int | None = None


class Plan(_PlanModel):
    """A plan as in SPEC section 3; `metrics`, `coverage`, `conflicts` (SPEC section 8) and `run` are
    extensions."""

    instance: str
    status: SolveStatus
    objective: Objective
    bound: Bound = Field(default_factory=Bound)
    sorties: list[Sortie] = Field(default_factory=list)
    relocations: list[Relocation] = Field(default_factory=list)
    unserved: list[Unserved] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    coverage: list[dict[str, Any]] = Field(default_factory=list)
    conflicts: list[dict[str, Any]] = Field(default_factory=list)
    run: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    def sorties_frame(self) -> pd.DataFrame:
        """One row per sortie, times as UTC timestamps."""
        columns = ["aircraft", "request", "base", "takeoff", "on_station", "off_station", "landing"]
        rows = [s.model_dump(include=set(columns)) for s in self.sorties]
        return _with_times(pd.DataFrame(rows, columns=columns), columns[3:])

    def relocations_frame(self) -> pd.DataFrame:
        columns = ["aircraft", "from", "to", "takeoff", "landing"]
        rows = [
            r.model_dump(by_alias=True, include={"aircraft", "from_", "to", "takeoff", "landing"})
            for r in self.relocations
        ]
        return _with_times(pd.DataFrame(rows, columns=columns), ["takeoff", "landing"])

    def unserved_frame(self) -> pd.DataFrame:
        rows = [{"request": u.request, "reason": str(u.reason), "detail": u.detail} for u in self.unserved]
        return pd.DataFrame(rows, columns=["request", "reason", "detail"])


def _with_times(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for col in columns:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


class Result(BaseModel):
    """A plan with the statistics of the run that made it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: Plan
    wall_time_s: float = 0.0
    gap: float | None = None
    num_variables: int = 0
    num_constraints: int = 0
    interrupted: bool = False
    baseline: Plan | None = None

    @property
    def status(self) -> SolveStatus:
        return self.plan.status

    @property
    def service(self) -> int:
        return self.plan.objective.service

    @property
    def cost(self) -> int:
        return self.plan.objective.cost

    @property
    def bound(self) -> int | None:
        return self.plan.bound.service

    @property
    def sorties(self) -> pd.DataFrame:
        return self.plan.sorties_frame()

    @property
    def relocations(self) -> pd.DataFrame:
        return self.plan.relocations_frame()

    @property
    def unserved(self) -> pd.DataFrame:
        return self.plan.unserved_frame()


def gap_of(service: int, bound: int | None) -> float | None:
    """Relative gap between a service value and its proven bound (0 when equal)."""
    if bound is None:
        return None
    if bound == service:
        return 0.0
    return abs(bound - service) / max(1, abs(bound))


__all__ = [
    "Bound",
    "Objective",
    "Plan",
    "Reason",
    "Relocation",
    "Result",
    "SolveStatus",
    "Sortie",
    "Unserved",
    "gap_of",
]
