"""Nightly batch runs: many instances, unattended, with results that are either complete or absent.

`run_batch(inputs, out, options)` finds the instances (files, CSV folders, folders of them), and for
each one validates, solves, runs the independent checker (`allocator.check`) and writes
`OUT/<instance>/plan.json, sorties.csv, unserved.csv, report.html, run.json`. Each run is recorded
in the history database (`allocator.history`).

- A bad instance does not stop the others: it gets a folder with a `run.json` of status `FAILED`
  and the error sentence.
- Atomic results: an instance's files are written into `OUT/.staging/` and the finished folder is
  renamed into place (the previous one moved aside first, then deleted). A run killed at any moment
  leaves either the previous complete folder, the new complete folder, or none; never a plan that
  looks complete without its `run.json`. Leftovers in `.staging` are removed by the next batch.
- Disk full, permissions: an `OSError` while writing one instance's results (a file in `.staging`, its
  `run.json`, the rename into place) fails that instance, not the batch: its run is `FAILED` with one
  sentence naming the file and the OS error (`runs/tiny/report.html: cannot be written (No space left on
  device).`), recorded in the history without a plan. If its `run.json` can still be published, it
  replaces the results folder as for any failure (the files written before the error are dropped).
  If even that fails (or the folder cannot be renamed), nothing is replaced: the folder keeps its
  previous complete results (moved back if it was already moved aside) and the error says so
  (`...; runs/tiny keeps its previous results.`, after the first error when the run had one). So the
  folder always holds one run's complete results, never a mix. If `batch.json` cannot be written at the
  end, the old one is deleted if possible (it must not pass for tonight's). The error is logged
  (`batch_error`) and the batch exits 2, not 1: the output folder needs someone, and 1 is "reported, not
  retried" for a `SuccessExitStatus=1` unit. A lock file that cannot be written at the start is exit 2 too.
- One batch per folder: `OUT/.allocator-batch.lock` is held with `flock` for the whole run (the
  kernel releases it when the process dies, so a crashed batch never leaves a stale lock) and removed
  when the batch ends, however it ends.
- Ctrl-C: the instances being solved are discarded, no other starts, `batch.json` lists those that
  finished (`"interrupted": true`) and `BatchInterrupted` carries them to the caller. SIGTERM (systemd
  stopping the unit, `timeout`, a shutdown) does the same (`"signal": "SIGTERM"`, exit code 143): killed
  outright, it would leave last night's `batch.json` looking like tonight's and no line in the log.
- Reuse: an instance whose input hash, allocator version and settings (time limit, seed) equal those
  of the complete `run.json` in its folder, and whose files still match the hashes recorded there,
  is not solved again (unless `force`). A half-written run is never reused: only a published folder has
  a `run.json`, and a stored file that is missing, changed or unreadable means solving again.
- Time budget: every instance gets the full `time_limit_s` (as `allocator solve --time-limit`);
  `jobs` instances are solved at once in separate processes, each with `max(1, cores // jobs)` CP-SAT
  workers, so the machine is shared, not oversubscribed. The wall time of the batch is about
  `ceil(instances / jobs) * time_limit_s`, plus a second or so per instance for loading, the FCFS
  baseline, the check and the report.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from multiprocessing.synchronize import Event as StopFlag
from pathlib import Path
from types import FrameType
from typing import Any

import allocator.solver
from allocator import history
from allocator.check import check
from allocator.domain import Instance, count
from allocator.errors import InputError
from allocator.io import atomic_write_text, load_instance, write_plan, write_sorties_csv
from allocator.io.instance_files import DOCUMENT_SUFFIXES
from allocator.report import fulfilment, write_report
from allocator.report.data import unserved_frame

log = logging.getLogger(__name__)

LOCK_FILE = ".allocator-batch.lock"
STAGING = ".staging"
RUN_FILE = "run.json"
BATCH_FILE = "batch.json"
OUTPUT_FILES = ("plan.json", "sorties.csv", "unserved.csv", "report.html")
OK_STATUSES = {"OPTIMAL", "FEASIBLE"}
# an instance's folder name, at most: its staging name adds ".<run id>.old" (37 characters) and must stay
# within the 255 bytes of a file name; the history's `folder` column holds 200
MAX_FOLDER_NAME = 200

Event = Callable[[str, dict[str, Any]], None]

_current_instance: str | None = None  # the instance being solved in this process: every JSON log line names it
_in_worker = False  # this process is a `--jobs` worker
_stop: StopFlag | None = None  # set by the batch when Ctrl-C stops it: workers start no further instance


class BatchError(Exception):
    """The batch itself cannot run (exit code 2): one sentence."""


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the batch: `result` holds the instances that finished (`batch.json` lists them)."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__("interrupted")
        self.result = result


@dataclass
class BatchOptions:
    """How to run a batch. `workers` is CP-SAT workers per instance (default `max(1, cores // jobs)`)."""

    time_limit_s: float = 60.0
    jobs: int = 1
    workers: int | None = None
    seed: int = 0
    force: bool = False
    log_json: bool = False  # worker processes log one JSON object per line, like the parent

    def workers_per_job(self) -> int:
        return self.workers or max(1, (os.cpu_count() or 1) // max(1, self.jobs))

    def settings(self) -> dict[str, Any]:
        """What a stored result must have been made with to be reused."""
        return {"time_limit_s": self.time_limit_s, "seed": self.seed}


@dataclass
class Outcome:
    """One instance of the batch: its folder and its `run.json` content."""

    input: Path
    folder: Path
    run: dict[str, Any]
    reused: bool = False
    recorded: bool = True  # False when the history could not record it

    @property
    def ok(self) -> bool:
        return bool(self.run.get("ok"))

    @property
    def name(self) -> str:
        return self.folder.name


@dataclass
class BatchResult:
    batch_id: str
    out: Path
    db_url: history.DbUrl
    started_at: str
    finished_at: str = ""
    wall_time_s: float = 0.0
    outcomes: list[Outcome] = field(default_factory=list)
    history_errors: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: `outcomes` are the instances that finished before it
    stop_signal: str = "SIGINT"  # what interrupted it: SIGINT (Ctrl-C, `kill -INT`) or SIGTERM
    not_finished: list[Path] = field(default_factory=list)
    summary_error: str | None = None  # `batch.json` could not be written (the output folder is unusable): why

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def not_recorded(self) -> int:
        """How many runs the history database did not take."""
        return sum(not o.recorded for o in self.outcomes)

    def stopped_by(self) -> str:
        """How an interrupted batch says it stopped: `interrupted` (Ctrl-C) or `interrupted by SIGTERM`."""
        return "interrupted" if self.stop_signal == "SIGINT" else f"interrupted by {self.stop_signal}"

    @property
    def exit_code(self) -> int:
        """0 when every instance succeeded and was recorded, 128 + the signal's number when interrupted
        (130 for Ctrl-C, 143 for SIGTERM), 2 when `batch.json` could not be written (the output folder is
        unusable: a scheduler must alert, and exit 1 is "reported, not retried"), else 1."""
        if self.interrupted:
            return 128 + int(signal.Signals[self.stop_signal])
        if self.summary_error is not None:
            return 2
        return 1 if self.failed or self.history_errors else 0


@dataclass
class _Task:
    """What a worker process needs to solve one instance (picklable)."""

    instance: Instance
    input: str
    input_hash: str
    folder: Path
    batch_id: str
    options: BatchOptions


# -- inputs ------------------------------------------------------------------------------------


def discover(inputs: list[Path], out: Path | None = None) -> list[Path]:
    """Instance files and CSV folders named by `inputs`: a file as it is, a folder of CSV tables, or the
    instance files (.json, .yaml, .yml) and CSV folders directly inside a folder; sorted, no duplicates.

    Nothing is skipped without a trace: a sub-folder holding `.csv` files (or named like an instance file)
    is an instance folder even without `instance.csv`, and a broken symbolic link named like an instance
    (or with no suffix, as a folder would be) is an input too: both then fail with a sentence saying why.
    A sub-folder of instance files is not searched (one level deep) and says so in a warning. What a batch
    writes into `out` (the folder itself when it lies inside an input folder, its `batch.json`, results
    folders holding a `run.json`, and anything inside them) is never an instance, even when `out` is
    itself an input folder."""
    where = out.resolve() if out is not None else None
    found: list[Path] = []
    for path in inputs:
        if not path.exists():
            if path.is_symlink():
                raise BatchError(f"{path}: is a broken symbolic link (its target {os.readlink(path)} does not exist).")
            raise BatchError(f"{path}: no such file or folder.")
        if where is not None and path.resolve() != where and _batch_output(path, where):
            _skipped(path, f"it is a batch's own output inside the results folder {out}")
            continue
        if not path.is_dir() or _is_csv_folder(path) or (_looks_like_csv_folder(path) and not _holds_instances(path)):
            found.append(path)  # a file (or a pipe, which the loader refuses with a sentence), or a CSV folder
            continue
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or (where is not None and _batch_output(child, where)):
                continue
            if child.is_symlink() and not child.exists():
                if child.suffix.lower() in DOCUMENT_SUFFIXES or not child.suffix:
                    found.append(child)  # fails with "broken symbolic link"
                continue
            if child.is_file():
                if child.suffix.lower() in DOCUMENT_SUFFIXES:
                    found.append(child)
            elif child.is_dir():
                if _is_csv_folder(child) or _looks_like_csv_folder(child):
                    found.append(child)
                elif _holds_instances(child):
                    _skipped(child, "sub-folders of an input folder are not searched (one level deep only)")
    unique = list(dict.fromkeys(_absolute(p) for p in found))
    if not unique:
        raise BatchError(f"{', '.join(map(str, inputs))}: no instance files (.json, .yaml, .yml or CSV folders).")
    return unique


def _absolute(path: Path) -> Path:
    """The resolved path; a broken link keeps its own name (its target does not exist)."""
    return path.resolve() if path.exists() else path.parent.resolve() / path.name


def _batch_output(path: Path, out: Path) -> bool:
    """Whether `path` is something a batch writes into the (resolved) results folder `out`: the folder
    itself, its `batch.json`, lock or staging area, a results folder (one holding `run.json`) or anything
    inside one."""
    resolved = _absolute(path)
    if resolved == out:
        return True
    try:
        parts = resolved.relative_to(out).parts
    except ValueError:
        return False
    if parts[0] in (LOCK_FILE, STAGING) or parts == (BATCH_FILE,):
        return True
    folder = out
    for part in parts:
        folder = folder / part
        if (folder / RUN_FILE).is_file():
            return True
    return False


def _skipped(path: Path, why: str) -> None:
    log.warning("skipped %s: %s", path, why, extra={"data": {"event": "input_skipped", "input": str(path)}})


def _is_csv_folder(path: Path) -> bool:
    return path.is_dir() and (path / "instance.csv").is_file()


def _looks_like_csv_folder(path: Path) -> bool:
    """A folder meant as an instance: named like an instance file, or holding `.csv` tables."""
    if path.suffix.lower() in DOCUMENT_SUFFIXES:
        return True
    try:
        return any(p.suffix.lower() == ".csv" and not p.name.startswith(".") for p in path.iterdir())
    except OSError:
        return True  # unreadable: the loader says why


def _holds_instances(path: Path) -> bool:
    try:
        return any(
            not p.name.startswith(".") and (p.suffix.lower() in DOCUMENT_SUFFIXES or _is_csv_folder(p))
            for p in path.iterdir()
        )
    except OSError:
        return False


def input_hash(path: Path) -> str:
    """`sha256:<hex>` of a file's bytes, or of every file of a folder (relative names and bytes, sorted)."""
    digest = hashlib.sha256()
    if not path.exists():  # a broken symbolic link: the name of its target
        digest.update(b"link\0" + (os.fsencode(os.readlink(path)) if path.is_symlink() else b""))
        return f"sha256:{digest.hexdigest()}"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file is not path:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def _safe(name: str, room: int = 0) -> str:
    """`name` as a file-safe folder name of at most `MAX_FOLDER_NAME - room` characters."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return safe[: MAX_FOLDER_NAME - room].rstrip("._") or "instance"


def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def folder_names(items: list[tuple[Path, str | None]]) -> list[str]:
    """A distinct folder name per input: the instance name; an input whose file is not named after its
    instance yields the name to one that is, and then uses its own file name (tiny.yaml and tiny-csv/,
    both named `tiny`, get `tiny` and `tiny-csv`); unreadable inputs use their file name. A name is cut to
    `MAX_FOLDER_NAME` characters (a numbered one keeps its number)."""
    names: list[str | None] = [None] * len(items)
    taken: set[str] = {BATCH_FILE}  # the batch's own summary file (the lock and staging names start with a dot)
    wanted = [_safe(name or _stem(path)) for path, name in items]
    for i, (path, _) in enumerate(items):  # first those named after their instance
        if wanted[i] == _safe(_stem(path)) and wanted[i] not in taken:
            names[i] = wanted[i]
            taken.add(wanted[i])
    for i, (path, _) in enumerate(items):
        if names[i] is not None:
            continue
        numbered = (f"{_safe(wanted[i], len(f'-{k}'))}-{k}" for k in range(2, 10_000))
        for candidate in (wanted[i], _safe(_stem(path)), *numbered):
            if candidate not in taken:
                names[i] = candidate
                taken.add(candidate)
                break
    return [n for n in names if n is not None]


# -- the lock --------------------------------------------------------------------------------


@contextlib.contextmanager
def batch_lock(out: Path) -> Iterator[Path]:
    """Hold `OUT/.allocator-batch.lock` (flock) for the duration; `BatchError` if another batch holds it.

    The file exists only while a batch holds it: it is removed (while still locked) when the block ends,
    however it ends (Ctrl-C included). A batch that locked a file removed meanwhile locks the new one."""
    path = out / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise BatchError(_cannot(out, "write in the output folder", exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 500, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise BatchError(
                f"{out}: another batch is running on this folder ({holder}); wait for it to finish (lock file {path})."
            ) from None
        try:
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)  # the previous holder removed this file as we opened it: lock the one there now
    try:
        try:
            os.ftruncate(fd, 0)
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
        except OSError as exc:  # a full disk: nothing of the batch could be written either
            raise BatchError(_cannot(out, "write in the output folder", exc)) from None
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still locked: no other batch can be using this file
        os.close(fd)  # releases the flock


# -- one instance ----------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def software() -> dict[str, str]:
    from allocator import __version__

    try:
        ortools = version("ortools")
    except PackageNotFoundError:  # pragma: no cover - ortools is a dependency
        ortools = "unknown"
    return {"allocator": __version__, "ortools": ortools, "python": platform.python_version()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _base_run(input_: str, digest: str, name: str, folder: str, batch_id: str, options: BatchOptions) -> dict[str, Any]:
    return {
        "run_id": uuid.uuid4().hex,
        "batch_id": batch_id,
        "instance": name,
        "folder": folder,
        "input": input_,
        "input_hash": digest,
        "status": "FAILED",
        "ok": False,
        "error": None,
        "started_at": _now(),
        "finished_at": None,
        "wall_time_s": None,
        "settings": options.settings(),
        "workers": options.workers_per_job(),
        "software": software(),
    }


def solve_one(task: _Task) -> dict[str, Any]:
    """Solve, check and publish one instance; returns its `run.json` content. Runs in a worker process
    when `jobs > 1`. A crash becomes a `FAILED` run; Ctrl-C stops the batch."""
    global _current_instance
    if _in_worker:  # Ctrl-C stops this instance (between instances a worker ignores it)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if _stop is not None and _stop.is_set():
            raise KeyboardInterrupt  # the batch was interrupted before this instance started
        _current_instance = task.instance.name
        return _solve_one(task)
    finally:
        _current_instance = None
        if _in_worker:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _solve_one(task: _Task) -> dict[str, Any]:
    options = task.options
    inst = task.instance
    run = _base_run(task.input, task.input_hash, inst.name, task.folder.name, task.batch_id, options)
    started = time.monotonic()
    staging = task.folder.parent / STAGING / f"{task.folder.name}.{run['run_id']}"
    if not _make_staging(staging, run, task.folder):  # before the solve: a full disk fails at once
        _finished(run, started)
        return run
    log.info(
        "solving %s", inst.name, extra={"data": {"event": "instance_start", "instance": inst.name, "input": task.input}}
    )
    try:
        result = allocator.solver.solve(
            inst,
            allocator.solver.SolveOptions(
                time_limit_s=options.time_limit_s, workers=options.workers_per_job(), seed=options.seed
            ),
        )
        if result.interrupted:
            raise KeyboardInterrupt
        plan = result.plan
        report = check(inst, plan)
        baseline = result.baseline
        fcfs = None
        if baseline is not None:
            fcfs = {
                "service": baseline.objective.service,
                "cost": baseline.objective.cost,
                "served": len({s.request for s in baseline.sorties}),
            }
        agencies, sectors = fulfilment(inst, plan, "agency"), fulfilment(inst, plan, "sector")
        served = sum(row["served"] for row in agencies.values())
        shortfall: dict[str, int] = {}
        for rule in report.coverage:
            shortfall[rule["sector"]] = shortfall.get(rule["sector"], 0) + int(rule["shortfall_min"])
        run.update(
            {
                "status": str(plan.status) if report.ok else "INVALID",
                "ok": report.ok and str(plan.status) in OK_STATUSES,
                "error": None if report.ok else f"the plan fails the checker: {report.violations[0]}",
                "service": plan.objective.service,
                "cost": plan.objective.cost,
                "bound": plan.bound.service,
                "gap": result.gap,
                "requests": len(inst.requests),
                "served": served,
                "served_pct": round(100 * served / len(inst.requests), 1) if inst.requests else 100.0,
                "fcfs": fcfs,
                "per_agency": {k: _with_pct(v) for k, v in agencies.items()},
                "per_sector": {k: _with_pct(v) for k, v in sectors.items()},
                "coverage_shortfall_min": shortfall,
                "check": {"ok": report.ok, "violations": len(report.violations)},
            }
        )
        if run["ok"] is False and run["error"] is None:
            run["error"] = f"the solver ended with status {plan.status}"
        writers: dict[str, Callable[[Path], object]] = {
            "plan.json": lambda path: write_plan(plan, path),
            "sorties.csv": lambda path: write_sorties_csv(plan, path),
            "unserved.csv": lambda path: atomic_write_text(path, unserved_frame(inst, plan).to_csv(index=False)),
            "report.html": lambda path: write_report(inst, plan, path, fcfs, report),
        }
        files: dict[str, str] = {}
        for name, write in writers.items():
            with _writing(staging, task.folder / name):
                write(staging / name)
                files[name] = _sha256(staging / name)
        run["files"] = files
    except KeyboardInterrupt:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except NotWritten as exc:  # disk full, permissions: this instance fails with one sentence, not the batch
        run.update({"status": "FAILED", "ok": False, "error": str(exc), "files": {}})
    except Exception as exc:  # one instance's crash must not stop the batch
        log.exception("internal error on %s", inst.name)
        run.update(
            {"status": "FAILED", "ok": False, "error": f"internal error: {type(exc).__name__}: {exc}", "files": {}}
        )
    _finished(run, started)
    _publish(staging, run, task.folder)
    return run


class NotWritten(Exception):
    """A file of a run could not be written (disk full, permissions, ...): `str()` is the one sentence."""


@contextlib.contextmanager
def _writing(staging: Path, shown: Path) -> Iterator[None]:
    """An `OSError` writing into `staging` becomes `NotWritten` naming `shown` (the file's published path)
    and the error; one about another file (something the writer reads) is not a write failure."""
    try:
        yield
    except OSError as exc:
        for name in (exc.filename, exc.filename2):
            if name is not None and not _inside(Path(os.fsdecode(name)), staging):
                raise
        raise NotWritten(_cannot(shown, "be written", exc)) from None


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents


def _cannot(path: Path, what: str, exc: OSError) -> str:
    """`path: cannot <what> (<the OS error>).`"""
    return f"{path}: cannot {what} ({exc.strerror or exc})."


def _finished(run: dict[str, Any], started: float) -> None:
    run["finished_at"] = _now()
    run["wall_time_s"] = round(time.monotonic() - started, 3)
    run.setdefault("files", {})


def _make_staging(staging: Path, run: dict[str, Any], folder: Path) -> bool:
    """Create the run's staging folder; when that fails the run is `FAILED` and its results folder is left
    as it is (`_not_published`)."""
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        _not_published(run, folder, _cannot(staging.parent, f"create the staging folder of {folder.name}", exc))
        return False
    return True


def _published_plan(outcome: Outcome) -> dict[str, Any] | None:
    """The plan this run wrote, for the history: the `plan.json` in its folder whose SHA-256 its `files`
    records; None when it wrote none (a failed or unpublished run, whose folder may still hold an older
    plan) or it cannot be read back."""
    digest = (outcome.run.get("files") or {}).get("plan.json")
    if digest is None:
        return None
    try:
        data = (outcome.folder / "plan.json").read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        plan = json.loads(data)
    except (OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) else None


def _with_pct(counts: dict[str, int]) -> dict[str, Any]:
    requested, served = counts["requested"], counts["served"]
    return {**counts, "pct": round(100 * served / requested, 1) if requested else 100.0}


def _publish(staging: Path, run: dict[str, Any], folder: Path) -> None:
    """`run.json` last into the staging folder, then the folder into place: all or nothing. A failed run
    that replaces a good one names it in `last_good_run` (its plan stays in the history).

    When that cannot be done (disk full, permissions, a rename refused) nothing is replaced: the previous
    folder is put back if it was already moved aside, the staging folder is removed, and the run becomes
    `FAILED` with a sentence naming the file and the error (`_not_published`). Output files the run does
    not list in `files` (those of a failed write) never reach the results folder."""
    if not run.get("ok"):
        last_good = _last_good_run(folder)
        if last_good is not None:
            run["last_good_run"] = last_good
    files = run.get("files") or {}
    try:
        for name in OUTPUT_FILES:
            if name not in files:
                (staging / name).unlink(missing_ok=True)  # half-written: no run.json vouches for it
        with _writing(staging, folder / RUN_FILE):
            atomic_write_text(staging / RUN_FILE, json.dumps(run, indent=2) + "\n")
    except (NotWritten, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        sentence = str(exc) if isinstance(exc, NotWritten) else _cannot(staging, "be cleaned up", exc)
        _not_published(run, folder, sentence)
        return
    old = staging.with_name(staging.name + ".old")
    existed = folder.exists() or folder.is_symlink()
    moved = False
    try:
        if existed:
            folder.rename(old)
            moved = True
        staging.rename(folder)
    except OSError as exc:
        restored = not moved
        if moved:
            with contextlib.suppress(OSError):
                old.rename(folder)
                restored = True
        shutil.rmtree(staging, ignore_errors=True)
        _not_published(run, folder, _cannot(folder, "be replaced" if existed else "be created", exc), restored)
        return
    shutil.rmtree(old, ignore_errors=True)


def _not_published(run: dict[str, Any], folder: Path, sentence: str, restored: bool = True) -> None:
    """The run's folder could not be published: the run is `FAILED` with no files, and its error says why and
    what `folder` holds now (after a failure that already had an error, as a second sentence)."""
    if not restored:
        where = f"{folder} is gone (its last run stays in the history)"
    elif folder.exists() or folder.is_symlink():
        where = f"{folder} keeps its previous results"
    else:
        where = f"{folder} was not created"
    sentence = f"{sentence.removesuffix('.')}; {where}."
    error = run.get("error")
    run.update({"status": "FAILED", "ok": False, "files": {}, "error": f"{error} {sentence}" if error else sentence})
    run.pop("last_good_run", None)  # no run.json names it


def _last_good_run(folder: Path) -> dict[str, Any] | None:
    """The last successful run of the results folder about to be replaced: its own, or the one its failed
    run still names."""
    try:
        old = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(old, dict):
        return None
    if old.get("ok"):
        return {key: old.get(key) for key in ("run_id", "batch_id", "status", "finished_at", "input_hash")}
    previous = old.get("last_good_run")
    return previous if isinstance(previous, dict) else None


def _failed_run(
    path: Path, folder: Path, digest: str, error: str, batch_id: str, options: BatchOptions, name: str | None = None
) -> dict[str, Any]:
    run = _base_run(str(path), digest, name or folder.name, folder.name, batch_id, options)
    run.update({"error": error, "finished_at": _now(), "wall_time_s": 0.0, "files": {}})
    return run


def _failed_input(
    path: Path, folder: Path, digest: str, error: str, batch_id: str, options: BatchOptions, name: str | None = None
) -> dict[str, Any]:
    """Publish a folder with only a `run.json` of status FAILED."""
    run = _failed_run(path, folder, digest, error, batch_id, options, name)
    staging = folder.parent / STAGING / f"{folder.name}.{run['run_id']}"
    if _make_staging(staging, run, folder):
        _publish(staging, run, folder)
    return run


def reusable(folder: Path, digest: str, options: BatchOptions) -> dict[str, Any] | None:
    """The stored complete run of this input with these settings, when its files are intact."""
    try:
        run = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (
        isinstance(run, dict)
        and run.get("ok")
        and run.get("input_hash") == digest
        and run.get("settings") == options.settings()
        and (run.get("software") or {}).get("allocator") == software()["allocator"]
    ):
        return None
    files = run.get("files") or {}
    for name in OUTPUT_FILES:
        path = folder / name
        try:
            if name not in files or not path.is_file() or _sha256(path) != files[name]:
                return None
        except OSError:  # unreadable: solved again (and replaced, or failed with a sentence)
            return None
    return run


# -- the batch ---------------------------------------------------------------------------------


def run_batch(
    inputs: list[Path],
    out: Path,
    options: BatchOptions | None = None,
    db_url: history.DbUrl | None = None,
    on_event: Event | None = None,
) -> BatchResult:
    """Run every instance of `inputs` into `out`; raises `BatchError` when the batch itself cannot run
    (then nothing is left behind), `BatchInterrupted` on Ctrl-C (after writing `batch.json` for what
    finished)."""
    options = options or BatchOptions()
    notify = on_event or (lambda kind, data: None)
    url = db_url or history.default_url(out)
    try:
        engine = history.engine_for(url)  # a URL that cannot work is refused before anything is written
    except history.HistoryError as exc:
        raise BatchError(str(exc)) from None
    if out.exists() and not out.is_dir():
        raise BatchError(f"{out}: is a file; --out needs a folder.")
    paths = discover(inputs, out)
    created = [folder for folder in (out.absolute(), *out.absolute().parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(_cannot(out, "create the output folder", exc)) from None
    try:
        with _sigterm_as_ctrl_c() as signals, batch_lock(out):
            try:
                history.open_schema(engine)
            except history.HistoryError as exc:
                raise BatchError(str(exc)) from None
            return _run_locked(paths, out, options, url, engine, notify, signals)
    except BatchError:
        for folder in created:  # deepest first; the lock file is gone by now
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _run_locked(
    paths: list[Path],
    out: Path,
    options: BatchOptions,
    url: history.DbUrl,
    engine: Any,
    notify: Event,
    signals: list[str] | None = None,
) -> BatchResult:
    shutil.rmtree(out / STAGING, ignore_errors=True)  # what a killed batch left behind
    result = BatchResult(batch_id=uuid.uuid4().hex, out=out, db_url=url, started_at=_now())
    clock = time.monotonic()
    log.info(
        "batch of %d instances into %s",
        len(paths),
        out,
        extra={
            "data": {
                "event": "batch_start",
                "batch_id": result.batch_id,
                "instances": len(paths),
                "out": str(out),
                "jobs": options.jobs,
                "workers_per_job": options.workers_per_job(),
                "time_limit_s": options.time_limit_s,
            }
        },
    )
    notify("start", {"total": len(paths)})

    def finish(outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        try:
            history.record_run(engine, outcome.run, _published_plan(outcome))
        except history.HistoryError as exc:
            outcome.recorded = False
            log.error(
                "%s",
                exc,
                extra={
                    "data": {"event": "history_error", "instance": outcome.name, "run_id": outcome.run.get("run_id")}
                },
            )
            result.history_errors.append(str(exc))
        _log_outcome(outcome)
        notify("done", {"outcome": outcome})

    try:
        tasks = _prepare(paths, out, options, result.batch_id, finish)
        _execute(tasks, options, finish)
    except KeyboardInterrupt:
        result.interrupted = True
        result.stop_signal = "SIGTERM" if signals and "SIGTERM" in signals else "SIGINT"
    with _ctrl_c_deferred():  # a second Ctrl-C must not leave batch.json half-done
        result.outcomes.sort(key=lambda o: o.name)
        done = {o.input for o in result.outcomes}
        result.not_finished = [p for p in paths if p not in done]
        shutil.rmtree(out / STAGING, ignore_errors=True)
        result.finished_at = _now()
        result.wall_time_s = round(time.monotonic() - clock, 3)
        try:
            _write_summary(result, options)
        except OSError as exc:
            result.summary_error = _summary_error(result, exc)
            with contextlib.suppress(OSError):  # last night's must not pass for tonight's
                (out / BATCH_FILE).unlink()
            log.error(result.summary_error, extra={"data": {"event": "batch_error", "exit_code": 2}})
        _log_end(result)
    if result.interrupted:
        raise BatchInterrupted(result)
    return result


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Ctrl-C is ignored within the block (only the main thread can set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[list[str]]:
    """Within the block SIGTERM stops the batch as Ctrl-C does (the names of the signals received are
    added to the list yielded). Only the main thread can set signal handlers."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        _as_ctrl_c(signum, frame)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """Do what Ctrl-C would do now: stop the solver's search, raise KeyboardInterrupt, or nothing (ignored
    while `batch.json` is written, or by a worker between instances)."""
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)


def _summary_error(result: BatchResult, exc: OSError) -> str:
    n = len(result.outcomes)
    instances = count(n, "finished instance")
    return _cannot(result.out / BATCH_FILE, "be written", exc).removesuffix(".") + (
        f", so no {BATCH_FILE} lists this batch's {instances}."
    )


def _write_summary(result: BatchResult, options: BatchOptions) -> None:
    """`batch.json`: this batch, or as much of it as finished before Ctrl-C."""
    summary = {
        "batch_id": result.batch_id,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "wall_time_s": result.wall_time_s,
        "interrupted": result.interrupted,
        "signal": result.stop_signal if result.interrupted else None,
        "db": history.safe_url(result.db_url),
        "options": {"jobs": options.jobs, "workers_per_job": options.workers_per_job(), **options.settings()},
        "not_recorded": result.not_recorded,
        "instances": [
            {
                "folder": o.name,
                "input": str(o.input),
                "status": o.run.get("status"),
                "ok": o.ok,
                "reused": o.reused,
                "recorded": o.recorded,
                "run_id": o.run.get("run_id"),
                "error": o.run.get("error"),
            }
            for o in result.outcomes
        ],
        "not_finished": [str(p) for p in result.not_finished],
    }
    atomic_write_text(result.out / BATCH_FILE, json.dumps(summary, indent=2) + "\n")


def _log_end(result: BatchResult) -> None:
    ok, failed = len(result.outcomes) - len(result.failed), len(result.failed)
    data = {
        "batch_id": result.batch_id,
        "ok": ok,
        "failed": failed,
        "reused": sum(o.reused for o in result.outcomes),
        "not_recorded": result.not_recorded,
        "wall_time_s": result.wall_time_s,
        "exit_code": result.exit_code,
    }
    if result.interrupted:
        total = len(result.outcomes) + len(result.not_finished)
        log.warning(
            "%s: %d of %d instances finished (%d ok, %d failed), listed in %s; the others keep their previous results",
            result.stopped_by(),
            len(result.outcomes),
            total,
            ok,
            failed,
            result.out / BATCH_FILE,
            extra={
                "data": {
                    "event": "batch_interrupted",
                    **data,
                    "signal": result.stop_signal,
                    "not_finished": len(result.not_finished),
                }
            },
        )
        return
    unrecorded = f", {result.not_recorded} not recorded in the history" if result.not_recorded else ""
    log.info("batch done: %d ok, %d failed%s", ok, failed, unrecorded, extra={"data": {"event": "batch_done", **data}})


def _prepare(
    paths: list[Path], out: Path, options: BatchOptions, batch_id: str, finish: Callable[[Outcome], None]
) -> list[_Task]:
    """Load and hash every input; bad inputs and reusable results are finished here, the rest are tasks."""
    loaded: list[tuple[Path, str, Instance | str]] = []
    for path in paths:
        digest = ""
        try:
            digest = input_hash(path)
            if path.is_symlink() and not path.exists():
                raise InputError(f"{path}: is a broken symbolic link (its target {os.readlink(path)} does not exist).")
            loaded.append((path, digest, load_instance(path)))
        except InputError as exc:
            loaded.append((path, digest, str(exc)))
        except OSError as exc:  # unreadable (permissions, a file gone meanwhile): this input fails, not the batch
            loaded.append((path, digest, _cannot(path, "be read", exc)))
    names = folder_names([(p, x.name if isinstance(x, Instance) else None) for p, _, x in loaded])
    tasks = []
    for (path, digest, inst), name in zip(loaded, names, strict=True):
        folder = out / name
        try:
            ours = folder.is_dir() and ((folder / RUN_FILE).is_file() or not any(folder.iterdir()))
            error = f"{folder}: exists and is not a batch result (it has no {RUN_FILE}); not replacing it."
        except OSError as exc:
            ours, error = False, _cannot(folder, "be read", exc).removesuffix(".") + "; not replacing it."
        foreign = (folder.exists() or folder.is_symlink()) and not ours
        if foreign:
            label = inst.name if isinstance(inst, Instance) else name
            finish(Outcome(path, folder, _failed_run(path, folder, digest, error, batch_id, options, label)))
            continue  # recorded in the history and batch.json; the foreign folder is left alone
        if isinstance(inst, str):
            finish(Outcome(path, folder, _failed_input(path, folder, digest, inst, batch_id, options)))
            continue
        stored = None if options.force else reusable(folder, digest, options)
        if stored is not None:
            finish(Outcome(path, folder, stored, reused=True))
            continue
        tasks.append(_Task(inst, str(path), digest, folder, batch_id, options))
    return tasks


def _execute(tasks: list[_Task], options: BatchOptions, finish: Callable[[Outcome], None]) -> None:
    if options.jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            finish(Outcome(Path(task.input), task.folder, solve_one(task)))
        return
    level = logging.getLogger().getEffectiveLevel()
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold solver threads
    stop = context.Event()
    with ProcessPoolExecutor(
        max_workers=min(options.jobs, len(tasks)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(level, options.log_json, stop),
    ) as pool:
        with _ctrl_c_deferred():  # the workers start (on submit) ignoring Ctrl-C until they solve
            futures: dict[Future, _Task] = {pool.submit(solve_one, task): task for task in tasks}
        finished: set[Future] = set()
        try:
            for future in as_completed(futures):
                finished.add(future)
                _finish_future(future, futures[future], options, finish)
        except BaseException:
            # Ctrl-C: no worker starts another instance, those solving stop (their instance is discarded)
            stop.set()
            for future in futures:
                future.cancel()
            with _ctrl_c_deferred():
                pool.shutdown(wait=True, cancel_futures=True)
            for future, task in futures.items():  # published just before the stop: they count
                if future not in finished and future.done() and not future.cancelled() and future.exception() is None:
                    finished.add(future)
                    finish(Outcome(Path(task.input), task.folder, future.result()))
            raise


def _finish_future(future: Future, task: _Task, options: BatchOptions, finish: Callable[[Outcome], None]) -> None:
    try:
        run = future.result()
    except BrokenProcessPool as exc:
        run = _failed_input(
            Path(task.input),
            task.folder,
            task.input_hash,
            f"internal error: the worker process died ({exc})",
            task.batch_id,
            options,
            task.instance.name,
        )
    finish(Outcome(Path(task.input), task.folder, run))


def _init_worker(level: int, log_json: bool, stop: StopFlag | None = None) -> None:
    global _in_worker, _stop
    _in_worker, _stop = True, stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # between instances; `solve_one` takes Ctrl-C while it runs
    # SIGTERM to every process of the batch (systemd stops the unit): the instance is discarded as on Ctrl-C,
    # not published as FAILED because the worker died
    signal.signal(signal.SIGTERM, _as_ctrl_c)
    if stop is not None:  # the batch was stopped (Ctrl-C on it alone, `kill -INT`): stop this instance too
        threading.Thread(target=_interrupt_when_set, args=(stop,), name="batch-stop", daemon=True).start()
    handler = logging.StreamHandler()
    if log_json:
        handler.setFormatter(JsonLogFormatter())
        logging.captureWarnings(True)  # a Python warning is a JSON line too
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _interrupt_when_set(stop: StopFlag) -> None:
    stop.wait()
    os.kill(os.getpid(), signal.SIGINT)


def _log_outcome(o: Outcome) -> None:
    run = o.run
    data = {
        "event": "instance_reused" if o.reused else ("instance_done" if o.ok else "instance_failed"),
        "instance": run.get("instance"),
        "folder": str(o.folder),
        "run_id": run.get("run_id"),
        "status": run.get("status"),
        "service": run.get("service"),
        "bound": run.get("bound"),
        "gap": run.get("gap"),
        "served": run.get("served"),
        "requests": run.get("requests"),
        "wall_time_s": run.get("wall_time_s"),
        "error": run.get("error"),
    }
    if o.ok:
        how = "reused" if o.reused else "solved"
        log.info("%s %s: %s service %s", how, o.name, run.get("status"), run.get("service"), extra={"data": data})
    else:
        log.warning("%s failed: %s", o.name, run.get("error"), extra={"data": data})


# -- structured logs -------------------------------------------------------------------------


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's `data` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data = getattr(record, "data", None) or {}
        if _current_instance is not None and "instance" not in data:
            entry["instance"] = _current_instance  # the solver's own lines, in a worker or not
        entry.update(data)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
