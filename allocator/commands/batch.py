"""CLI commands: batch, history, report (registered on allocator.cli.app)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Hashable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from allocator.cli import (
    MAX_SEED,
    MAX_WORKERS,
    app,
    check_output_path,
    check_same_instance,
    err,
    fail,
    load_inputs,
    out,
    setup_logging,
)

if TYPE_CHECKING:
    import pandas as pd

    from allocator.batch import BatchResult


@app.command()
def batch(
    inputs: Annotated[list[Path], typer.Argument(help="instance files, CSV folders, or folders of them")],
    out_dir: Annotated[Path, typer.Option("--out", help="results folder: one sub-folder per instance")],
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="ALLOCATOR_DB", help="history database URL (default: allocator.db next to --out)"),
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="seconds per instance")] = 60.0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="instances solved at once (processes)")] = 1,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=MAX_WORKERS, help="CP-SAT workers per instance (default: cores / jobs)"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED, help="random seed")] = 0,
    force: Annotated[bool, typer.Option("--force", help="solve again even when the stored result is current")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="log one JSON object per line on stderr")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log each instance")] = False,
) -> None:
    """Plan many instances unattended: validate, solve, check, write results, record the history."""
    from allocator.batch import BatchError, BatchOptions, JsonLogFormatter, run_batch

    if log_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    else:
        setup_logging(verbose)
    options = BatchOptions(
        time_limit_s=time_limit, jobs=jobs, workers=workers, seed=seed, force=force, log_json=log_json
    )
    progress = None
    if err.is_terminal and not log_json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        )
    bar: list[Any] = []

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if progress is None:
            return
        if kind == "start":
            progress.start()
            bar.append(progress.add_task("batch", total=data["total"]))
        elif kind == "done":
            outcome = data["outcome"]
            note = "reused" if outcome.reused else outcome.run.get("status")
            progress.update(bar[0], advance=1, description=f"{outcome.name}: {note}")

    try:
        result = run_batch(inputs, out_dir, options, db, on_event)
    except BatchError as exc:
        raise fail(str(exc)) from None
    finally:
        if progress is not None:
            progress.stop()
    out.print(_batch_table(result))
    reused = sum(o.reused for o in result.outcomes)
    out.print(
        f"{len(result.outcomes) - len(result.failed)} ok ({reused} reused), {len(result.failed)} failed; "
        f"results in {out_dir}, history in {_shown_url(result.db_url)}",
        markup=False,
        highlight=False,
    )
    for message in result.history_errors:
        err.print(message, markup=False, highlight=False)
    raise typer.Exit(result.exit_code)


def _shown_url(url: str) -> str:
    from allocator.history import safe_url

    return safe_url(url)


def _batch_table(result: BatchResult) -> Table:
    table = Table(title=f"Batch {result.batch_id[:8]} into {result.out}", title_justify="left")
    for col, justify in [
        ("instance", "left"),
        ("status", "left"),
        ("met", "right"),
        ("service", "right"),
        ("bound", "right"),
        ("gap", "right"),
        ("FCFS", "right"),
        ("time s", "right"),
        ("note", "left"),
    ]:
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for o in result.outcomes:
        run = o.run
        fcfs = run.get("fcfs") or {}
        met = f"{run['served']}/{run['requests']} ({run['served_pct']}%)" if run.get("requests") is not None else ""
        table.add_row(
            o.name,
            str(run.get("status")),
            met,
            _number(run.get("service")),
            _number(run.get("bound")),
            "" if run.get("gap") is None else f"{100 * run['gap']:.2f}%",
            _number(fcfs.get("service")),
            "" if run.get("wall_time_s") is None else f"{run['wall_time_s']:.1f}",
            "reused" if o.reused else (run.get("error") or ""),
        )
    return table


def _number(value: Any) -> str:
    return "" if value is None else f"{value:,}"


# -- history ---------------------------------------------------------------------------------------


def parse_since(text: str) -> datetime:
    """A date (midnight, local time of this machine) or an ISO 8601 instant (naive: local time)."""
    try:
        moment = datetime.fromisoformat(text)  # a bare date is its midnight
    except ValueError:
        raise fail(f"--since '{text}': not a date (expected YYYY-MM-DD or an ISO 8601 instant).") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


@app.command()
def history(
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="ALLOCATOR_DB", help="history database URL (default: ./allocator.db)"),
    ] = None,
    instance: Annotated[str | None, typer.Option("--instance", help="only this instance")] = None,
    since: Annotated[str | None, typer.Option("--since", help="only runs started at or after this date")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="also write the runs as CSV here")] = None,
) -> None:
    """The recorded runs as a table: status, service, bound, fulfilment per agency and sector, shortfall."""
    from allocator import history as hist
    from allocator.io import atomic_write_text

    check_output_path(csv)
    start = parse_since(since) if since else None
    url = db or f"sqlite:///{Path(hist.DB_FILE).resolve()}"
    if db is None and not Path(hist.DB_FILE).exists():
        raise fail(f"{hist.DB_FILE}: no history database here; pass --db URL (or run a batch first).")
    try:
        engine = hist.connect(url, create=False)
        frame = hist.load_runs(engine, instance, start)
    except hist.HistoryError as exc:
        raise fail(str(exc)) from None
    out.print(_history_table(frame, hist.safe_url(url)))
    if csv is not None:
        atomic_write_text(csv, frame.drop(columns=["error"]).to_csv(index=False))
        err.print(f"wrote {len(frame)} runs to {csv}", markup=False, highlight=False)


def _history_table(frame: pd.DataFrame, url: str) -> Table:
    table = Table(title=f"Runs in {url}", title_justify="left")
    # columns are "<kind> <name> requested|served|pct"; names are free text and may contain spaces
    agencies = sorted(
        {
            c[len("agency ") : -len(" requested")]
            for c in frame.columns
            if c.startswith("agency ") and c.endswith(" requested")
        }
    )
    sectors = sorted(
        {
            c[len("sector ") : -len(" requested")]
            for c in frame.columns
            if c.startswith("sector ") and c.endswith(" requested")
        }
    )
    for col in ("started", "instance", "status", "met", "service", "bound", "gap", "FCFS", "shortfall min"):
        table.add_column(col, justify="left" if col in ("started", "instance", "status") else "right")
    table.add_column("% met per agency")
    table.add_column("% met per sector")
    for row in frame.to_dict("records"):

        def pct(kind: str, names: list[str], row: Mapping[Hashable, Any] = row) -> str:
            parts = []
            for name in names:
                asked = row.get(f"{kind} {name} requested")
                if asked is None or asked != asked:  # NaN: not in this run
                    continue
                parts.append(f"{name} {row[f'{kind} {name} pct']:.0f}%")
            return " · ".join(parts)

        ok = bool(row["ok"])
        table.add_row(
            row["started_at"].to_pydatetime().astimezone().strftime("%Y-%m-%d %H:%M"),
            _instance_label(row),
            str(row["status"]) if ok else f"{row['status']}: {row['error'] or ''}",
            f"{row['served']:.0f}/{row['requests']:.0f} ({row['served_pct']:.1f}%)" if ok else "",
            _number_or_blank(row["service"]),
            _number_or_blank(row["bound"]),
            "" if not ok or row["gap"] != row["gap"] or row["gap"] is None else f"{100 * row['gap']:.2f}%",
            _number_or_blank(row["fcfs_service"]),
            _number_or_blank(row["shortfall_min"]),
            pct("agency", agencies) if ok else "",
            pct("sector", sectors) if ok else "",
        )
    return table


def _instance_label(row: Mapping[Hashable, Any]) -> str:
    """The instance name, and its results folder when that differs (two inputs with one name)."""
    name, folder = str(row["instance"]), row.get("folder")
    return name if folder in (None, name) else f"{name} ({folder})"


def _number_or_blank(value: Any) -> str:
    if value is None or value != value:
        return ""
    return f"{int(value):,}"


# -- report ----------------------------------------------------------------------------------------


@app.command()
def report(
    instance: Annotated[Path, typer.Argument(help="instance file or CSV folder")],
    plan: Annotated[Path, typer.Argument(help="plan JSON (from any tool)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="write the HTML report here")],
) -> None:
    """Write a self-contained HTML report of a plan: headline, Gantt, coverage, fulfilment, unserved."""
    from allocator.check import check as run_check
    from allocator.report import write_report
    from allocator.solver import solve_fcfs_plan

    check_output_path(output, [instance, plan])
    inst, loaded = load_inputs(instance, plan)
    assert loaded is not None
    check_same_instance(loaded, inst, plan)
    verdict = run_check(inst, loaded)
    fcfs = loaded.run.get("fcfs")
    if not isinstance(fcfs, dict) or "service" not in fcfs:
        baseline = solve_fcfs_plan(inst)
        fcfs = {
            "service": baseline.objective.service,
            "cost": baseline.objective.cost,
            "served": len({s.request for s in baseline.sorties}),
        }
    write_report(inst, loaded, output, fcfs, verdict)
    out.print(
        f"wrote {output}: service {verdict.service:,} (FCFS {fcfs['service']:,}); "
        f"checker: {'valid' if verdict.ok else f'INVALID, {len(verdict.violations)} violations'}",
        markup=False,
        highlight=False,
    )
