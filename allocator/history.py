"""Run history in a database through SQLAlchemy Core (portable types only: SQLite, PostgreSQL, …).

One row per instance run in `allocator_runs` (with the plan itself as JSON), its fulfilment per
agency and per sector (requests asked, met, % met: the GAO-12-518 measure) in
`allocator_fulfilment`, and its coverage shortfall minutes per sector in `allocator_coverage`.
The schema is created on first use. A run is the `run.json` that `allocator.batch` writes; a row is
recorded once per `run_id` (recording the same run again does nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

log = logging.getLogger(__name__)

DB_FILE = "allocator.db"

metadata = sa.MetaData()

runs = sa.Table(
    "allocator_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("batch_id", sa.String(32), index=True),
    sa.Column("instance", sa.String(200), nullable=False, index=True),
    sa.Column("folder", sa.String(200)),  # the batch's results folder: unique where two inputs share a name
    sa.Column("input_path", sa.Text),
    sa.Column("input_hash", sa.String(80)),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("service", sa.Integer),
    sa.Column("cost", sa.Integer),
    sa.Column("bound", sa.Integer),
    sa.Column("gap", sa.Float),
    sa.Column("requests", sa.Integer),
    sa.Column("served", sa.Integer),
    sa.Column("served_pct", sa.Float),
    sa.Column("fcfs_service", sa.Integer),
    sa.Column("fcfs_served", sa.Integer),
    sa.Column("shortfall_min", sa.Integer),
    sa.Column("wall_time_s", sa.Float),
    sa.Column("time_limit_s", sa.Float),
    sa.Column("software_version", sa.String(40)),
    sa.Column("plan", sa.JSON),
)

fulfilment = sa.Table(
    "allocator_fulfilment",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("allocator_runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # "agency" or "sector"
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("requested", sa.Integer, nullable=False),
    sa.Column("served", sa.Integer, nullable=False),
    sa.Column("pct", sa.Float, nullable=False),
    sa.Column("value_requested", sa.Integer, nullable=False),
    sa.Column("value_served", sa.Integer, nullable=False),
)

coverage = sa.Table(
    "allocator_coverage",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("allocator_runs.run_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("sector", sa.String(200), primary_key=True),
    sa.Column("shortfall_min", sa.Integer, nullable=False),
)


class HistoryError(Exception):
    """The history database cannot be opened or written (one sentence)."""


DbUrl = str | sa.URL  # a URL as the user wrote it, or one built from a file path (any characters)


def sqlite_url(path: Path) -> sa.URL:
    """The URL of an SQLite file, built from its parts: a path holding `?`, `#`, `%` or `@` is the file
    name as it is (pasted into a URL string, `q?dir/…` became the file `q` and `%41` an `A`)."""
    return sa.URL.create("sqlite", database=str(path.resolve()))


def default_url(out_dir: Path) -> sa.URL:
    """The SQLite file `allocator.db` next to the batch output folder (in its parent)."""
    return sqlite_url(out_dir.resolve().parent / DB_FILE)


def engine_for(url: DbUrl) -> sa.Engine:
    """An engine for `url`, checked without touching any file or server: a URL SQLAlchemy cannot use or
    an in-memory SQLite database is a `HistoryError`; a bare file path is one too, which says how to write it."""
    if isinstance(url, str) and "://" not in url:
        raise HistoryError(
            f"--db {url}: not a database URL; for an SQLite file write sqlite:///{url} "
            "(or a server URL such as postgresql+psycopg://user@host/dbname)."
        )
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError, TypeError) as exc:
        raise HistoryError(f"--db {safe_url(url)}: not a usable database URL ({_first_line(exc)}).") from None
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise HistoryError(f"--db {safe_url(url)}: an in-memory database would keep no history; name a file.")
    return engine


def connect(url: DbUrl, create: bool = True) -> sa.Engine:
    """An engine for `url`, with the schema created if it is not there yet; with `create=False` (reading
    the history) a database without it is an error and nothing is written."""
    return open_schema(engine_for(url), create)


def open_schema(engine: sa.Engine, create: bool = True) -> sa.Engine:
    """Create the schema on `engine` if it is not there yet (or, with `create=False`, check it is there)."""
    url = engine.url
    if not create:
        database = engine.url.database
        if engine.url.get_backend_name() == "sqlite" and database and not Path(database).exists():
            raise HistoryError(f"--db {safe_url(url)}: no such database file.")
    try:
        if create:
            _create_schema(engine)
        elif not sa.inspect(engine).has_table("allocator_runs"):
            raise HistoryError(f"--db {safe_url(url)}: no allocator run history in this database.")
    except sa.exc.SQLAlchemyError as exc:
        raise HistoryError(f"--db {safe_url(url)}: cannot open the database ({_first_line(exc)}).") from None
    return engine


def _create_schema(engine: sa.Engine, attempts: int = 3) -> None:
    """Create the tables that are not there yet. Two batches starting at once on a new database (two cron
    lines at 02:00 sharing `ALLOCATOR_DB`) both find a table missing and both create it: the slower one's
    CREATE fails with "already exists" (PostgreSQL: a duplicate key in its catalog), and a second look finds
    the schema the other made. Any other error (a server that cannot be reached) is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
            raced = isinstance(exc, sa.exc.IntegrityError) or "already exists" in str(exc.orig)
            if not raced or attempt == attempts:
                raise
            log.debug("creating the history schema raced with another process; looking again")


def safe_url(url: DbUrl) -> str:
    """The URL with any password hidden."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        return url


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def record_run(engine: sa.Engine, run: dict[str, Any], plan: dict[str, Any] | None = None) -> bool:
    """Record one run (a `run.json` mapping) and its plan; False when that `run_id` is already recorded."""
    fcfs = run.get("fcfs") or {}
    row = {
        "run_id": run["run_id"],
        "batch_id": run.get("batch_id"),
        "instance": run["instance"],
        "folder": run.get("folder"),
        "input_path": run.get("input"),
        "input_hash": run.get("input_hash"),
        "started_at": _instant(run["started_at"]),
        "finished_at": _instant(run.get("finished_at")),
        "status": run["status"],
        "ok": bool(run.get("ok")),
        "error": run.get("error"),
        "service": run.get("service"),
        "cost": run.get("cost"),
        "bound": run.get("bound"),
        "gap": run.get("gap"),
        "requests": run.get("requests"),
        "served": run.get("served"),
        "served_pct": run.get("served_pct"),
        "fcfs_service": fcfs.get("service"),
        "fcfs_served": fcfs.get("served"),
        "shortfall_min": sum((run.get("coverage_shortfall_min") or {}).values()) if run.get("ok") else None,
        "wall_time_s": run.get("wall_time_s"),
        "time_limit_s": (run.get("settings") or {}).get("time_limit_s"),
        "software_version": (run.get("software") or {}).get("allocator"),
        "plan": plan,
    }
    tallies = [
        {"run_id": run["run_id"], "kind": kind, "name": name, **_tally(counts)}
        for kind in ("agency", "sector")
        for name, counts in (run.get(f"per_{kind}") or {}).items()
    ]
    shortfalls = [
        {"run_id": run["run_id"], "sector": sector, "shortfall_min": minutes}
        for sector, minutes in (run.get("coverage_shortfall_min") or {}).items()
    ]
    try:
        with engine.begin() as conn:
            if conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run["run_id"])).first() is not None:
                return False
            conn.execute(runs.insert(), [row])
            if tallies:
                conn.execute(fulfilment.insert(), tallies)
            if shortfalls:
                conn.execute(coverage.insert(), shortfalls)
    except sa.exc.SQLAlchemyError as exc:
        raise HistoryError(f"cannot record run {run['run_id']} in the history ({_first_line(exc)}).") from None
    return True


def _tally(counts: dict[str, Any]) -> dict[str, Any]:
    requested, served = int(counts["requested"]), int(counts["served"])
    return {
        "requested": requested,
        "served": served,
        "pct": round(100 * served / requested, 1) if requested else 100.0,
        "value_requested": int(counts.get("value_requested", 0)),
        "value_served": int(counts.get("value_served", 0)),
    }


RUN_COLUMNS = [
    "run_id",
    "batch_id",
    "instance",
    "folder",
    "started_at",
    "finished_at",
    "status",
    "ok",
    "error",
    "served",
    "requests",
    "served_pct",
    "service",
    "bound",
    "gap",
    "cost",
    "fcfs_service",
    "fcfs_served",
    "shortfall_min",
    "wall_time_s",
    "time_limit_s",
    "input_path",
    "input_hash",
    "software_version",
]


def load_runs(engine: sa.Engine, instance: str | None = None, since: datetime | None = None) -> pd.DataFrame:
    """The recorded runs, oldest first (`instance` matches the instance name or its results folder).

    One row each; the fulfilment of every agency and sector as columns `agency <name> requested|served|pct`
    and `sector <name> …`, the coverage shortfall as `shortfall <sector>`."""
    query = sa.select(*(runs.c[name] for name in RUN_COLUMNS)).order_by(runs.c.started_at, runs.c.instance)
    if instance is not None:
        query = query.where(sa.or_(runs.c.instance == instance, runs.c.folder == instance))
    if since is not None:
        query = query.where(runs.c.started_at >= since.astimezone(UTC))
    with engine.connect() as conn:
        frame = pd.DataFrame([dict(r._mapping) for r in conn.execute(query)], columns=RUN_COLUMNS)
        ids = frame["run_id"].tolist()
        tallies = _rows(conn, fulfilment, ids)
        shortfalls = _rows(conn, coverage, ids)
    for col in ("started_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)  # SQLite hands back naive UTC
    frame["ok"] = frame["ok"].astype(bool)
    wide: list[pd.DataFrame] = []
    if tallies:
        t = pd.DataFrame(tallies)
        for kind in ("agency", "sector"):
            part = t[t["kind"] == kind]
            if part.empty:
                continue
            pivot = part.pivot(index="run_id", columns="name", values=["requested", "served", "pct"])
            # pandas-stubs types `columns` as Index[str]; pivoting several `values` makes it a MultiIndex of pairs
            pivot.columns = [f"{kind} {name} {field}" for field, name in pivot.columns]  # type: ignore[str-unpack]
            names = sorted(part["name"].unique())
            wide.append(pivot[[f"{kind} {n} {f}" for n in names for f in ("requested", "served", "pct")]])
    if shortfalls:
        s = pd.DataFrame(shortfalls).pivot(index="run_id", columns="sector", values="shortfall_min")
        s.columns = [f"shortfall {sector}" for sector in s.columns]
        wide.append(s)
    for part in wide:
        frame = frame.join(part, on="run_id")
    counts = [c for c in frame.columns if c.endswith((" requested", " served")) or c.startswith("shortfall ")]
    return frame.astype(dict.fromkeys(counts, "Int64"))


def _rows(conn: sa.Connection, table: sa.Table, ids: Iterable[str]) -> list[dict[str, Any]]:
    ids = list(ids)
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):  # stay well inside every database's bound-parameter limit
        chunk = ids[i : i + 500]
        out += [dict(r._mapping) for r in conn.execute(sa.select(table).where(table.c.run_id.in_(chunk)))]
    return out


def load_plan_of(engine: sa.Engine, run_id: str) -> dict[str, Any] | None:
    """The plan stored with a run (None for a failed run)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(runs.c.plan).where(runs.c.run_id == run_id)).scalar_one_or_none()
