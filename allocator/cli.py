"""The `allocator` command line (SPEC section 10). Commands parse, call the library, print, and map
errors to exit codes: 0 success, 1 the answer is "no", 2 bad input or usage, 130 interrupted."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from allocator.errors import InputError

if TYPE_CHECKING:
    from allocator.domain import Instance
    from allocator.result import Plan
    from allocator.solver.search import Progress

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Air asset allocation optimizer for border air operations.",
)


class Method(StrEnum):
    """`allocator solve --method`: the optimizer, or the first-come-first-served baseline of SPEC 7."""

    CP = "cp"
    FCFS = "fcfs"


MAX_WORKERS = 256  # CP-SAT search workers: far above any machine this runs on
MAX_SEED = 2**31 - 1  # CP-SAT's random seed is a 32-bit integer

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(message, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def load_inputs(instance: Path, plan: Path | None = None) -> tuple[Instance, Plan | None]:
    """The instance and, when given, a plan file; bad input is one sentence and exit 2."""
    from allocator.io import load_instance, load_plan

    try:
        return load_instance(instance), load_plan(plan) if plan is not None else None
    except InputError as exc:
        raise fail(str(exc)) from None


def check_output_path(path: Path | None, inputs: Sequence[Path | None] = ()) -> None:
    """An output file can be written, before any work is done, and is none of the command's inputs."""
    if path is None:
        return
    _check_output_folder(path)
    if path.is_dir():
        raise fail(f"{path}: is a folder; -o needs a file path.")
    for given in inputs:
        if given is not None and _is_or_holds(given, path):
            raise fail(f"{path}: would overwrite the input {given}; write the output elsewhere.")


def _check_output_folder(path: Path) -> None:
    """The folder of an output exists, takes new files, and takes this file's name."""
    from allocator.io.instance_files import TEMP_NAME_EXTRA

    if not path.parent.exists():
        raise fail(f"{path}: the folder {path.parent} does not exist.")
    if not path.parent.is_dir():
        raise fail(f"{path}: {path.parent} is a file, not a folder.")
    try:
        longest = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(path.name)) + TEMP_NAME_EXTRA > longest:
        raise fail(f"{path.name[:40]}…: the file name is longer than the folder allows ({longest} bytes).")
    try:
        with tempfile.TemporaryFile(dir=path.parent, prefix=".allocator-"):
            pass
    except OSError as exc:
        raise fail(f"{path}: cannot write in the folder {path.parent} ({exc.strerror or exc}).") from None


def _is_or_holds(given: Path, output: Path) -> bool:
    """Whether `output` is the input file itself, or a table of an input folder of CSV tables."""
    given, output = given.resolve(), output.resolve()
    if given.is_dir():
        return output.parent == given and output.suffix.lower() == ".csv"
    return given == output


def check_same_instance(plan: Plan, inst: Instance, path: Path | None) -> None:
    """A plan given to a command is a plan of its instance (a changed instance file keeps its name)."""
    if plan.instance != inst.name:
        raise fail(f"{path}: this plan is for instance '{plan.instance}', not '{inst.name}'.")


def check_distinct_outputs(outputs: Mapping[str, Path | None]) -> None:
    """Two outputs of one command never name the same file (the second would replace the first)."""
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        key = path.resolve()
        if key in seen:
            raise fail(f"{path}: given to both {seen[key]} and {option}; name two different files.")
        seen[key] = option


def check_plan_output_path(path: Path | None, inputs: Sequence[Path | None] = ()) -> None:
    """A plan is written as JSON, to a .json file (or .yaml/.yml: JSON is YAML), which the readers accept."""
    from allocator.io.instance_files import DOCUMENT_SUFFIXES

    if path is not None and path.suffix.lower() not in DOCUMENT_SUFFIXES:
        raise fail(f"{path}: a plan is written as JSON; name the file .json (or .yaml).")
    check_output_path(path, inputs)


def check_instance_output_path(path: Path | None, inputs: Sequence[Path | None] = ()) -> None:
    """An instance is written as .json, .yaml/.yml, or as a folder of CSV tables (a path without suffix)."""
    if path is None:
        return
    from allocator.io.instance_files import DOCUMENT_SUFFIXES

    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        check_output_path(path, inputs)
        return
    if path.suffix:
        raise fail(f"{path}: an instance is written as .json, .yaml or a folder of CSV tables (no suffix).")
    if path.exists() and not path.is_dir():
        what = "a file" if path.is_file() else "not a folder"
        raise fail(f"{path}: is {what}; a folder of CSV tables needs a folder path (or name the file .json or .yaml).")
    _check_output_folder(path)
    if any(given is not None and given.resolve() == path.resolve() for given in inputs):
        raise fail(f"{path}: would overwrite the input folder; write the changed instance elsewhere.")


@app.command()
def solve(
    instance: Annotated[Path, typer.Argument(help="instance file (.json/.yaml) or folder of CSV tables")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the plan JSON here")] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="seconds for the whole solve")] = 30.0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="CP-SAT search workers")] = 8,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=MAX_SEED, help="random seed (reproducible with --workers 1)")
    ] = 0,
    method: Annotated[Method, typer.Option("--method", help="cp (optimize) or fcfs (baseline)")] = Method.CP,
    csv: Annotated[Path | None, typer.Option("--csv", help="also write the sorties as CSV here")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the comparison line")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log the model and the stages")] = False,
    log_search: Annotated[bool, typer.Option("--log-search", help="print CP-SAT's own search log")] = False,
    pattern_bound: Annotated[
        bool,
        typer.Option(
            "--pattern-bound",
            help="bound service with the pattern relaxation (tighter; for runs of a minute or more, 2+ workers)",
        ),
    ] = False,
) -> None:
    """Plan the instance, print a readable summary, and write the plan with -o."""
    from allocator.io import load_instance, write_plan, write_sorties_csv
    from allocator.reports import (
        conflicts_table,
        coverage_table,
        fulfilment_table,
        headline,
        schedule_table,
        unserved_table,
    )
    from allocator.solver import SolveOptions
    from allocator.solver import solve as run_solve

    setup_logging(verbose)
    check_plan_output_path(output, [instance])
    check_output_path(csv, [instance])
    check_distinct_outputs({"-o": output, "--csv": csv})
    try:
        inst = load_instance(instance)
    except InputError as exc:
        raise fail(str(exc)) from None
    live = _ProgressLine(err) if err.is_terminal and not quiet else None
    options = SolveOptions(
        time_limit_s=time_limit,
        workers=workers,
        seed=seed,
        method=method.value,  # type: ignore[arg-type]
        progress=live.update if live else None,
        pattern_bound=pattern_bound,
        log_search=log_search,
    )
    try:
        result = run_solve(inst, options)
    finally:
        if live:
            live.close()
    plan = result.plan
    target = output
    if result.interrupted and target is None:
        target = Path(re.sub(r"[^A-Za-z0-9_.-]+", "_", inst.name) + ".incumbent.plan.json")
    if target is not None:
        write_plan(plan, target)
    if csv is not None:
        write_sorties_csv(plan, csv)
    if not quiet:
        out.print(schedule_table(inst, plan))
        if plan.unserved:
            out.print(unserved_table(plan, inst))
        if plan.coverage:
            out.print(coverage_table(plan))
        if plan.metrics.get("per_agency"):
            out.print(fulfilment_table(plan, result.baseline if result.baseline is not plan else None))
        if plan.conflicts:
            out.print(conflicts_table(plan))
    out.print(headline(plan, result.baseline))
    if result.interrupted:
        err.print(f"interrupted: the best plan found so far ({plan.status}) was written to {target}.")
        raise typer.Exit(130)


class _ProgressLine:
    """A live status line on the terminal: stage, incumbent, bound, gap, time."""

    def __init__(self, console: Console) -> None:
        self.status = console.status("solving…")
        self.status.start()

    def update(self, p: Progress) -> None:
        def number(x: float | None) -> str:
            return "-" if x is None else f"{x:,.0f}"

        gap = "-" if p.gap is None else f"{100 * p.gap:.2f}%"
        unit = "$" if p.stage.endswith("cost") else ""
        self.status.update(
            f"{p.stage}: incumbent {unit}{number(p.incumbent)}  bound {unit}{number(p.bound)}  gap {gap}  "
            f"at {p.elapsed_s:.1f}s" + ("  (service proven optimal)" if p.service_proven else "")
        )

    def close(self) -> None:
        self.status.stop()


@app.command()
def check(
    instance: Annotated[Path, typer.Argument(help="instance file or CSV folder")],
    plan: Annotated[Path, typer.Argument(help="plan JSON")],
) -> None:
    """Check a plan against SPEC section 4 and its reported objective; exit 1 on any violation."""
    from allocator.check import check as run_check

    inst, loaded = load_inputs(instance, plan)
    assert loaded is not None
    report = run_check(inst, loaded)
    out.print(report.summary(), markup=False, highlight=False)  # the verdict, the objective, each violation
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the instance format."""
    from allocator.domain import Instance

    out.print_json(json.dumps(Instance.model_json_schema()))


@app.command()
def generate(
    seed: Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED)] = 0,
    days: Annotated[int, typer.Option("--days", min=1, max=31)] = 1,
    aircraft: Annotated[int | None, typer.Option("--aircraft", min=1, max=5_000, help="fleet size")] = None,
    requests: Annotated[int | None, typer.Option("--requests", min=0, max=200_000, help="number of requests")] = None,
    sectors: Annotated[str | None, typer.Option("--sectors", help="comma-separated sector ids")] = None,
    extended: Annotated[bool, typer.Option("--extended", help="add the other Southwest/Southeast branches")] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help=".json, .yaml, or a folder for CSV")] = None,
) -> None:
    """Generate a realistic scenario (real airfields, AMO-like fleet, CBP and ICE requests)."""
    from allocator.generate import generate as run_generate
    from allocator.io import write_instance
    from allocator.io.instance_files import instance_document

    chosen = [s.strip() for s in sectors.split(",") if s.strip()] if sectors else None
    check_instance_output_path(output)
    try:
        inst = run_generate(
            seed=seed, days=days, aircraft=aircraft, requests=requests, sectors=chosen, extended=extended
        )
    except (InputError, ValueError) as exc:
        raise fail(f"generate: {exc}") from None
    if output is None:
        out.print_json(json.dumps(instance_document(inst)))
        return
    write_instance(inst, output)
    err.print(
        f"wrote {output}: {len(inst.aircraft)} aircraft, {len(inst.requests)} requests, "
        f"{len(inst.sectors)} sectors, {days} day(s)"
    )


# Further commands live in `allocator.commands`, one module per area; importing them registers them on `app`.
from allocator.commands import batch, explain, whatif  # noqa: E402, F401


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # a usage error: one sentence, as for bad input (SPEC 10)
        ctx = getattr(exc, "ctx", None)
        message = exc.format_message().strip()
        if ctx is not None and "\n" not in message:  # a bad option or argument; not a help page
            command = ctx.command_path
            message = f"{command}: {message.rstrip('.')} (see '{command} --help')."
        err.print(message, markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted.")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
