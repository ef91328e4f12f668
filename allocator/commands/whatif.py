"""CLI commands: whatif and replan (registered on allocator.cli.app).

`whatif` applies each scenario to the instance and re-plans it with minimal disruption against a baseline
plan (`--baseline`; without one, against a plan of the unchanged instance solved first). One scenario:
the new plan's headline, the diff and the unserved requests. Several: one comparison row per scenario,
solved in parallel processes (`--jobs`, default one per scenario up to the number of cores; each gets
`--time-limit` seconds and `cores / jobs` CP-SAT workers unless `--workers` says otherwise). With several
scenarios, each output file is named after the scenario file: `-o out.json` writes `out.<scenario>.json`.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from allocator.cli import (
    MAX_SEED,
    MAX_WORKERS,
    app,
    check_distinct_outputs,
    check_instance_output_path,
    check_output_path,
    check_plan_output_path,
    check_same_instance,
    err,
    fail,
    load_inputs,
    out,
    setup_logging,
)
from allocator.errors import InputError
from allocator.timeline import base_zone, local_text, span_text

if TYPE_CHECKING:
    from allocator.diff import PlanDiff
    from allocator.domain import Instance
    from allocator.result import Plan, Result
    from allocator.scenario import Scenario
    from allocator.solver import SolveOptions

InstanceArg = Annotated[Path, typer.Argument(help="instance file (.json/.yaml) or folder of CSV tables")]
BaselineOpt = Annotated[Path | None, typer.Option("--baseline", help="the plan to stay close to (plan JSON)")]
NowOpt = Annotated[
    str | None,
    typer.Option("--now", help="ISO 8601 instant with offset: baseline flights that took off before it are kept"),
]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="write the new plan JSON here")]
DiffOpt = Annotated[Path | None, typer.Option("--diff-out", help="write the diff against the baseline as JSON")]
TimeOpt = Annotated[float, typer.Option("--time-limit", min=0.1, help="seconds per solve")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", min=1, max=MAX_WORKERS, help="CP-SAT workers per solve")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="random seed")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="log the model and the stages")]


@app.command()
def whatif(
    instance: InstanceArg,
    scenarios: Annotated[list[Path], typer.Argument(help="scenario files (.json/.yaml), one or more")],
    baseline: BaselineOpt = None,
    now: NowOpt = None,
    output: OutputOpt = None,
    diff_out: DiffOpt = None,
    instance_out: Annotated[
        Path | None, typer.Option("--instance-out", help="write the changed instance here (.json/.yaml)")
    ] = None,
    time_limit: TimeOpt = 30.0,
    workers: WorkersOpt = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="scenarios solved at once")] = None,
    seed: SeedOpt = 0,
    verbose: VerboseOpt = False,
) -> None:
    """Apply scenarios (SPEC section 9), re-plan with minimal disruption, and show what changes."""
    from allocator.io import load_instance, load_plan
    from allocator.scenario import apply_scenario, check_frozen, load_scenario, replan_all

    setup_logging(verbose)
    if now is not None and baseline is None:
        raise fail("--now needs --baseline: only a plan that is being flown has flights to keep.")
    stems = [_safe(p.stem) for p in scenarios]
    twins = [p for p in scenarios if stems.count(_safe(p.stem)) > 1]
    if twins:
        raise fail(
            f"scenario files {twins[0]} and {twins[1]} have the same name; the scenarios' rows and output files "
            "are named after them, so rename one."
        )
    outputs = {kind: _outputs(path, stems) for kind, path in (("o", output), ("d", diff_out), ("i", instance_out))}
    inputs = [instance, baseline, *scenarios]
    for kind, paths in outputs.items():
        for path in paths:
            check = {"i": check_instance_output_path, "o": check_plan_output_path}.get(kind, check_output_path)
            check(path, inputs)
    options_of = {"o": "-o", "d": "--diff-out", "i": "--instance-out"}
    named = {
        options_of[kind] + (f" of scenario {stems[i]}" if len(stems) > 1 else ""): path
        for kind, paths in outputs.items()
        for i, path in enumerate(paths)
    }
    check_distinct_outputs(named)
    at = _instant(now)
    try:
        inst = load_instance(instance)
        before = load_plan(baseline) if baseline is not None else None
        loaded = [load_scenario(p) for p in scenarios]
        changed = [apply_scenario(inst, s) for s in loaded]
    except InputError as exc:
        raise fail(str(exc)) from None
    if before is not None:
        check_same_instance(before, inst, baseline)
        try:
            check_frozen(inst, changed, loaded, before, at)
        except InputError as exc:
            raise fail(_frozen_error(exc, str(baseline), str(instance))) from None
    cores = os.cpu_count() or 1
    jobs = min(jobs or cores, len(loaded))
    options = _options(time_limit, workers or max(1, cores // jobs), seed)
    if before is None:
        from allocator import solver

        reference = solver.solve(inst, _options(time_limit, workers or cores, seed))
        if reference.interrupted:  # Ctrl-C stops the command, not just its first solve
            err.print("interrupted while planning the unchanged instance to compare with: no scenario was solved.")
            raise typer.Exit(130)
        before = reference.plan
        err.print(f"no --baseline: comparing with a plan of the unchanged instance ({_brief(before)}).")
    source = str(baseline) if baseline is not None else "the plan of the unchanged instance"
    try:
        results = replan_all(changed, loaded, before, at, options, jobs)
    except InputError as exc:
        raise fail(_frozen_error(exc, source, str(instance))) from None
    diffs = [_diff(before, r.plan, new_inst, inst) for r, new_inst in zip(results, changed, strict=True)]
    for i, (new_inst, result) in enumerate(zip(changed, results, strict=True)):
        _write(result.plan, new_inst, diffs[i], outputs, i)
    if len(loaded) == 1:
        scenario = loaded[0]
        out.print(f"Scenario {scenario.name} ({scenario.label}):", markup=False, highlight=False)
        for change in scenario.changes:
            out.print(f"  - {change.describe()}", markup=False, highlight=False)
        _show(changed[0], results[0], diffs[0])
    else:
        out.print(_comparison(before, inst, changed, loaded, results, diffs))
    _exit_if_interrupted(results)


@app.command()
def replan(
    instance: InstanceArg,
    baseline: Annotated[Path, typer.Option("--baseline", help="the plan to repair (plan JSON)")],
    now: NowOpt = None,
    output: OutputOpt = None,
    diff_out: DiffOpt = None,
    time_limit: TimeOpt = 30.0,
    workers: WorkersOpt = None,
    seed: SeedOpt = 0,
    verbose: VerboseOpt = False,
) -> None:
    """Repair a plan after the instance changed: keep what still fits, change as few sorties as possible."""
    from allocator.scenario import replan as run_replan

    setup_logging(verbose)
    check_plan_output_path(output, [instance, baseline])
    check_output_path(diff_out, [instance, baseline])
    check_distinct_outputs({"-o": output, "--diff-out": diff_out})
    at = _instant(now)
    inst, before = load_inputs(instance, baseline)
    assert before is not None
    check_same_instance(before, inst, baseline)
    try:
        result = run_replan(inst, before, at, _options(time_limit, workers or os.cpu_count() or 1, seed))
    except InputError as exc:
        raise fail(_frozen_error(exc, str(baseline), str(instance))) from None
    d = _diff(before, result.plan, inst, None)
    _write(result.plan, inst, d, {"o": [output] if output else [], "d": [diff_out] if diff_out else []}, 0)
    _show(inst, result, d)
    _exit_if_interrupted([result])


# -- helpers --------------------------------------------------------------------------------------


def _exit_if_interrupted(results: list[Result]) -> None:
    """Ctrl-C: the best plans so far were written; say so and exit 130, like `allocator solve`."""
    if any(r.interrupted for r in results):
        err.print("interrupted: the best plan found so far was written and shown.")
        raise typer.Exit(130)


def _options(time_limit: float, workers: int, seed: int) -> SolveOptions:
    from allocator.solver import SolveOptions

    return SolveOptions(time_limit_s=time_limit, workers=workers, seed=seed)


def _instant(text: str | None) -> datetime | None:
    """`--now` as an aware instant; a naive or malformed one is a usage error."""
    if text is None:
        return None
    from pydantic import AwareDatetime, TypeAdapter, ValidationError

    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        raise fail(f"--now: '{text}' is not an ISO 8601 instant with a UTC offset (e.g. 2026-12-01T12:00:00-07:00).")

    try:
        return TypeAdapter(AwareDatetime).validate_python(text)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "timezone_aware":
            raise fail(f"--now: the instant '{text}' has no UTC offset (add one such as -07:00 or Z).") from None
        raise fail(f"--now: '{text}' is not a valid instant ({_what_is_wrong(text)}).") from None


def _what_is_wrong(text: str) -> str:
    """Why an instant that looks like ISO 8601 does not parse, in words (`hour must be in 0..23`)."""
    try:
        datetime.fromisoformat(text)
    except ValueError as exc:
        reason = str(exc)
        return "its UTC offset must lie strictly between -24:00 and +24:00" if "offset" in reason else reason
    return "not an ISO 8601 instant with a UTC offset"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _outputs(path: Path | None, stems: list[str]) -> list[Path]:
    """One output path per scenario: `path` itself for one scenario, else `<stem>.<scenario><suffix>`."""
    if path is None:
        return []
    if len(stems) == 1:
        return [path]
    return [path.with_name(f"{path.stem}.{stem}{path.suffix}") for stem in stems]


def _frozen_error(exc: InputError, baseline: str, instance: str) -> str:
    """The solver's sentence about a baseline flight that cannot be kept, naming the baseline file (and the
    scenario that made it impossible, from a `ScenarioError`); any other re-plan error names the instance file."""
    from allocator.scenario import ScenarioError

    scenario = exc.scenario if isinstance(exc, ScenarioError) else None
    text = str(exc)
    if not text.startswith("baseline: "):  # e.g. --now after the horizon: the baseline is not the cause
        return f"{instance}: {text}"
    where = baseline if scenario is None else f"{scenario.label} against {baseline}"
    return f"{where}: {text.removeprefix('baseline: ')}"


def _diff(before: Plan, after: Plan, inst: Instance, original: Instance | None) -> PlanDiff:
    from allocator.diff import diff

    return diff(before, after, inst, before=original)


def _write(plan: Plan, inst: Instance, d: PlanDiff, outputs: dict[str, list[Path]], i: int) -> None:
    from allocator.io import atomic_write_text, write_instance, write_plan

    if outputs.get("o"):
        write_plan(plan, outputs["o"][i])
    if outputs.get("d"):
        atomic_write_text(outputs["d"][i], d.to_json())
    if outputs.get("i"):
        write_instance(inst, outputs["i"][i])


def _brief(plan: Plan) -> str:
    m = plan.metrics
    return (
        f"{plan.status}, service {plan.objective.service}, served {m.get('served')}/{m.get('requests')}, "
        f"cost ${plan.objective.cost:,}"
    )


def _show(inst: Instance, result: Result, d: PlanDiff) -> None:
    from allocator.reports import headline, unserved_table

    plan = result.plan
    out.print(headline(plan))
    out.print(f"Against the baseline: {d.summary()}", markup=False, highlight=False)
    for table in diff_tables(d, inst):
        out.print(table)
    if plan.unserved:
        out.print(unserved_table(plan, inst))


def _local(inst: Instance | None, base: str | None, start: datetime | None, end: datetime | None = None) -> str:
    """A time, or a span, in the local time of the base, as `allocator solve` shows flights: `Tue 10:19–11:19
    CDT`, with the day at the end too when it is another day; UTC when the base is not in the instance."""
    if start is None:
        return ""
    tz = base_zone(inst, base) if inst is not None else UTC
    if end is None:
        return local_text(start.astimezone(tz), "%a")
    return span_text(start.astimezone(tz), end.astimezone(tz), "%a")


def diff_tables(d: PlanDiff, inst: Instance | None = None) -> list[Table]:
    """The diff as rich tables (only the non-empty ones); times are local at each base of `inst`."""
    tables = []
    if d.gained or d.lost:
        table = Table(title="Requests gained (+) and lost (-)", title_justify="left")
        for col in ("", "request", "agency", "sector", "priority", "value", "now unserved because"):
            table.add_column(col)
        for sign, rows in (("+", d.gained), ("-", d.lost)):
            for r in rows:
                priority = f"P{r.priority}" if r.priority is not None else ""
                value = str(r.value) if r.value is not None else ""
                table.add_row(sign, r.request, r.agency or "", r.sector or "", priority, value, r.reason or "")
        tables.append(table)
    if d.sorties:
        table = Table(title="Sorties changed (local time at the base)", title_justify="left")
        columns = ("change", "aircraft", "request", "base", "on station", "→ aircraft", "request", "base", "on station")
        for col in columns:
            table.add_column(col, no_wrap=True)
        for s in d.sorties:
            table.add_row(
                s.kind,
                s.aircraft or "",
                s.request or "",
                s.base or "",
                _local(inst, s.base, s.on_station, s.off_station),
                s.new_aircraft or "",
                s.new_request or "",
                s.new_base or "",
                _local(inst, s.new_base, s.new_on_station, s.new_off_station),
            )
        tables.append(table)
    if d.relocations:
        table = Table(title="Relocations added and dropped (local time at the base)", title_justify="left")
        for col in ("change", "aircraft", "from", "to", "takeoff", "landing"):
            table.add_column(col, no_wrap=True)
        for rel in d.relocations:
            table.add_row(
                rel.kind,
                rel.aircraft,
                rel.from_,
                rel.to,
                _local(inst, rel.from_, rel.takeoff),
                _local(inst, rel.to, rel.landing),
            )
        tables.append(table)
    if any(c.shortfall_change or c.penalty_before != c.penalty_after for c in d.coverage):
        table = Table(title="Alert coverage shortfall per sector", title_justify="left")
        for col in ("sector", "shortfall min before", "after", "change", "penalty before", "after"):
            table.add_column(col, justify="right")
        for c in d.coverage:
            table.add_row(
                c.sector,
                str(c.shortfall_min_before),
                str(c.shortfall_min_after),
                f"{c.shortfall_change:+d}",
                str(c.penalty_before),
                str(c.penalty_after),
            )
        tables.append(table)
    return tables


def _comparison(
    baseline: Plan,
    inst: Instance,
    changed: list[Instance],
    scenarios: list[Scenario],
    results: list[Result],
    diffs: list[PlanDiff],
) -> Table:
    """One row per scenario (and the baseline first): service, served %, cost, changes, coverage shortfall.

    Served and shortfall come from the diffs, which read them off the sorties and recompute the coverage of
    a baseline file that does not carry it (one from another tool), so every row counts the same way."""
    from allocator.reports import status_text

    table = Table(title="Scenarios side by side (changes: baseline sorties changed)", title_justify="left")
    for col in ("scenario", "status", "service", "Δ service", "served", "cost", "Δ cost", "changes", "shortfall min"):
        table.add_column(col, justify="left" if col in ("scenario", "status") else "right")

    def served(count: int, of: Instance) -> str:
        asked = len(of.requests)
        return f"{count}/{asked} ({round(100 * count / asked, 1) if asked else 100.0}%)"

    names = [s.name or "" for s in scenarios]
    first = diffs[0]
    table.add_row(
        "baseline",
        status_text(baseline, short=True),
        str(baseline.objective.service),
        "",
        served(first.served_before, inst),
        f"${baseline.objective.cost:,}",
        "",
        "",
        str(sum(c.shortfall_min_before for c in first.coverage)),
    )
    for scenario, name, new_inst, result, d in zip(scenarios, names, changed, results, diffs, strict=True):
        plan = result.plan
        if names.count(name) > 1:  # two files with one `name:`: their file names tell the rows apart
            name = f"{name} ({Path(scenario.label).name})"
        table.add_row(
            name,
            status_text(plan, short=True),
            str(plan.objective.service),
            f"{d.service_change:+d}",
            served(d.served_after, new_inst),
            f"${plan.objective.cost:,}",
            f"{'+' if d.cost_change >= 0 else '-'}${abs(d.cost_change):,}",
            str(d.changes),
            str(sum(c.shortfall_min_after for c in d.coverage)),
        )
    return table
