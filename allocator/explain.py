"""Why a request was or was not served (issue 5): reason codes with evidence, and what it would take.

For an unserved request: its SPEC section 6 reason (the plan's own, from `allocator.solver.reasons`)
and, aircraft by aircraft, the evidence: which eligible aircraft are in range from which bases, which
are down, not yet available, out of hours, or busy with which requests. For `OUTCOMPETED` and
`NOT_PROVEN`, *what it would take*: a re-plan with the request required (`SolveOptions.require`),
staying as close to the plan as possible (`SolveOptions.baseline`), which names the requests dropped,
moved or added and the change in service and cost; and whether one extra flight hour on one capable
aircraft, or one more relocation, would have served it without dropping anything (re-plans requiring
every served request too). Each re-plan has a small time limit; the answer says when it is not proven.

For a served request: the aircraft flying it and, for every other eligible aircraft, what it would
have cost at the same time from its operating base, or why it could not (busy with which request, out
of range, down, out of hours).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, NotRequired, TypedDict

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from allocator.domain import Aircraft, Instance, Request, count
from allocator.errors import InputError
from allocator.result import STATIC_REASONS, Plan, Reason, SolveStatus, Unserved
from allocator.solver.anchor import schedule_of
from allocator.solver.fcfs import AircraftState, Fleet, Option, option_at
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import (
    Clock,
    aircraft_cause,
    competitors,
    explain_unserved,
    moves_away,
    moves_text,
    static_reason,
)
from allocator.solver.schedule import RelocationMin, Schedule, SortieMin
from allocator.solver.scoring import Score, dollars, operating_base_timeline, score

Status = Literal["flies it", "free", "busy", "out_of_range", "down", "unavailable", "out_of_hours"]


@dataclass
class ExplainOptions:
    """Re-plans for *what it would take*: time limit each, CP-SAT workers, seed, how many aircraft to try."""

    time_limit_s: float = 5.0
    workers: int = 1
    seed: int = 0
    what_it_would_take: bool = True
    remedy_aircraft: int = 3  # capable aircraft tried with one extra flight hour


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AircraftEvidence(_Out):
    """One eligible aircraft, seen from one request."""

    aircraft: str
    type: str
    base: str  # the base the evidence is about: the sortie's base (a relocation destination when not home)
    home_base: str = ""
    relocate_from: str | None = None  # set when the sortie flies from `base` after relocating there from this base
    bases_in_range: list[str]  # bases it may operate from with the sortie inside its endurance
    flight_min: int  # every flight minute it takes: the sortie from `base` plus `ferry_min`
    ferry_min: int = 0  # minutes of the relocation(s) to `base` (and back home) included in `flight_min`
    endurance_min: int
    cost: int | None = None  # dollars for `flight_min` (x cost per hour / 60), when it could fly it
    status: Status
    note: str
    busy_with: list[str] = Field(default_factory=list)


class _EvidenceFields(TypedDict):
    """The `AircraftEvidence` fields worked out before its status."""

    aircraft: str
    type: str
    base: str
    home_base: str
    relocate_from: NotRequired[str | None]
    bases_in_range: list[str]
    flight_min: int
    ferry_min: NotRequired[int]
    endurance_min: int
    cost: NotRequired[int]  # once it is known the aircraft could fly the sortie


class _Parts(TypedDict):
    """A service change part by part (SPEC 5)."""

    served_value_change: int
    coverage_service_change: int
    fairness_service_change: int


class Change(_Out):
    """A request whose service differs between the plan and a re-plan."""

    request: str
    agency: str
    priority: int
    value: int
    change: Literal["dropped", "moved", "added"]
    before: str = ""
    after: str = ""


class CoverageChange(_Out):
    """A sector alert coverage rule (SPEC 4.3) whose shortfall differs between the plan and a re-plan."""

    sector: str
    rule: int  # index in the sector's `coverage` list
    capability: str
    shortfall_min_before: int
    shortfall_min_after: int
    service_change: int  # minus the change of its penalty: negative when the re-plan leaves more shortfall


class Remedy(_Out):
    """A small change to the instance, re-planned requiring the request and everything the plan serves.

    The change only relaxes the instance, so when the plain re-plan (`WhatItWouldTake`) serves everything
    too, it is valid here: it starts the search, and its figures are the floor of the ones reported."""

    kind: Literal["extra_hour", "extra_relocation", "make_relocatable"]
    aircraft: str | None = None
    description: str
    works: bool | None  # None: the re-plan stopped before finding a plan or proving there is none
    status: SolveStatus
    service_change: int | None = None  # = served_value_change + coverage_service_change + fairness_service_change
    cost_change: int | None = None
    served_value_change: int | None = None
    coverage_service_change: int | None = None  # service lost (negative) or won back in alert coverage
    fairness_service_change: int | None = None
    note: str = ""


class WhatItWouldTake(_Out):
    """The re-plan with the request required, against the plan."""

    status: SolveStatus
    proven: bool  # the re-plan's service is proven optimal: the changes below are the least service loss
    served: bool
    flown_by: list[str] = Field(default_factory=list)
    service_change: int | None = None  # = served_value_change + coverage_service_change + fairness_service_change
    cost_change: int | None = None
    served_value_change: int | None = None  # value of the requests served, this one included
    coverage_service_change: int | None = None  # service lost (negative) or won back in alert coverage
    fairness_service_change: int | None = None  # the agencies' fairness floors (SPEC 5)
    coverage: list[CoverageChange] = Field(default_factory=list)
    dropped: list[Change] = Field(default_factory=list)
    moved: list[Change] = Field(default_factory=list)
    added: list[Change] = Field(default_factory=list)
    remedies: list[Remedy] = Field(default_factory=list)
    summary: str


class Explanation(_Out):
    """Why one request was or was not served."""

    request: str
    agency: str
    unit: str
    sector: str
    priority: int
    value: int
    served: bool
    reason: Reason | None = None
    detail: str = ""
    competitors: list[str] = Field(default_factory=list)
    fleet_types: dict[str, str] = Field(default_factory=dict)  # type -> what it lacks ("" when eligible)
    aircraft: list[AircraftEvidence] = Field(default_factory=list)  # eligible aircraft, flyers first
    what_it_would_take: WhatItWouldTake | None = None
    summary: str


def explain(
    instance: Instance, plan: Plan, requests: list[str] | None = None, options: ExplainOptions | None = None
) -> list[Explanation]:
    """Explanations for the named requests, or for every unserved one; InputError for an unknown id."""
    options = options or ExplainOptions()
    known = {r.id for r in instance.requests}
    unknown = list(dict.fromkeys(rid for rid in requests or [] if rid not in known))
    if len(unknown) == 1:
        raise InputError(f"request '{unknown[0]}' is not in instance {instance.name}.")
    if unknown:
        names = ", ".join(f"'{rid}'" for rid in unknown)
        raise InputError(f"requests {names} are not in instance {instance.name}.")
    prep = Prepared(instance)
    schedule = schedule_of(prep, plan)
    served = schedule.served()
    chosen = list(dict.fromkeys(requests)) if requests else [r.id for r in instance.requests if r.id not in served]
    reasons = {u.request: u for u in plan.unserved}
    # every detail is written afresh (in the sectors' local times, in the words the evidence uses), keeping the
    # recorded code; a plan without a reason for a request, or with one the instance alone contradicts (SPEC 6:
    # a static reason exactly when the instance rules the request out, and the same one), gets it decided as
    # the solver would
    unserved = [rid for rid in chosen if rid not in served]
    contradicted = {
        rid
        for rid in unserved
        if rid in reasons and _contradicted(reasons[rid].reason, static_reason(prep, instance.request(rid)))
    }
    keep = {rid: reasons[rid].reason for rid in unserved if rid in reasons and rid not in contradicted}
    wanted = set(unserved)
    if unserved:
        proven = plan.status == SolveStatus.OPTIMAL or bool(plan.run.get("service_proven_optimal"))
        baseline = plan.run.get("method") == "fcfs"
        for decided in explain_unserved(prep, schedule, proven, baseline, keep):
            if decided.request not in wanted:
                continue
            if decided.request in contradicted:
                recorded = reasons[decided.request].reason
                note = f" (the plan records {recorded}, which the instance contradicts)"
                decided = decided.model_copy(update={"detail": decided.detail + note})
            reasons[decided.request] = decided
    context = _Context(prep, plan, schedule, options)
    out = []
    for rid in chosen:
        req = instance.request(rid)
        if rid in served:
            out.append(context.served(req))
        else:
            out.append(context.unserved(req, reasons[rid]))
    return out


def _contradicted(recorded: Reason, static: Reason | None) -> bool:
    """Whether a plan's reason disagrees with what the instance alone decides (NO_CAPABLE_TYPE, OUT_OF_RANGE,
    UNAVAILABLE exactly when it rules the request out; OUTCOMPETED or NOT_PROVEN otherwise)."""
    return recorded != static if static is not None else recorded in STATIC_REASONS


def explanations_frame(explanations: list[Explanation]) -> pd.DataFrame:
    """One row per request: agency, priority, served, reason and the summary in words."""
    rows = [
        {
            "request": e.request,
            "agency": e.agency,
            "priority": e.priority,
            "served": e.served,
            "reason": str(e.reason) if e.reason else "",
            "summary": e.summary,
        }
        for e in explanations
    ]
    return pd.DataFrame(rows, columns=["request", "agency", "priority", "served", "reason", "summary"])


def explanations_json(explanations: list[Explanation]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in explanations], indent=2) + "\n"


# -- the work -----------------------------------------------------------------------------------------
class _Context:
    def __init__(self, prep: Prepared, plan: Plan, schedule: Schedule, options: ExplainOptions) -> None:
        self.prep = prep
        self.plan = plan
        self.schedule = schedule
        self.options = options
        self.fleet = Fleet(prep)
        self.flights = schedule.by_aircraft()
        self.sorties_of: dict[str, list[SortieMin]] = {}
        for s in schedule.sorties:
            self.sorties_of.setdefault(s.aircraft, []).append(s)
        self.used = {ac: sum(f.landing - f.takeoff for f in fl) for ac, fl in self.flights.items()}

    @cached_property
    def score(self) -> Score:
        """The plan's objective, term by term (only the what-it-would-take comparison needs it)."""
        return score(self.prep, self.schedule)

    # -- helpers --------------------------------------------------------------------------------------
    def clock(self, req: Request) -> Clock:
        """Times in a request's texts: local time of its sector, labelled with the zone."""
        return Clock.of(self.prep, req)

    def label(self, rid: str) -> str:
        req = self.prep.instance.request(rid)
        return f"{rid} (P{req.priority}, {req.agency})"

    def eligible(self, req: Request) -> list[Aircraft]:
        return [ac for ac in self.prep.instance.aircraft if self.prep.eligible(req, self.prep.type_of(ac))]

    def dollars(self, ac: Aircraft, minutes: int) -> int:
        """SPEC 5's cost of `minutes` of the aircraft's flight, rounded half up as a plan's cost is."""
        return dollars(self.prep.type_of(ac).cost_per_hour, minutes)

    def base_at(self, ac: Aircraft, minute: int) -> str:
        for start, end, base in operating_base_timeline(self.prep, ac, self.schedule):
            if start <= minute < end:
                return base
        return ac.home_base

    def fleet_types(self, req: Request) -> dict[str, str]:
        out = {}
        for kind in self.prep.instance.aircraft_types:
            lacks = sorted(set(req.capabilities) - set(kind.capabilities))
            if req.aircraft_types is not None and kind.id not in req.aircraft_types:
                out[kind.id] = "not on the request's allow-list"
            elif lacks:
                out[kind.id] = "lacks " + ", ".join(lacks)
            else:
                out[kind.id] = ""
        return out

    def base_fields(self, req: Request, ac: Aircraft) -> tuple[str, list[str], int]:
        """The best base (in range if any), the bases in range, and the sortie's flight minutes from it."""
        prep = self.prep
        kind = prep.type_of(ac)
        in_range = [b for b in prep.operating_bases(ac) if prep.in_range(ac, req, b)]
        pool = in_range or prep.operating_bases(ac)
        best = min(pool, key=lambda b: (b != ac.home_base if in_range else False, prep.transit(kind, req, b), b))
        return best, sorted(in_range), 2 * prep.transit(kind, req, best) + req.duration_min

    def request_fields(self, req: Request) -> dict[str, Any]:
        """What every explanation says about its request."""
        return {
            "request": req.id,
            "agency": req.agency,
            "unit": req.unit,
            "sector": req.sector,
            "priority": req.priority,
            "value": self.prep.instance.value(req),
        }

    # -- unserved -------------------------------------------------------------------------------------
    def unserved(self, req: Request, unserved: Unserved) -> Explanation:
        reason = unserved.reason
        evidence = [self.unserved_evidence(req, ac) for ac in self.eligible(req)]
        evidence.sort(key=_preference)
        explanation = Explanation(
            **self.request_fields(req),
            served=False,
            reason=reason,
            detail=unserved.detail,
            competitors=list(unserved.competitors),
            fleet_types=self.fleet_types(req),
            aircraft=evidence,
            summary=f"{reason}: {unserved.detail}",
        )
        if self.options.what_it_would_take and reason in (Reason.OUTCOMPETED, Reason.NOT_PROVEN):
            wit = self.what_it_would_take(req, evidence)
            explanation.what_it_would_take = wit
            explanation.summary += f". What it would take: {wit.summary}"
        return explanation

    def unserved_evidence(self, req: Request, ac: Aircraft) -> AircraftEvidence:
        prep = self.prep
        kind = prep.type_of(ac)
        base, in_range, flight = self.base_fields(req, ac)
        fields: _EvidenceFields = {
            "aircraft": ac.id,
            "type": ac.type,
            "base": base,
            "home_base": ac.home_base,
            "bases_in_range": in_range,
            "flight_min": flight,
            "endurance_min": kind.endurance_min,
        }
        if not in_range:
            where = "from any base"
            if prep.max_relocations(ac) == 0:
                why = "it is not relocatable" if not ac.relocatable else "the policy allows no relocation"
                where = f"from its home base ({why})"
            note = f"out of range {where}: the shortest sortie, from {base}, takes {flight} min"
            return AircraftEvidence(**fields, status="out_of_range", note=note + f" of {kind.endurance_min}")
        view = self.fleet.view(req)
        options = self.fleet.fresh(ac).options(view, self.fleet, prep.horizon_min)
        if not options:
            # the same cause, in the same words, as the reason's detail (allocator.solver.reasons)
            cause = aircraft_cause(prep, view, ac, self.fleet)
            fields |= {"base": cause.base, "relocate_from": cause.origin, "ferry_min": cause.ferry}
            fields["flight_min"] = cause.flight + cause.ferry
            note = cause.text
            if cause.origin is not None and f"{cause.origin}->{cause.base}" not in note:
                note += f" (to fly it from {cause.base} it would relocate {cause.origin}->{cause.base} first)"
            return AircraftEvidence(**fields, status=cause.status, note=note)
        cheapest = min(options, key=lambda o: (o.cost60, o.base))
        sortie = cheapest.out_min + req.duration_min + cheapest.back_min
        ferry = cheapest.ferry + cheapest.return_ferry
        fields |= {"base": cheapest.base, "relocate_from": cheapest.origin, "ferry_min": ferry}
        fields["flight_min"] = sortie + ferry
        fields["cost"] = self.dollars(ac, sortie + ferry)
        via = _via(cheapest)
        holders, during = competitors(prep, req, {ac.id: options}, self.sorties_of)
        left = prep.hours_min(ac) - self.used.get(ac.id, 0)
        if during:
            names = ", ".join(self.label(rid) for rid in holders)
            note = f"flies {names} around the window" + (f"; it would fly it from {via}" if via else "")
            return AircraftEvidence(**fields, status="busy", note=note, busy_with=list(holders))
        if left < fields["flight_min"]:
            takes = f"{_trip(cheapest, sortie)} take {sortie + ferry}" if via else f"the sortie takes {sortie}"
            note = f"out of hours in the plan: {left} flight min left, {takes}"
            return AircraftEvidence(**fields, status="out_of_hours", note=note, busy_with=list(holders))
        if moves := moves_away(prep, req, {ac.id: options}, self.schedule):
            # no sortie in the way, but the plan flies it elsewhere: not free to fly this one
            note = f"flies no sortie around the window, but {moves_text(prep, req, moves)}"
            return AircraftEvidence(**fields, status="busy", note=note)
        return AircraftEvidence(**fields, status="free", note=self.free_note(via))

    def free_note(self, via: str) -> str:
        how = f"free, but only by flying it from {via}, which the plan does not do" if via else "free in the window"
        return f"{how}; not used (the plan keeps it for something worth more, e.g. alert coverage or another base)"

    # -- what it would take ---------------------------------------------------------------------------
    def replan(self, instance: Instance, require: set[str], start: Plan | None = None) -> Plan:
        """A quick re-plan requiring `require`: no more service lost than needed, then the fewest changes to
        the plan, then the cheapest; it starts from `start` (a plan that serves them) when given."""
        from allocator.solver import SolveOptions, solve

        options = SolveOptions(
            time_limit_s=self.options.time_limit_s,
            workers=self.options.workers,
            seed=self.options.seed,
            decompose=False,
            baseline=self.plan,
            hint=start,
            require=frozenset(require),
        )
        # a required request often makes the plan's own flights an impossible hint: the solver's warning about
        # that is expected here, not news for the reader
        solver_log = logging.getLogger("allocator.solver")
        level = solver_log.level
        solver_log.setLevel(max(level, logging.ERROR))
        try:
            result = solve(instance, options)
        finally:
            solver_log.setLevel(level)
        if result.interrupted:  # Ctrl-C stops the explanations, not just this one's re-plan
            raise KeyboardInterrupt
        return result.plan

    def what_it_would_take(self, req: Request, evidence: list[AircraftEvidence]) -> WhatItWouldTake:
        inst = self.prep.instance
        forced = self.replan(inst, {req.id}, self.start_with(req))
        flown_by = sorted(s.aircraft for s in forced.sorties if s.request == req.id)
        if not flown_by:
            proven = forced.status == SolveStatus.INFEASIBLE
            why = (
                "no plan serves it" if proven else "the re-plan found no plan serving it in the time limit (not proven)"
            )
            return WhatItWouldTake(status=forced.status, proven=proven, served=False, summary=why)
        before, after = _by_request(self.plan), _by_request(forced)
        changes: dict[str, list[Change]] = {"dropped": [], "moved": [], "added": []}
        for rid in sorted(set(before) | set(after)):
            if rid == req.id:
                continue
            if rid not in after:
                changes["dropped"].append(self.change(rid, "dropped", before[rid], None))
            elif rid not in before:
                changes["added"].append(self.change(rid, "added", None, after[rid]))
            elif before[rid] != after[rid]:
                changes["moved"].append(self.change(rid, "moved", before[rid], after[rid]))
        service = forced.objective.service - self.plan.objective.service
        cost = forced.objective.cost - self.plan.objective.cost
        proven = bool(forced.run.get("service_proven_optimal"))
        parts, coverage = self.service_parts(forced)
        wit = WhatItWouldTake(
            status=forced.status,
            proven=proven,
            served=True,
            flown_by=flown_by,
            service_change=service,
            cost_change=cost,
            **parts,
            coverage=coverage,
            summary="",
            dropped=changes["dropped"],
            moved=changes["moved"],
            added=changes["added"],
        )
        if changes["dropped"] or service < 0:
            wit.remedies = self.remedies(req, evidence, forced)
        wit.summary = self.wit_summary(wit)
        return wit

    def service_parts(self, other: Plan) -> tuple[_Parts, list[CoverageChange]]:
        """Where another plan's service differs from the plan's (SPEC 5): the value of the requests served, the
        alert coverage penalties, the fairness penalty; and the coverage rules whose shortfall changed."""
        before, after = self.score, score(self.prep, schedule_of(self.prep, other))
        parts: _Parts = {
            "served_value_change": after.value_served - before.value_served,
            "coverage_service_change": before.coverage_penalty - after.coverage_penalty,
            "fairness_service_change": before.fairness_penalty - after.fairness_penalty,
        }
        rules = []
        for old, new in zip(before.coverage, after.coverage, strict=True):
            if old.shortfall_min != new.shortfall_min or old.penalty != new.penalty:
                rules.append(
                    CoverageChange(
                        sector=new.sector,
                        rule=new.rule,
                        capability=new.capability,
                        shortfall_min_before=old.shortfall_min,
                        shortfall_min_after=new.shortfall_min,
                        service_change=old.penalty - new.penalty,
                    )
                )
        return parts, rules

    def start_with(self, req: Request) -> Plan | None:
        """A valid plan serving the request, to start the forced re-plan from: the plan, with the request
        flown by the aircraft whose displaced flights are worth least (all flights of an aircraft that
        relocates in the plan or must relocate for it), and requests that lost a sortie dropped whole."""
        prep, inst = self.prep, self.prep.instance
        view = self.fleet.view(req)
        options = {}
        for ac in self.eligible(req):
            found = self.fleet.fresh(ac).options(view, self.fleet, prep.horizon_min)
            if found:
                options[ac.id] = found
        minutes = sorted({m for found in options.values() for o in found for m in (o.lo, o.hi)})
        best: tuple | None = None
        for minute in minutes:
            picks = []
            for ac_id, found in options.items():
                option = option_at(found, minute)
                if option is not None:
                    ac = inst.aircraft_by_id(ac_id)
                    state = AircraftState.fresh(prep, ac)
                    sortie, relocations = state.commit(option, minute, view)
                    displaced = self.displaced(ac, sortie, relocations)
                    loss = sum(inst.value(inst.request(rid)) for rid in displaced)
                    picks.append((loss, option.cost60, ac_id, sortie, relocations, displaced))
            if len(picks) >= req.aircraft_count:
                picks.sort(key=lambda p: p[:3])
                chosen = picks[: req.aircraft_count]
                key = (sum(p[0] for p in chosen), sum(p[1] for p in chosen), minute)
                if best is None or key < best[0]:
                    best = (key, chosen)
        if best is None:
            return None
        chosen = best[1]
        dropped = set().union(*(p[5] for p in chosen))
        pinned = {p[2] for p in chosen if p[4] or any(r.aircraft == p[2] for r in self.schedule.relocations)}
        sorties = [s for s in self.schedule.sorties if s.request not in dropped]
        relocations = [r for r in self.schedule.relocations if r.aircraft not in pinned]
        for _, _, _, sortie, new_relocations, _ in chosen:
            sorties.append(sortie)
            relocations.extend(new_relocations)
        schedule = Schedule(sorties=sorted(sorties), relocations=sorted(relocations))
        return schedule.to_plan(inst.name, prep.timeline, self.plan.status, self.plan.objective, None, [])

    def displaced(self, ac: Aircraft, sortie: SortieMin, relocations: list[RelocationMin]) -> set[str]:
        """Requests of the plan that lose a sortie when the aircraft flies `sortie` (and its relocations)."""
        flights = self.flights.get(ac.id, [])
        if relocations or any(isinstance(f, RelocationMin) for f in flights):
            return {f.request for f in flights if isinstance(f, SortieMin)}  # its bases change: clear it
        sorties = [f for f in flights if isinstance(f, SortieMin)]  # all of them: it has no relocation
        turnaround = self.prep.type_of(ac).turnaround_min
        kept = [
            f for f in sorties if f.landing + turnaround <= sortie.takeoff or sortie.landing + turnaround <= f.takeoff
        ]
        out = {f.request for f in sorties if f not in kept}
        budget = self.prep.hours_min(ac) - (sortie.landing - sortie.takeoff)
        for f in sorted(kept, key=lambda f: self.prep.instance.value(self.prep.instance.request(f.request))):
            if sum(k.landing - k.takeoff for k in kept if k.request not in out) <= budget:
                break
            out.add(f.request)
        return out

    def change(self, rid: str, kind: str, before: tuple | None, after: tuple | None) -> Change:
        req = self.prep.instance.request(rid)
        return Change(
            request=rid,
            agency=req.agency,
            priority=req.priority,
            value=self.prep.instance.value(req),
            change=kind,  # type: ignore[arg-type]
            before=self.flown_text(req, before),
            after=self.flown_text(req, after),
        )

    def flown_text(self, req: Request, flown: tuple | None) -> str:
        """`N503AM on station Jul 14 12:30–13:15 CDT`, in the local time of the request's sector."""
        if flown is None:
            return ""
        aircraft, on, off = flown
        minutes = self.prep.timeline.minutes
        return f"{', '.join(aircraft)} on station {self.clock(req).span(minutes(on), minutes(off))}"

    def remedies(self, req: Request, evidence: list[AircraftEvidence], plain: Plan) -> list[Remedy]:
        """One extra flight hour on one capable aircraft, or one more relocation, without dropping anything.
        Each change only relaxes the instance: `plain` (the re-plan without it) starts its search when it
        serves everything required, and its figures are then the least reported."""
        inst = self.prep.instance
        require = {s.request for s in self.plan.sorties} | {req.id}
        out = []
        hour_order = {"out_of_hours": 0, "busy": 1, "free": 2}  # an extra hour does not end maintenance
        tried = sorted(
            (e for e in evidence if e.bases_in_range and e.status in hour_order),
            key=lambda e: (hour_order[e.status], e.cost if e.cost is not None else 1 << 40, e.aircraft),
        )[: self.options.remedy_aircraft]
        for e in tried:
            ac = inst.aircraft_by_id(e.aircraft)
            more = ac.model_copy(update={"hours_available": ac.hours_available + 1})
            variant = inst.model_copy(update={"aircraft": [more if a.id == ac.id else a for a in inst.aircraft]})
            text = f"one more flight hour for {ac.id} ({ac.hours_available:g} -> {ac.hours_available + 1:g} h)"
            out.append(self.remedy(variant, require, "extra_hour", ac.id, text, plain))
        policy = inst.policy
        relocatable = [ac for ac in self.eligible(req) if ac.relocatable]
        if relocatable and policy.max_relocations_per_aircraft < 4:
            limit = policy.max_relocations_per_aircraft
            variant = inst.model_copy(
                update={"policy": policy.model_copy(update={"max_relocations_per_aircraft": limit + 1})}
            )
            text = f"one more relocation per aircraft (max_relocations_per_aircraft {limit} -> {limit + 1})"
            out.append(self.remedy(variant, require, "extra_relocation", None, text, plain))
        pinned = [
            e
            for e in evidence
            if not inst.aircraft_by_id(e.aircraft).relocatable
            and any(self.prep.in_range(inst.aircraft_by_id(e.aircraft), req, b) for b in self.prep.base_ids)
        ]
        if pinned:
            ac = inst.aircraft_by_id(pinned[0].aircraft)
            fleet = [a.model_copy(update={"relocatable": True}) if a.id == ac.id else a for a in inst.aircraft]
            update: dict = {"aircraft": fleet}
            if policy.max_relocations_per_aircraft == 0:
                update["policy"] = policy.model_copy(update={"max_relocations_per_aircraft": 1})
            text = f"letting {ac.id} relocate (it is not relocatable)"
            variant = inst.model_copy(update=update)
            out.append(self.remedy(variant, require, "make_relocatable", ac.id, text, plain))
        return out

    def remedy(
        self, variant: Instance, require: set[str], kind: str, aircraft: str | None, text: str, plain: Plan
    ) -> Remedy:
        start = plain if _valid_for(variant, plain, require) else None
        planned = self.replan(variant, require, start)
        found = planned.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
        status, proven, note = planned.status, found and bool(planned.run.get("service_proven_optimal")), ""
        if start is not None and (not found or _rank(start) > _rank(planned)):
            # the change only relaxes: the plain re-plan is a plan here too, whatever this re-plan found in its time
            planned, found, status, proven = start, True, SolveStatus.FEASIBLE, False
            note = "the plain re-plan's plan, still valid with this change; its own re-plan found nothing better"
        works: bool | None = False if status == SolveStatus.INFEASIBLE else None
        if found and planned.objective.service >= self.plan.objective.service:
            works = True  # serves it and everything else, and no service is lost elsewhere (alert coverage)
        elif found and proven:
            works = False  # serves everything, but the best such plan still loses service
        parts = self.service_parts(planned)[0] if found else None
        return Remedy(
            kind=kind,  # type: ignore[arg-type]
            aircraft=aircraft,
            description=text,
            works=works,
            status=status,
            service_change=planned.objective.service - self.plan.objective.service if found else None,
            cost_change=planned.objective.cost - self.plan.objective.cost if found else None,
            served_value_change=parts["served_value_change"] if parts else None,
            coverage_service_change=parts["coverage_service_change"] if parts else None,
            fairness_service_change=parts["fairness_service_change"] if parts else None,
            note=note,
        )

    def wit_summary(self, wit: WhatItWouldTake) -> str:
        parts = [f"flown by {', '.join(wit.flown_by)}"]
        if wit.dropped:
            parts.append("dropping " + ", ".join(self.label(c.request) for c in wit.dropped))
        if wit.moved:
            parts.append("moving " + count(len(wit.moved), "other request"))
        if wit.added:
            parts.append("adding " + ", ".join(self.label(c.request) for c in wit.added))
        text = "; ".join(parts) + f": service {wit.service_change:+d}"
        text += self.parts_text(wit) + f", cost {wit.cost_change:+,d} $"
        if not wit.proven:
            text += " (re-plan not proven optimal: the loss may be smaller)"
        return text + _remedies_text(wit.remedies)

    def parts_text(self, wit: WhatItWouldTake) -> str:
        """` (served value +50, alert coverage -161: LRD hoist 143 -> 304 shortfall min)` when the service change
        is not just the value of the requests served."""
        if not wit.coverage_service_change and not wit.fairness_service_change:
            return ""
        parts = [f"served value {wit.served_value_change:+d}"]
        if wit.coverage_service_change:
            rules = ", ".join(
                f"{c.sector} {c.capability} {c.shortfall_min_before} -> {c.shortfall_min_after} shortfall min"
                for c in wit.coverage
            )
            parts.append(f"alert coverage {wit.coverage_service_change:+d}" + (f": {rules}" if rules else ""))
        if wit.fairness_service_change:
            parts.append(f"agency fairness {wit.fairness_service_change:+d}")
        return f" ({'; '.join(parts)})"

    # -- served -----------------------------------------------------------------------------------------
    def served(self, req: Request) -> Explanation:
        mine = [s for s in self.schedule.sorties if s.request == req.id]
        on, off = mine[0].on_station, mine[0].off_station
        flyers = {s.aircraft: s for s in mine}
        clock = self.clock(req)
        evidence = []
        for ac in self.eligible(req):
            if ac.id in flyers:
                s = flyers[ac.id]
                minutes = s.landing - s.takeoff
                moved = f" (the plan relocated it there from {ac.home_base})" if s.base != ac.home_base else ""
                evidence.append(
                    AircraftEvidence(
                        aircraft=ac.id,
                        type=ac.type,
                        base=s.base,
                        home_base=ac.home_base,
                        bases_in_range=self.base_fields(req, ac)[1],
                        flight_min=minutes,
                        endurance_min=self.prep.type_of(ac).endurance_min,
                        cost=self.dollars(ac, minutes),
                        status="flies it",
                        note=f"from {s.base}{moved}, {minutes} min, on station {clock.span(on, off)}",
                    )
                )
            else:
                evidence.append(self.alternative(req, ac, on, off))
        evidence.sort(key=_preference)
        return Explanation(
            **self.request_fields(req),
            served=True,
            fleet_types=self.fleet_types(req),
            aircraft=evidence,
            summary=self.served_summary(evidence),
        )

    def alternative(self, req: Request, ac: Aircraft, on: int, off: int) -> AircraftEvidence:
        """Another eligible aircraft at the same on-station time, from its operating base then (or, when that
        base is out of range and another is not, from there after a relocation)."""
        prep = self.prep
        kind = prep.type_of(ac)
        clock = self.clock(req)
        transit = prep.transit(kind, req, self.base_at(ac, on))
        takeoff, landing = on - transit, off + transit
        base = self.base_at(ac, takeoff)
        transit = prep.transit(kind, req, base)
        takeoff, landing = on - transit, off + transit
        flight = landing - takeoff
        fields: _EvidenceFields = {
            "aircraft": ac.id,
            "type": ac.type,
            "base": base,
            "home_base": ac.home_base,
            "bases_in_range": self.base_fields(req, ac)[1],
            "flight_min": flight,
            "endurance_min": kind.endurance_min,
        }
        if flight > kind.endurance_min:
            if fields["bases_in_range"]:
                return self.relocated_alternative(req, ac, on, off, fields)
            note = f"out of range from {base}: {flight} min against an endurance of {kind.endurance_min}"
            return AircraftEvidence(**fields, status="out_of_range", note=note + ", and from every other base")
        turnaround = kind.turnaround_min
        down = [(s, e) for s, e in prep.maintenance(ac) if s < landing + turnaround and e > takeoff]
        if down:
            s, e = down[0]
            return AircraftEvidence(**fields, status="down", note=f"in maintenance {clock.span(s, e)}")
        if takeoff < prep.available_from(ac) or takeoff < 0 or landing > prep.horizon_min:
            note = f"not available for a {clock.span(takeoff, landing)} flight"
            return AircraftEvidence(**fields, status="unavailable", note=note)
        clash = [
            f
            for f in self.flights.get(ac.id, [])
            if f.takeoff < landing + turnaround and f.landing + turnaround > takeoff
        ]
        if clash:
            names = [self.label(f.request) if isinstance(f, SortieMin) else f"a relocation to {f.dest}" for f in clash]
            busy = sorted({f.request for f in clash if isinstance(f, SortieMin)})
            note = f"busy: {', '.join(dict.fromkeys(names))}"
            return AircraftEvidence(**fields, status="busy", note=note, busy_with=busy)
        left = prep.hours_min(ac) - self.used.get(ac.id, 0)
        if left < flight:
            note = f"out of hours: {left} flight min left in the plan, this sortie takes {flight}"
            return AircraftEvidence(**fields, status="out_of_hours", note=note)
        fields["cost"] = self.dollars(ac, flight)
        return AircraftEvidence(**fields, status="free", note=f"free: would fly {flight} min from {base}")

    def relocated_alternative(
        self, req: Request, ac: Aircraft, on: int, off: int, fields: _EvidenceFields
    ) -> AircraftEvidence:
        """An aircraft whose base at the time is out of range, but which could operate from another base: what
        stops it relocating there (just in time) and flying the request at the plan's on-station time. When the
        plan itself moves it from that base to a base in range later, that move is the one made earlier."""
        prep, kind, clock = self.prep, self.prep.type_of(ac), self.clock(req)
        origin, home, turnaround = fields["base"], ac.home_base, kind.turnaround_min
        in_range = fields["bases_in_range"]
        far = (
            f"out of range from {origin}, its base then ({fields['flight_min']} min against an endurance of "
            f"{kind.endurance_min})"
        )
        moves = sorted(r for r in self.schedule.relocations if r.aircraft == ac.id)
        then = on - prep.transit(kind, req, origin)
        advanced = next((r for r in moves if r.takeoff >= then and r.origin == origin), None)
        if advanced is not None and advanced.dest not in in_range:
            advanced = None
        if advanced is not None:
            dest = advanced.dest
        else:
            dest = min(in_range, key=lambda b: (prep.ferry(ac, origin, b) + 2 * prep.transit(kind, req, b), b))
        ferry, transit = prep.ferry(ac, origin, dest), prep.transit(kind, req, dest)
        takeoff, landing = on - transit, off + transit
        sortie, start = landing - takeoff, takeoff - turnaround - ferry  # the relocation lands just in time
        maintenance = prep.maintenance(ac)
        later = [s for s, _ in maintenance if s >= landing]
        back = prep.ferry(ac, dest, home) if dest != home and later else 0  # home for its maintenance (SPEC 4.6)
        end = landing + turnaround + (back + turnaround if back else 0)
        fields |= {"base": dest, "relocate_from": origin, "ferry_min": ferry + back}
        fields["flight_min"] = sortie + ferry + back
        move = f"relocating {origin}->{dest} ({ferry} min)"
        if advanced is not None:
            move += f" earlier than the plan does ({clock.at(advanced.takeoff)})"
        move += f" and back home ({back} min)" if back else ""
        others = [r for r in moves if r is not advanced]
        allowed = prep.max_relocations(ac)
        if others and len(others) >= allowed:
            # in range from `dest`, but the plan spends every relocation it may make on other moves
            spent = ", ".join(f"{r.origin}->{r.dest} at {clock.at(r.takeoff)}" for r in others)
            served_after = sorted({f.request for f in self.sorties_of.get(ac.id, []) if f.takeoff >= others[0].landing})
            note = f"{far}; the plan spends its relocations ({spent}), none is left to reach {dest}"
            return AircraftEvidence(**fields, status="busy", note=note, busy_with=served_after)
        if len(others) + 1 + bool(back) > allowed:
            note = (
                f"{far}; {move} takes two relocations, as it must be home at {home} for maintenance from "
                f"{clock.at(later[0])} (SPEC 4.6), and it has one left"
            )
            return AircraftEvidence(**fields, status="down", note=note)
        if start < max(0, prep.available_from(ac)):
            when = "before the horizon starts" if start < 0 else "before it is available"
            note = f"{far}; {move} would have to take off at {clock.at(start)}, {when}"
            return AircraftEvidence(**fields, status="unavailable", note=note)
        if end - turnaround > prep.horizon_min:
            note = f"{far}; after {move} it would land after the horizon ends"
            return AircraftEvidence(**fields, status="unavailable", note=note)
        down = [(s, e) for s, e in maintenance if s < end and e > start]
        if down:
            s, e = down[0]
            note = f"{far}; in maintenance {clock.span(s, e)}, when it would be {move} and flying it"
            return AircraftEvidence(**fields, status="down", note=note)
        left = prep.hours_min(ac) - self.used.get(ac.id, 0)
        if advanced is not None:
            left += advanced.landing - advanced.takeoff  # that flight of the plan is flown earlier instead
        if left < fields["flight_min"]:
            note = f"{far}; {left} flight min left in the plan, {move} and the sortie ({sortie} min) take"
            return AircraftEvidence(**fields, status="out_of_hours", note=f"{note} {fields['flight_min']}")
        # its own flights in the way, or flown later from a base it would have left
        away = dest if not back else home
        clash = [
            f
            for f in self.flights.get(ac.id, [])
            if f is not advanced
            and (
                (f.takeoff < end and f.landing + turnaround > start)
                or (f.takeoff >= end and self.base_at(ac, f.takeoff) != away)
            )
        ]
        if clash:
            names = [self.label(f.request) if isinstance(f, SortieMin) else f"a relocation to {f.dest}" for f in clash]
            busy = sorted({f.request for f in clash if isinstance(f, SortieMin)})
            note = f"{far}; {move} would clash with its flights in the plan: {', '.join(dict.fromkeys(names))}"
            return AircraftEvidence(**fields, status="busy", note=note, busy_with=busy)
        fields["cost"] = self.dollars(ac, fields["flight_min"])
        note = f"free: could fly it from {dest} after {move}, {fields['flight_min']} min in all; {far}"
        return AircraftEvidence(**fields, status="free", note=note)

    def served_summary(self, evidence: list[AircraftEvidence]) -> str:
        flyers = [e for e in evidence if e.status == "flies it"]
        free = [e for e in evidence if e.status == "free"]
        cost = sum(e.cost or 0 for e in flyers)
        text = "flown by " + ", ".join(f"{e.aircraft} from {e.base} ({e.flight_min} min, ${e.cost:,})" for e in flyers)
        if not free:
            return text + "; no other eligible aircraft was free at that time"
        cheaper = [e for e in free if (e.cost or 0) < min(f.cost or 0 for f in flyers)]
        if cheaper:
            e = cheaper[0]
            where = f" from {e.base} (relocating from {e.relocate_from})" if e.relocate_from else ""
            text += (
                f"; {e.aircraft}{where} was free and cheaper (${e.cost:,}), but the plan as a whole is better with it "
                "where it is (e.g. alert coverage, its hours or its base)"
            )
            if self.plan.status != SolveStatus.OPTIMAL:
                text += "; the plan is not proven optimal, so this may be an improvement"
            return text
        e = free[0]
        where = f"{e.base}" + (f" (relocating from {e.relocate_from})" if e.relocate_from else "")
        return (
            f"{text}; the cheapest free alternative, {e.aircraft} from {where}, would cost ${e.cost:,} (vs ${cost:,})"
        )


_ORDER = {"flies it": 0, "free": 1, "busy": 2, "out_of_hours": 3, "down": 4, "unavailable": 5, "out_of_range": 6}


def _preference(e: AircraftEvidence) -> tuple:
    """Evidence order: by status, then the cheapest, then by tail number."""
    return (_ORDER[e.status], e.cost if e.cost is not None else 1 << 40, e.aircraft)


def _remedies_text(remedies: list[Remedy]) -> str:
    """What the small changes to the instance would do, claiming no more than the re-plans showed: a remedy
    whose re-plan stopped before it could tell is neither one that works nor one that does not."""
    if not remedies:
        return ""
    working = [r.description for r in remedies if r.works]
    if working:
        return "; without dropping anything: " + " or ".join(working)
    unknown = [r.description for r in remedies if r.works is None]
    if len(unknown) == len(remedies):
        return "; whether one extra flight hour or one more relocation would do is not known (the re-plans stopped)"
    text = "; neither one extra flight hour nor one more relocation would do"
    return text + (f" (not known for: {'; '.join(unknown)})" if unknown else "")


def _via(option: Option) -> str:
    """`TUS after relocating LRD->TUS (317 min)` for a sortie after a relocation, else ``."""
    if option.origin is None:
        return ""
    back = f", and {option.return_ferry} min back home after it" if option.return_ferry else ""
    return f"{option.base} after relocating {option.origin}->{option.base} ({option.ferry} min{back})"


def _trip(option: Option, sortie: int) -> str:
    """Every flight of an option in words: `relocating LRD->TUS (317 min) and the sortie (94 min)`."""
    back = f", back home ({option.return_ferry} min)" if option.return_ferry else ""
    return f"relocating {option.origin}->{option.base} ({option.ferry} min){back} and the sortie ({sortie} min)"


# what a plan reports about itself (objective, bound, reasons, coverage figures) may be stale for a relaxed
# instance without making its flights invalid there: e.g. an OUT_OF_RANGE reason once relocating is allowed
_REPORTED_FIGURES = ("5", "6", "4.3-coverage")


def _valid_for(instance: Instance, plan: Plan, require: set[str]) -> bool:
    """Whether a plan serves every required request and its flights pass the checker for the instance."""
    from allocator.check import check

    if not require <= {s.request for s in plan.sorties}:
        return False
    return not [v for v in check(instance, plan).violations if not v.rule.startswith(_REPORTED_FIGURES)]


def _rank(plan: Plan) -> tuple[int, int]:
    """SPEC 5: more service, then less cost."""
    return plan.objective.service, -plan.objective.cost


def _by_request(plan: Plan) -> dict[str, tuple[tuple[str, ...], object, object]]:
    """Request -> (aircraft, on station, off station) in a plan."""
    out: dict[str, tuple[tuple[str, ...], object, object]] = {}
    for s in plan.sorties:
        aircraft = out.get(s.request, ((), s.on_station, s.off_station))[0]
        out[s.request] = (tuple(sorted((*aircraft, s.aircraft))), s.on_station, s.off_station)
    return out
