"""Run history through SQLAlchemy: SQLite by default, PostgreSQL when ALLOCATOR_TEST_PG_URL is set
(.ci/run starts a throwaway server and sets it)."""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from allocator import history
from allocator.batch import BatchOptions, run_batch
from allocator.cli import app

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
runner = CliRunner()
PG_URL = os.environ.get("ALLOCATOR_TEST_PG_URL")


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not PG_URL, reason="ALLOCATOR_TEST_PG_URL is not set (no PostgreSQL server; .ci/run starts one)"
            ),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    assert PG_URL is not None
    engine = sa.create_engine(PG_URL)
    history.metadata.drop_all(engine)  # every test starts from an empty schema
    engine.dispose()
    return PG_URL


def a_run(run_id: str, instance: str = "tiny", started: datetime | None = None, ok: bool = True) -> dict:
    started = started or datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    run = {
        "run_id": run_id,
        "batch_id": "b1",
        "instance": instance,
        "folder": instance,
        "input": f"/in/{instance}.yaml",
        "input_hash": "sha256:00",
        "status": "OPTIMAL" if ok else "FAILED",
        "ok": ok,
        "error": None if ok else "bad.yaml: aircraft 'N1', field 'home_base': unknown base 'XYZ'.",
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(seconds=3)).isoformat(),
        "wall_time_s": 3.0,
        "settings": {"time_limit_s": 2.0, "seed": 0},
        "software": {"allocator": "0.1.0"},
    }
    if ok:
        run.update(
            {
                "service": 1250,
                "cost": 29492,
                "bound": 1250,
                "gap": 0.0,
                "requests": 4,
                "served": 3,
                "served_pct": 75.0,
                "fcfs": {"service": 300, "cost": 30983, "served": 3},
                "per_agency": {
                    "CBP": {"requested": 3, "served": 2, "value_requested": 1250, "value_served": 1200},
                    "ICE": {"requested": 1, "served": 1, "value_requested": 50, "value_served": 50},
                },
                "per_sector": {"TUC": {"requested": 4, "served": 3, "value_requested": 1300, "value_served": 1250}},
                "coverage_shortfall_min": {"TUC": 12},
            }
        )
    return run


def test_a_recorded_run_reads_back_with_fulfilment_per_agency_and_sector(db_url: str):
    engine = history.connect(db_url)
    assert history.record_run(engine, a_run("r1"), {"instance": "tiny", "sorties": []})
    rows = history.load_runs(engine)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["instance"], row["status"], row["service"], row["bound"], row["served"]) == (
        "tiny",
        "OPTIMAL",
        1250,
        1250,
        3,
    )
    assert row["started_at"] == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert (row["agency CBP requested"], row["agency CBP served"], row["agency CBP pct"]) == (3, 2, 66.7)
    assert row["agency ICE pct"] == 100.0 and row["sector TUC pct"] == 75.0
    assert row["shortfall TUC"] == 12 and row["shortfall_min"] == 12
    assert history.load_plan_of(engine, "r1") == {"instance": "tiny", "sorties": []}


def test_recording_the_same_run_twice_keeps_one_row(db_url: str):
    engine = history.connect(db_url)
    assert history.record_run(engine, a_run("r1"))
    assert not history.record_run(engine, a_run("r1"))
    assert len(history.load_runs(engine)) == 1


def test_failed_run_is_recorded_with_its_error_and_no_figures(db_url: str):
    engine = history.connect(db_url)
    history.record_run(engine, a_run("bad", instance="bad", ok=False))
    row = history.load_runs(engine).iloc[0]
    assert row["status"] == "FAILED" and not row["ok"] and "home_base" in row["error"]
    assert history.load_plan_of(engine, "bad") is None


def test_filters_by_instance_and_start_date(db_url: str):
    engine = history.connect(db_url)
    night = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    for day in range(3):
        for name in ("tiny", "surge"):
            history.record_run(engine, a_run(f"{name}{day}", name, night + timedelta(days=day)))
    assert len(history.load_runs(engine)) == 6
    assert history.load_runs(engine, instance="surge")["run_id"].tolist() == ["surge0", "surge1", "surge2"]
    assert history.load_runs(engine, since=night + timedelta(days=1))["run_id"].tolist() == [
        "surge1",
        "tiny1",
        "surge2",
        "tiny2",
    ]


def test_history_rows_match_the_run_files(db_url: str, tmp_path: Path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(TINY, inputs / "tiny.yaml")
    (inputs / "broken.yaml").write_text("name: [unclosed\n")
    out = tmp_path / "runs"
    result = run_batch([inputs], out, BatchOptions(time_limit_s=1, workers=1), db_url=db_url)
    assert result.exit_code == 1
    rows = history.load_runs(history.connect(db_url)).set_index("run_id")
    assert len(rows) == 2
    engine = history.connect(db_url)
    for folder in ("tiny", "broken"):
        run_file = json.loads((out / folder / "run.json").read_text())
        row = rows.loc[run_file["run_id"]]
        assert row["folder"] == folder and row["status"] == run_file["status"] and row["ok"] == run_file["ok"]
        assert row["input_hash"] == run_file["input_hash"] and row["batch_id"] == result.batch_id
        if run_file["ok"]:
            for field in ("service", "bound", "cost", "served", "requests"):
                assert row[field] == run_file[field], field
            for agency, counts in run_file["per_agency"].items():
                assert row[f"agency {agency} served"] == counts["served"]
                assert row[f"agency {agency} pct"] == counts["pct"]
            assert history.load_plan_of(engine, run_file["run_id"]) == json.loads(
                (out / folder / "plan.json").read_text()
            )
        else:
            assert row["error"] == run_file["error"]


def test_batch_records_into_sqlite_next_to_the_output_folder_by_default(tmp_path: Path):
    out = tmp_path / "nightly" / "runs"
    result = run("batch", TINY, "--out", out, "--time-limit", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    db = tmp_path / "nightly" / "allocator.db"
    assert db.is_file()
    shown = run("history", "--db", f"sqlite:///{db}", "--csv", tmp_path / "runs.csv")
    assert shown.exit_code == 0, shown.output
    assert "tiny" in shown.output and "CBP 67%" in shown.output and "ICE 100%" in shown.output
    header = (tmp_path / "runs.csv").read_text().splitlines()[0].split(",")
    assert {"run_id", "instance", "status", "service", "bound", "agency CBP pct", "sector TUC pct"} <= set(header)


def test_history_reads_allocator_db_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    missing = run("history")
    assert missing.exit_code == 2 and "no history database here" in missing.output
    history.record_run(history.connect(f"sqlite:///{tmp_path / 'allocator.db'}"), a_run("r1"))
    found = run("history", "--instance", "tiny", "--since", "2026-11-30")
    assert found.exit_code == 0 and "OPTIMAL" in found.output
    later = run("history", "--since", "2026-12-02")
    assert later.exit_code == 0 and "OPTIMAL" not in later.output


def test_history_rejects_a_bad_date_or_database_url_with_exit_2(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    bad_date = run("history", "--db", db, "--since", "last tuesday")
    assert bad_date.exit_code == 2 and "--since 'last tuesday': not a date" in bad_date.output
    bad_url = run("history", "--db", "nosuchdb://x/y")
    assert bad_url.exit_code == 2 and "not a usable database URL" in bad_url.output
    assert "Traceback" not in bad_url.output


def test_history_never_creates_or_changes_a_database(tmp_path: Path):
    typo = tmp_path / "typo.db"
    missing = run("history", "--db", f"sqlite:///{typo}")
    assert missing.exit_code == 2 and "no such database file" in missing.output
    assert not typo.exists()
    other = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table notes (x integer)"))
    foreign = run("history", "--db", f"sqlite:///{other}")
    assert foreign.exit_code == 2 and "no allocator run history" in foreign.output
    assert sa.inspect(engine).get_table_names() == ["notes"]


def test_agency_and_sector_names_with_spaces_show_in_the_history_table(tmp_path: Path):
    spaced = tmp_path / "spaced.yaml"
    spaced.write_text(TINY.read_text().replace("agency: ICE", "agency: US Coast Guard"))
    out = tmp_path / "runs"
    assert run("batch", spaced, "--out", out, "--time-limit", "1", "--workers", "1").exit_code == 0
    shown = run("history", "--db", f"sqlite:///{tmp_path / 'allocator.db'}")
    assert shown.exit_code == 0 and "US Coast Guard 100%" in shown.output.replace("\n", " ").replace("│", " ")


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused_since_it_would_keep_no_history(url: str):
    with pytest.raises(history.HistoryError, match="in-memory"):
        history.connect(url)


def test_a_failed_runs_error_is_printed_in_full_below_the_table_and_kept_in_the_csv(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    engine = history.connect(db)
    history.record_run(engine, a_run("good"))
    history.record_run(engine, a_run("bad", instance="bad", ok=False))
    shown = run("history", "--db", db, "--csv", tmp_path / "runs.csv")
    assert shown.exit_code == 0 and "FAILED (error below)" in shown.output, shown.output
    error = "bad.yaml: aircraft 'N1', field 'home_base': unknown base 'XYZ'."
    assert any(line.endswith(f"bad FAILED: {error}") for line in shown.output.splitlines())
    assert "wrote 2 runs to" in shown.output
    rows = {row["run_id"]: row for row in csv.DictReader((tmp_path / "runs.csv").open())}
    assert rows["bad"]["error"] == error and rows["good"]["error"] == ""


@pytest.mark.parametrize("folder", ["q?dir", "pct%41x", "h#x y", "at@host:1"])
def test_the_default_database_is_next_to_the_output_folder_whatever_its_name(
    tmp_path: Path, folder: str, monkeypatch: pytest.MonkeyPatch
):
    night = tmp_path / folder
    result = run("batch", TINY, "--out", night / "runs", "--time-limit", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in night.iterdir()) == ["allocator.db", "runs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder]  # no stray `q` or `pctAx` database
    url = history.default_url(night / "runs")
    assert url.database == str(night / "allocator.db")
    assert len(history.load_runs(history.connect(url))) == 1
    monkeypatch.chdir(night)
    shown = run("history")
    assert shown.exit_code == 0 and "OPTIMAL" in shown.output


def test_a_database_url_is_checked_without_writing_anything(tmp_path: Path):
    with pytest.raises(history.HistoryError, match="not a usable database URL"):
        history.engine_for("foo://")
    engine = history.engine_for(f"sqlite:///{tmp_path / 'later.db'}")  # no file until the schema is made
    assert not (tmp_path / "later.db").exists()
    history.open_schema(engine)
    assert (tmp_path / "later.db").is_file()


def test_a_database_file_path_given_as_db_says_how_to_write_its_url(tmp_path: Path):
    # a planner passes the file `batch` wrote: the message shows the URL to type, not SQLAlchemy's parse error
    path = tmp_path / "allocator.db"
    result = run("history", "--db", str(path))
    message = result.output.strip().replace("\n", "")
    assert result.exit_code == 2 and "Traceback" not in message
    assert message.startswith(f"--db {path}: not a database URL; for an SQLite file write sqlite:///{path} ")
    assert not path.exists()


def test_history_with_no_matching_run_says_so_instead_of_an_empty_table(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    history.record_run(history.connect(db), a_run("r1"))
    shown = run("history", "--db", db, "--instance", "elsewhere", "--since", "2026-11-30")
    assert shown.exit_code == 0 and shown.output.startswith("No runs of elsewhere started since 2026-11-30")
    assert "Runs in" not in shown.output


def test_two_batches_creating_the_schema_at_once_both_open_the_database(db_url: str):
    # the other batch creates the tables between this one's look for them and its CREATE TABLE
    other = sa.create_engine(db_url)
    raced: list[bool] = []

    def create_meanwhile(*_args: object, **_kw: object) -> None:
        if not raced:
            raced.append(True)
            history.metadata.create_all(other)

    sa.event.listen(history.runs, "before_create", create_meanwhile)
    try:
        engine = history.connect(db_url)  # was: "cannot open the database (table allocator_runs already exists)"
    finally:
        sa.event.remove(history.runs, "before_create", create_meanwhile)
        other.dispose()
    assert raced
    assert history.record_run(engine, a_run("r1")) and len(history.load_runs(engine)) == 1


def test_a_long_instance_name_is_never_cut_short_in_the_history_table(tmp_path: Path):
    # the cron mail is 160 columns wide: the name was cut to "gen-default-1d-…", so which instance was it?
    db = f"sqlite:///{tmp_path / 'h.db'}"
    engine = history.connect(db)
    name = "gen-default-1d-s3-arizona-laredo-miami"
    good = a_run("good", instance=name)
    good["per_sector"] = {s: good["per_sector"]["TUC"] for s in ("AZ", "LRD", "MIA", "RGV", "YUM")}
    history.record_run(engine, good)
    history.record_run(engine, a_run("bad", instance=name, ok=False))
    shown = run("history", "--db", db)
    assert shown.exit_code == 0 and "…" not in shown.output, shown.output
    cells = [line.split("│")[2].strip() for line in shown.output.splitlines() if line.startswith("│")]
    assert "".join(cells).count(name) == 2
