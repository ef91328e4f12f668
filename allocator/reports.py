"""Readable views of a plan for the terminal (rich renderables; the CLI prints them)."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text

from allocator.domain import Instance
from allocator.result import Plan
from allocator.timeline import base_zone


def _local(instance: Instance, base_id: str, instant: datetime) -> str:
    return instant.astimezone(base_zone(instance, base_id)).strftime("%a %H:%M %Z")


def _utc(instant: datetime) -> str:
    return instant.strftime("%H:%MZ")


def schedule_table(instance: Instance, plan: Plan) -> Table:
    """Per aircraft, its flights in order: local time at the base and UTC."""
    table = Table(title=f"Plan for {plan.instance}: flights per aircraft", title_justify="left")
    for col in ("aircraft", "flight", "base", "takeoff (local)", "on station", "off station", "landing (local)", "UTC"):
        table.add_column(col, no_wrap=True)
    rows: list[tuple[str, datetime, list[str]]] = []
    requests = {r.id: r for r in instance.requests}
    fleet = {a.id: a for a in instance.aircraft}
    for s in plan.sorties:
        req = requests.get(s.request)
        label = f"{s.request}" + (f" P{req.priority} {req.agency} {req.mission}" if req else "")
        rows.append(
            (
                s.aircraft,
                s.takeoff,
                [
                    label,
                    s.base,
                    _local(instance, s.base, s.takeoff),
                    _local(instance, s.base, s.on_station),
                    _local(instance, s.base, s.off_station),
                    _local(instance, s.base, s.landing),
                    f"{_utc(s.takeoff)}–{_utc(s.landing)}",
                ],
            )
        )
    for r in plan.relocations:
        rows.append(
            (
                r.aircraft,
                r.takeoff,
                [
                    f"relocate {r.from_} → {r.to}",
                    r.from_,
                    _local(instance, r.from_, r.takeoff),
                    "",
                    "",
                    _local(instance, r.to, r.landing),
                    f"{_utc(r.takeoff)}–{_utc(r.landing)}",
                ],
            )
        )
    previous = None
    for aircraft, _, cells in sorted(rows, key=lambda row: (row[0], row[1])):
        kind = fleet[aircraft].type if aircraft in fleet else "?"
        name = f"{aircraft} ({kind})" if aircraft != previous else ""
        table.add_row(name, *cells)
        previous = aircraft
    return table


def unserved_table(plan: Plan, instance: Instance) -> Table:
    table = Table(title="Unserved requests", title_justify="left")
    for col in ("request", "agency", "sector", "priority", "reason", "detail"):
        table.add_column(col, overflow="fold")
    known = {r.id: r for r in instance.requests}
    for u in plan.unserved:
        req = known.get(u.request)
        table.add_row(
            u.request,
            req.agency if req else "",
            req.sector if req else "",
            f"P{req.priority}" if req else "",
            str(u.reason),
            u.detail,
        )
    return table


def coverage_table(plan: Plan) -> Table:
    table = Table(title="Sector alert coverage", title_justify="left")
    for col in ("sector", "rule", "capability", "count", "shortfall min", "penalty"):
        table.add_column(col)
    for rule in plan.coverage:
        table.add_row(
            str(rule.get("sector")),
            str(rule.get("index")),
            str(rule.get("capability")),
            str(rule.get("count")),
            str(rule.get("shortfall_min")),
            str(rule.get("penalty")),
        )
    return table


def conflicts_table(plan: Plan) -> Table:
    """SPEC 8: the agencies' conflicting requests, those the plan schedules (flies both) first, with the action."""
    table = Table(title="Conflicts between agencies (SPEC 8; details: allocator deconflict)", title_justify="left")
    for col in ("id", "kind", "requests", "scheduled", "recommendation"):
        table.add_column(col, no_wrap=col != "recommendation")
    for c in sorted(plan.conflicts, key=lambda c: not c.get("scheduled")):
        a, b = c.get("a", {}), c.get("b", {})
        table.add_row(
            str(c.get("id")),
            ", ".join(k.replace("_", " ") for k in c.get("kinds", [])),
            f"{a.get('request')} ({a.get('agency')}) / {b.get('request')} ({b.get('agency')})",
            "yes" if c.get("scheduled") else "no",
            str(c.get("recommendation", "")),
        )
    return table


def status_text(plan: Plan, short: bool = False) -> str:
    """The plan's status, saying so when a FEASIBLE plan's service is proven optimal (its cost is not)."""
    status = str(plan.status)
    if plan.status == "FEASIBLE" and plan.run.get("service_proven_optimal"):
        status += ", service proven" if short else " (service proven optimal; cost not proven minimal)"
    return status


def headline(plan: Plan, baseline: Plan | None = None) -> Text:
    """One comparison line: optimized plan against the FCFS baseline."""
    m = plan.metrics
    bound = plan.bound.service
    gap = plan.run.get("gap")
    status = status_text(plan)
    text = (
        f"{status}: served {m.get('served')}/{m.get('requests')} ({m.get('served_pct')}%), "
        f"service {plan.objective.service}"
        + (f" (bound {bound}, gap {100 * gap:.2f}%)" if bound is not None and gap is not None else "")
        + f", cost ${plan.objective.cost:,}"
    )
    if baseline is not None and baseline is not plan:
        b = baseline.metrics
        delta = plan.objective.service - baseline.objective.service
        text += (
            f" | FCFS baseline: served {b.get('served')}/{b.get('requests')} ({b.get('served_pct')}%), "
            f"service {baseline.objective.service}, cost ${baseline.objective.cost:,} | "
            f"optimized {delta:+d} service"
        )
    return Text(text)


def fulfilment_table(plan: Plan, baseline: Plan | None = None) -> Table:
    """Requests asked and met per agency and per sector (the GAO-12-518 measure), with value, and the
    FCFS baseline's % met alongside when given."""
    table = Table(title="Fulfilment per agency and sector", title_justify="left")
    for col in ("", "requests", "met", "% met", "value asked", "value met", "% value met"):
        table.add_column(col, justify="right" if col else "left")
    if baseline is not None:
        table.add_column("FCFS % met", justify="right")
    for scope, label in (("per_agency", "agency"), ("per_sector", "sector")):
        theirs = baseline.metrics.get(scope, {}) if baseline is not None else {}
        for key, row in sorted(plan.metrics.get(scope, {}).items()):
            cells = [
                f"{label} {key}",
                str(row.get("requested", "")),
                str(row.get("served", "")),
                _pct(row.get("served"), row.get("requested")),
                f"{row.get('value_requested', 0):,}",
                f"{row.get('value_served', 0):,}",
                _pct(row.get("value_served"), row.get("value_requested")),
            ]
            if baseline is not None:
                other = theirs.get(key, {})
                cells.append(_pct(other.get("served"), other.get("requested")))
            table.add_row(*cells)
    return table


def _pct(part: int | None, whole: int | None) -> str:
    return f"{100 * part / whole:.1f}%" if part is not None and whole else "-"
