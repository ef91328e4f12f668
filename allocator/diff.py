"""What changed between two plans: requests gained and lost, sorties changed, relocations, coverage.

A baseline sortie (of `plan_a`) is *unchanged* when `plan_b` has a sortie with the same aircraft, request,
base, on_station and off_station; every other baseline sortie is one *change*, classified as

- `retimed`: the same aircraft still flies the same request, at another time or from another base;
- `reassigned`: the request is still served, by another aircraft (moved to another aircraft);
- `retasked`: the aircraft now flies, at an overlapping time, a request it did not fly before;
- `cancelled`: none of these (the request is lost, or needs fewer aircraft).

The kinds are matched in that order, so that a sortie whose request is still served is never `cancelled`
(a new sortie that could explain both a reassignment and a retask explains the reassignment). A sortie
of `plan_b` that none of these accounts for is `added` (not a change of the baseline).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from allocator.check import check
from allocator.domain import Instance
from allocator.result import Instant, Plan, Relocation, Sortie

SortieKind = Literal["retimed", "reassigned", "retasked", "cancelled", "added"]
SORTIE_KINDS: tuple[SortieKind, ...] = ("retimed", "reassigned", "retasked", "cancelled", "added")


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class RequestChange(_Row):
    """A request served in one plan and not the other; `reason` says why a lost one is unserved now."""

    request: str
    agency: str | None = None
    sector: str | None = None
    priority: int | None = None
    value: int | None = None
    reason: str | None = None


class SortieChange(_Row):
    """A changed baseline sortie (`aircraft`…`off_station`) and what replaced it (`new_…`), or an added one."""

    kind: SortieKind
    aircraft: str | None = None
    request: str | None = None
    base: str | None = None
    on_station: Instant | None = None
    off_station: Instant | None = None
    new_aircraft: str | None = None
    new_request: str | None = None
    new_base: str | None = None
    new_on_station: Instant | None = None
    new_off_station: Instant | None = None


class RelocationChange(_Row):
    kind: Literal["added", "dropped"]
    aircraft: str
    from_: str = Field(alias="from")
    to: str
    takeoff: Instant
    landing: Instant


class CoverageChange(_Row):
    """Alert coverage shortfall of one sector (summed over its rules) before and after."""

    sector: str
    shortfall_min_before: int
    shortfall_min_after: int
    penalty_before: int
    penalty_after: int

    @property
    def shortfall_change(self) -> int:
        return self.shortfall_min_after - self.shortfall_min_before


class PlanDiff(BaseModel):
    """The difference from `plan_a` (the baseline) to `plan_b`; DataFrame views and JSON for other tools."""

    before: str
    after: str
    service_before: int
    service_after: int
    cost_before: int
    cost_after: int
    served_before: int
    served_after: int
    baseline_sorties: int
    changes: int
    gained: list[RequestChange] = Field(default_factory=list)
    lost: list[RequestChange] = Field(default_factory=list)
    sorties: list[SortieChange] = Field(default_factory=list)
    relocations: list[RelocationChange] = Field(default_factory=list)
    coverage: list[CoverageChange] = Field(default_factory=list)

    @property
    def service_change(self) -> int:
        return self.service_after - self.service_before

    @property
    def cost_change(self) -> int:
        return self.cost_after - self.cost_before

    @property
    def counts(self) -> dict[str, int]:
        """Sortie changes by kind (every kind, zeros included)."""
        found = Counter(s.kind for s in self.sorties)
        return {kind: found[kind] for kind in SORTIE_KINDS}

    def summary(self) -> str:
        """One line: changed sorties by kind, requests gained and lost, service and cost change."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n and kind != "added")
        added = self.counts["added"]
        return (
            f"{self.changes} of {self.baseline_sorties} baseline sorties changed"
            + (f" ({kinds})" if kinds else "")
            + f", {added} added; requests +{len(self.gained)} -{len(self.lost)}; "
            f"service {self.service_change:+d} ({self.service_before} -> {self.service_after}), "
            f"cost {'+' if self.cost_change >= 0 else '-'}${abs(self.cost_change):,} "
            f"(${self.cost_before:,} -> ${self.cost_after:,})"
        )

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        data["service_change"] = self.service_change
        data["cost_change"] = self.cost_change
        data["sortie_changes"] = self.counts
        return json.dumps(data, indent=2) + "\n"

    # -- DataFrame views -------------------------------------------------------------------------
    def gained_frame(self) -> pd.DataFrame:
        return _frame(self.gained, RequestChange)

    def lost_frame(self) -> pd.DataFrame:
        return _frame(self.lost, RequestChange)

    def sorties_frame(self) -> pd.DataFrame:
        return _frame(self.sorties, SortieChange)

    def relocations_frame(self) -> pd.DataFrame:
        return _frame(self.relocations, RelocationChange)

    def coverage_frame(self) -> pd.DataFrame:
        frame = _frame(self.coverage, CoverageChange)
        frame["shortfall_change"] = frame["shortfall_min_after"] - frame["shortfall_min_before"]
        return frame


def _frame(rows: Sequence[_Row], model: type[_Row]) -> pd.DataFrame:
    columns = [info.alias or name for name, info in model.model_fields.items()]
    frame = pd.DataFrame([row.model_dump(by_alias=True) for row in rows], columns=columns)
    for col in columns:
        if col in {"on_station", "off_station", "new_on_station", "new_off_station", "takeoff", "landing"}:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


# -- computing the diff ----------------------------------------------------------------------------


def _key(s: Sortie) -> tuple[str, str, str, object, object]:
    return (s.aircraft, s.request, s.base, s.on_station, s.off_station)


def _overlaps(a: Sortie, b: Sortie) -> bool:
    return a.takeoff < b.landing and b.takeoff < a.landing


def _change(kind: SortieKind, old: Sortie | None, new: Sortie | None) -> SortieChange:
    fields: dict[str, object] = {"kind": kind}
    if old is not None:
        fields |= {k: getattr(old, k) for k in ("aircraft", "request", "base", "on_station", "off_station")}
    if new is not None:
        fields |= {f"new_{k}": getattr(new, k) for k in ("aircraft", "request", "base", "on_station", "off_station")}
    return SortieChange.model_validate(fields)


def sortie_changes(plan_a: Plan, plan_b: Plan) -> list[SortieChange]:
    """Every changed baseline sortie with its kind, then the added sorties (see the module docstring)."""
    order = sorted(plan_a.sorties, key=lambda s: (s.takeoff, s.aircraft, s.request))
    new_keys = {_key(s) for s in plan_b.sorties}
    old_keys = {_key(s) for s in plan_a.sorties}
    old_pairs = {(s.aircraft, s.request) for s in plan_a.sorties}
    used: set[int] = {i for i, s in enumerate(plan_b.sorties) if _key(s) in old_keys}
    changed = [s for s in order if _key(s) not in new_keys]
    found: dict[int, SortieChange] = {}  # index in `changed` -> its change

    def take(s: Sortie, test: Callable[[Sortie, Sortie], bool]) -> Sortie | None:
        """The first unused new sortie `t` with `test(t, s)`, now used."""
        for i, t in enumerate(plan_b.sorties):
            if i not in used and test(t, s):
                used.add(i)
                return t
        return None

    # one pass per kind, in order, so that a sortie is matched by its closest counterpart first; the passes
    # that keep the request served (retimed, reassigned) come before a retask, which could otherwise take the
    # new sortie of a request that is still served and leave its old sortie looking "cancelled"
    passes: list[tuple[SortieKind, Callable[[Sortie, Sortie], bool]]] = [
        ("retimed", lambda t, s: t.aircraft == s.aircraft and t.request == s.request),
        ("reassigned", lambda t, s: t.request == s.request and (t.aircraft, t.request) not in old_pairs),
        (
            "retasked",
            lambda t, s: t.aircraft == s.aircraft and (t.aircraft, t.request) not in old_pairs and _overlaps(s, t),
        ),
    ]
    for kind, test in passes:
        for n, s in enumerate(changed):
            if n not in found:
                t = take(s, test)
                if t is not None:
                    found[n] = _change(kind, s, t)
    rows = [found.get(n) or _change("cancelled", s, None) for n, s in enumerate(changed)]
    added = sorted((t for i, t in enumerate(plan_b.sorties) if i not in used), key=lambda t: (t.takeoff, t.aircraft))
    return rows + [_change("added", None, t) for t in added]


def _relocation_key(r: Relocation) -> tuple[str, str, str, object, object]:
    return (r.aircraft, r.from_, r.to, r.takeoff, r.landing)


def _relocation_changes(plan_a: Plan, plan_b: Plan) -> list[RelocationChange]:
    old = {_relocation_key(r): r for r in plan_a.relocations}
    new = {_relocation_key(r): r for r in plan_b.relocations}
    rows: list[tuple[Literal["added", "dropped"], Relocation]] = [
        ("dropped", r) for k, r in old.items() if k not in new
    ]
    rows += [("added", r) for k, r in new.items() if k not in old]
    return [
        RelocationChange(kind=kind, aircraft=r.aircraft, from_=r.from_, to=r.to, takeoff=r.takeoff, landing=r.landing)
        for kind, r in sorted(rows, key=lambda row: (row[1].takeoff, row[1].aircraft, row[0]))
    ]


def coverage_per_sector(plan: Plan, instance: Instance | None = None) -> dict[str, tuple[int, int]]:
    """Shortfall minutes and penalty per sector, summed over the plan's coverage entries (an extension of SPEC
    section 3 that a plan file may carry in any shape: entries without a sector or whole numbers are left out).

    A plan without any such entry (one from another tool: SPEC section 3 keys only) has its coverage
    recomputed by the independent checker when its `instance` is given, rather than read as no shortfall."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def whole(value: object) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    entries = [rule for rule in plan.coverage if isinstance(rule, dict) and isinstance(rule.get("sector"), str)]
    if not entries and instance is not None:
        entries = check(instance, plan).coverage
    for rule in entries:
        totals[rule["sector"]][0] += whole(rule.get("shortfall_min", 0))
        totals[rule["sector"]][1] += whole(rule.get("penalty", 0))
    return {k: (v[0], v[1]) for k, v in totals.items()}


def _coverage_changes(
    plan_a: Plan, plan_b: Plan, instance_a: Instance | None, instance_b: Instance | None
) -> list[CoverageChange]:
    a, b = coverage_per_sector(plan_a, instance_a), coverage_per_sector(plan_b, instance_b)
    return [
        CoverageChange(
            sector=sector,
            shortfall_min_before=a.get(sector, (0, 0))[0],
            shortfall_min_after=b.get(sector, (0, 0))[0],
            penalty_before=a.get(sector, (0, 0))[1],
            penalty_after=b.get(sector, (0, 0))[1],
        )
        for sector in sorted(a.keys() | b.keys())
    ]


def _request_change(request_id: str, instances: list[Instance], reason: str | None) -> RequestChange:
    for inst in instances:
        try:
            req = inst.request(request_id)
        except KeyError:
            continue
        return RequestChange(
            request=request_id,
            agency=req.agency,
            sector=req.sector,
            priority=req.priority,
            value=inst.value(req),
            reason=reason,
        )
    return RequestChange(request=request_id, reason=reason)


def diff(plan_a: Plan, plan_b: Plan, instance: Instance | None = None, *, before: Instance | None = None) -> PlanDiff:
    """How `plan_b` differs from the baseline `plan_a`.

    `instance` (the instance of `plan_b`) and `before` (that of `plan_a`, when a scenario changed it)
    give the agency, sector, priority and value of requests gained and lost, and the coverage shortfall of
    a plan file that does not carry it (`instance` stands for `before` when that is not given)."""
    instances = [inst for inst in (instance, before) if inst is not None]
    served_a = {s.request for s in plan_a.sorties}
    served_b = {s.request for s in plan_b.sorties}
    reasons = {u.request: str(u.reason) for u in plan_b.unserved}
    in_b = {r.id for r in instance.requests} if instance is not None else None

    def lost_reason(request_id: str) -> str | None:
        if request_id in reasons:
            return reasons[request_id]
        return "REMOVED" if in_b is not None and request_id not in in_b else None

    rows = sortie_changes(plan_a, plan_b)
    return PlanDiff(
        before=plan_a.instance,
        after=plan_b.instance,
        service_before=plan_a.objective.service,
        service_after=plan_b.objective.service,
        cost_before=plan_a.objective.cost,
        cost_after=plan_b.objective.cost,
        served_before=len(served_a),
        served_after=len(served_b),
        baseline_sorties=len(plan_a.sorties),
        changes=sum(row.kind != "added" for row in rows),
        gained=[_request_change(r, instances, None) for r in sorted(served_b - served_a)],
        lost=[_request_change(r, instances, lost_reason(r)) for r in sorted(served_a - served_b)],
        sorties=rows,
        relocations=_relocation_changes(plan_a, plan_b),
        coverage=_coverage_changes(plan_a, plan_b, before or instance, instance),
    )
