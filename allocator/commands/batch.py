"""CLI commands: batch, history, report (registered on allocator.cli.app)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Hashable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import JustifyMethod
from rich.table import Table
from typer.core import TyperCommand

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

LOG_JSON = "--log-json"


def _json_line(level: int, message: str, data: dict[str, Any]) -> str:
    """One line as `--log-json` writes it (for what is said before or without the logger)."""
    from allocator.batch import JsonLogFormatter

    record = logging.LogRecord("allocator.batch", level, __file__, 0, message, None, None)
    record.data = data
    return JsonLogFormatter().format(record)


class _BatchCommand(TyperCommand):
    """`batch`, whose usage errors are a JSON line, like everything else on standard error, with --log-json."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        log_json = LOG_JSON in args  # before parsing, which consumes `args`
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # a usage error (click's, vendored by typer)
            if not log_json:
                raise
            command = ctx.command_path  # worded as `allocator.cli.main` words a usage error
            code = int(getattr(exc, "exit_code", 2))
            message = f"{command}: {exc.format_message().strip().rstrip('.')} (see '{command} --help')."
            sys.stderr.write(_json_line(logging.ERROR, message, {"event": "usage_error", "exit_code": code}) + "\n")
            raise typer.Exit(code) from None


def _batch_fail(message: str, log_json: bool) -> typer.Exit:
    """Exit 2 with one sentence: a JSON line with --log-json, plain text otherwise."""
    if not log_json:
        return fail(message)
    logging.getLogger("allocator.batch").error(message, extra={"data": {"event": "batch_error", "exit_code": 2}})
    return typer.Exit(2)


@app.command(cls=_BatchCommand)
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
    from allocator.batch import BatchError, BatchInterrupted, BatchOptions, JsonLogFormatter, run_batch

    if log_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
        logging.captureWarnings(True)  # a Python warning is a JSON line too
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
        _stop(progress)
        raise _batch_fail(str(exc), log_json) from None
    except BatchInterrupted as stopped:  # batch.json lists what finished; the event is logged
        _stop(progress)
        result = stopped.result
        out.print(_batch_table(result))
        if not log_json:
            total = len(result.outcomes) + len(result.not_finished)
            listed = "" if result.summary_error else f", listed in {out_dir / 'batch.json'}"
            err.print(
                f"{result.stopped_by()}: {len(result.outcomes)} of {total} instances finished{listed}; "
                "the others keep their previous results.",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            _say_summary_error(result)
        raise typer.Exit(result.exit_code) from None
    except KeyboardInterrupt:  # before the batch began: nothing was written
        _stop(progress)
        if log_json:
            logging.getLogger("allocator.batch").warning(
                "interrupted before the batch began", extra={"data": {"event": "batch_interrupted", "exit_code": 130}}
            )
        else:
            err.print("interrupted.")
        raise typer.Exit(130) from None
    _stop(progress)
    out.print(_batch_table(result))
    reused = sum(o.reused for o in result.outcomes)
    unrecorded = f", {result.not_recorded} not recorded in the history" if result.not_recorded else ""
    out.print(
        f"{len(result.outcomes) - len(result.failed)} ok ({reused} reused), {len(result.failed)} failed{unrecorded}; "
        f"results in {out_dir}, history in {_shown_url(result.db_url)}",
        markup=False,
        highlight=False,
    )
    if not log_json:  # with --log-json each was a `history_error` line already
        for message in result.history_errors:
            err.print(message, markup=False, highlight=False)
        _say_summary_error(result)  # last: with exit 2, the line a cron mail is read for
    raise typer.Exit(result.exit_code)


def _say_summary_error(result: BatchResult) -> None:
    """`batch.json` could not be written (with --log-json it was a `batch_error` line already)."""
    if result.summary_error is not None:
        err.print(result.summary_error, markup=False, highlight=False, soft_wrap=True)


def _stop(progress: Any) -> None:
    if progress is not None:
        progress.stop()


def _shown_url(url: str | Any) -> str:
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
    from allocator.domain import count
    from allocator.io import atomic_write_text

    check_output_path(csv)
    start = parse_since(since) if since else None
    url = db or hist.sqlite_url(Path(hist.DB_FILE))
    if db is None and not Path(hist.DB_FILE).exists():
        raise fail(f"{hist.DB_FILE}: no history database here; pass --db URL (or run a batch first).")
    try:
        engine = hist.connect(url, create=False)
        frame = hist.load_runs(engine, instance, start)
    except hist.HistoryError as exc:
        raise fail(str(exc)) from None
    shown = hist.safe_url(url)
    if frame.empty:
        which = (f" of {instance}" if instance else "") + (f" started since {start:%Y-%m-%d %H:%M %Z}" if start else "")
        out.print(f"No runs{which} in {shown}.", markup=False, highlight=False)
    else:
        out.print(_history_table(frame, shown))
        failed = frame[~frame["ok"].astype(bool)]
        for row in failed.to_dict("records"):  # in full below the table, where a table cell would cut it
            line = f"{_started(row)} {_instance_label(row)} {row['status']}: {row['error'] or ''}"
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if csv is not None:
        atomic_write_text(csv, frame.to_csv(index=False))
        err.print(f"wrote {count(len(frame), 'run')} to {csv}", markup=False, highlight=False)


def _started(row: Mapping[Hashable, Any]) -> str:
    """When a run started, in this machine's local time (the zone is in the table's header)."""
    return str(row["started_at"].to_pydatetime().astimezone().strftime("%Y-%m-%d %H:%M"))


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
    started = f"started ({datetime.now().astimezone().tzname()})"  # this machine's local time
    # folded, never cut with "…": on a 160-column cron mail the instance name is what the reader looks for
    for col in (started, "instance", "status", "met", "service", "bound", "gap", "FCFS", "shortfall min"):
        justify: JustifyMethod = "left" if col in (started, "instance", "status") else "right"
        table.add_column(col, justify=justify, overflow="fold")
    table.add_column("% met per agency", overflow="fold")
    table.add_column("% met per sector", overflow="fold")
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
            _started(row),
            _instance_label(row),
            str(row["status"]) if ok else f"{row['status']} (error below)",
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


def _whole_numbers(record: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """Whether the `keys` of `record` all hold whole numbers (not booleans)."""
    return all(isinstance(record.get(k), int) and not isinstance(record.get(k), bool) for k in keys)


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
    recorded = loaded.run.get("fcfs")
    if isinstance(recorded, dict) and _whole_numbers(recorded, ("service", "cost", "served")):
        fcfs: dict[str, Any] = recorded
    else:  # `run` is free-form in a plan from any tool: recompute the baseline
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
