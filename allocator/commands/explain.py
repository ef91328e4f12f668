"""CLI commands: explain, deconflict, export (registered on allocator.cli.app)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from allocator.cli import MAX_WORKERS, app, check_output_path, err, fail, load_inputs, out, setup_logging
from allocator.errors import InputError

if TYPE_CHECKING:
    from allocator.domain import Instance
    from allocator.explain import Explanation, WhatItWouldTake
    from allocator.result import Plan


def _load(instance: Path, plan: Path | None) -> tuple[Instance, Plan | None]:
    """The instance and (optionally) a plan that passes the checker for it; exit 2 otherwise."""
    from allocator.check import check
    from allocator.domain import count

    inst, loaded = load_inputs(instance, plan)
    if loaded is not None:
        report = check(inst, loaded)
        if not report.ok:
            first, n = report.violations[0], len(report.violations)
            raise fail(
                f"{plan}: not a valid plan for {instance} ([{first.rule}] {first.message.rstrip('.')}; "
                f"{count(n, 'violation')}, see allocator check)."
            )
    return inst, loaded


@app.command()
def explain(
    instance: Annotated[Path, typer.Argument(help="instance file or CSV folder")],
    plan: Annotated[Path, typer.Argument(help="plan JSON")],
    requests: Annotated[list[str] | None, typer.Argument(help="request ids (default: every unserved request)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the explanations as JSON")] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="seconds for each re-plan")] = 5.0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="CP-SAT workers for the re-plans")
    ] = 1,
    what_if: Annotated[
        bool | None,
        typer.Option(
            "--what-if/--no-what-if",
            help="re-plan to find what it would take (default: on for named requests, off for all unserved)",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Why each request was or was not served: reason, evidence per aircraft, and what it would take."""
    from allocator.explain import ExplainOptions, explanations_json
    from allocator.explain import explain as run_explain

    setup_logging(verbose)
    inst, loaded = _load(instance, plan)
    assert loaded is not None
    options = ExplainOptions(
        time_limit_s=time_limit, workers=workers, what_it_would_take=bool(requests) if what_if is None else what_if
    )
    try:
        explanations = run_explain(inst, loaded, requests or None, options)
    except InputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(explanations_json(explanations))
        return
    if not explanations:
        out.print("Every request is served.")
        return
    summary = Table(title=f"Explanations for {loaded.instance} ({loaded.status})", title_justify="left")
    for col in ("request", "agency", "P", "served", "reason", "explanation"):
        summary.add_column(col, overflow="fold")
    for e in explanations:
        summary.add_row(
            e.request, e.agency, str(e.priority), "yes" if e.served else "no", str(e.reason or ""), e.summary
        )
    out.print(summary)
    for e in explanations:
        out.print(_evidence_table(e))
        wit = e.what_it_would_take
        if wit is not None and (wit.dropped or wit.moved or wit.added or wit.coverage or wit.remedies):
            out.print(_what_it_would_take_table(e.request, wit))


def _evidence_table(e: Explanation) -> Table:
    table = Table(title=f"{e.request}: eligible aircraft", title_justify="left")
    for col in ("aircraft", "type", "base", "in range from", "flight min", "cost $", "status", "why"):
        table.add_column(col, overflow="fold")
    for a in e.aircraft:
        cost = f"{a.cost:,}" if a.cost is not None else ""
        base = f"{a.base} (from {a.relocate_from})" if a.relocate_from else a.base
        table.add_row(a.aircraft, a.type, base, ", ".join(a.bases_in_range), str(a.flight_min), cost, a.status, a.note)
    if not e.aircraft:
        lacking = "; ".join(f"{kind}: {why}" for kind, why in e.fleet_types.items() if why)
        table.add_row("(none)", "", "", "", "", "", "", lacking)
    return table


def _what_it_would_take_table(request: str, wit: WhatItWouldTake) -> Table:
    proven = "proven" if wit.proven else "not proven"
    table = Table(
        title=f"{request}: what it would take (re-plan {wit.status}, {proven}): "
        f"service {wit.service_change:+d}, cost {wit.cost_change:+,d} $",
        title_justify="left",
    )
    for col in ("change", "request", "agency", "P", "value", "before", "after"):
        table.add_column(col, overflow="fold")
    for c in [*wit.dropped, *wit.moved, *wit.added]:
        table.add_row(c.change, c.request, c.agency, str(c.priority), str(c.value), c.before, c.after)
    for rule in wit.coverage:  # alert cover the re-plan loses or wins back (SPEC 4.3), in service points
        name = f"{rule.sector} {rule.capability} (rule {rule.rule})"
        before, after = f"{rule.shortfall_min_before} min short", f"{rule.shortfall_min_after} min short"
        table.add_row("coverage", name, "", "", f"{rule.service_change:+d}", before, after)
    for r in wit.remedies:
        works = {True: "yes", False: "no", None: "not known"}[r.works]
        service = f"service {r.service_change:+d}, cost {r.cost_change:+,d} $" if r.service_change is not None else ""
        service += f" ({r.note})" if r.note else ""
        table.add_row("instead?", r.description, "", "", "", f"serves everything: {works}", service)
    return table


@app.command()
def deconflict(
    instance: Annotated[Path, typer.Argument(help="instance file or CSV folder")],
    plan: Annotated[Path | None, typer.Argument(help="plan JSON (optional): the sorties actually scheduled")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the conflicts as JSON")] = False,
) -> None:
    """Conflicts between agencies' requests (same target, or nearby at overlapping times), with an action."""
    from allocator.deconflict import conflict_record, find_conflicts, with_plan

    inst, loaded = _load(instance, plan)
    conflicts = find_conflicts(inst)
    if loaded is not None:
        conflicts = with_plan(inst, loaded, conflicts)
    if as_json:
        out.print_json(json.dumps([conflict_record(c) for c in conflicts]))
        return
    radius = inst.policy.deconfliction_radius_nm
    table = Table(title=f"Conflicts between agencies in {inst.name} (radius {radius:g} nm)", title_justify="left")
    columns = ["id", "kind", "request", "agency / unit", "times", "nm", "action"]
    if loaded is not None:
        columns.insert(5, "scheduled")
    for col in columns:
        table.add_column(col, overflow="fold")
    for c in conflicts:
        sides = (c.a, c.b)
        row = [
            c.id,
            "+".join(c.kinds),
            "\n".join(s.request for s in sides),
            "\n".join(f"{s.agency} / {s.unit}" for s in sides),
            "\n".join(s.times() for s in sides),
            f"{c.distance_nm:g}",
            c.recommendation(),
        ]
        if loaded is not None:
            row.insert(5, "yes" if c.scheduled else "no")
        table.add_row(*row)
    out.print(table)
    scheduled = sum(c.scheduled for c in conflicts)
    line = f"{len(conflicts)} conflict(s) between agencies' requests"
    if loaded is not None:
        line += f"; {scheduled} scheduled in the plan (both flown at conflicting times, or the same target)"
    out.print(line)


@app.command()
def export(
    instance: Annotated[Path, typer.Argument(help="instance file or CSV folder")],
    plan: Annotated[Path, typer.Argument(help="plan JSON")],
    agency: Annotated[str, typer.Option("--for-agency", help="the agency that reads the export")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help=".json, .yaml or .csv (default: JSON out)")
    ] = None,
) -> None:
    """A plan for one agency: its own requests in full, other agencies' operations redacted."""
    from allocator.redact import EXPORT_SUFFIXES, export_for_agency, render_export, write_export

    check_output_path(output, [instance, plan])
    if output is not None and output.suffix.lower() not in EXPORT_SUFFIXES:
        raise fail(f"{output}: unknown export format '{output.suffix}' (expected {', '.join(EXPORT_SUFFIXES)}).")
    inst, loaded = _load(instance, plan)
    assert loaded is not None
    try:
        doc = export_for_agency(inst, loaded, agency)
    except InputError as exc:
        raise fail(str(exc)) from None
    if output is None:
        out.print(render_export(doc, ".json"), markup=False, highlight=False, end="", soft_wrap=True)
        return
    write_export(doc, output)
    err.print(
        f"wrote {output}: {len(doc['requests'])} {agency} requests in full, "
        f"{len(doc['other_operations'])} other operations redacted, {len(doc['conflicts'])} conflicts"
    )
