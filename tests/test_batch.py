"""`allocator batch`: a bad instance does not stop the others, results are all-or-nothing, one batch
per folder, unchanged inputs are reused, structured logs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import allocator.solver
from allocator import history
from allocator.batch import BatchOptions, batch_lock, discover, folder_names, input_hash, run_batch
from allocator.check import check
from allocator.cli import app
from allocator.io import load_instance, load_plan, write_instance
from factory import aircraft, make, request

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
runner = CliRunner()
FAST = ("--time-limit", "1", "--workers", "1")


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def small(name: str, hours: float = 10):
    """A two-helicopter, two-request instance from the test factory."""
    inst = make(
        [aircraft("H1", hours=hours), aircraft("H2", "MEDIUM", hours=hours)],
        [request("R1"), request("R2", agency="ICE", start="09:00", end="13:00")],
    )
    return inst.model_copy(update={"name": name})


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A folder with tiny.yaml and a factory instance as JSON."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    shutil.copy(TINY, folder / "tiny.yaml")
    write_instance(small("small"), folder / "small.json")
    return folder


def add_bad_file(folder: Path) -> Path:
    bad = folder / "bad.yaml"
    bad.write_text(TINY.read_text().replace("home_base: TUS", "home_base: XYZ", 1))
    return bad


def read_run(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


# -- a bad instance --------------------------------------------------------------------------------


def test_batch_of_good_instances_exits_0_with_every_file_written(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    for name in ("tiny", "small"):
        folder = out / name
        assert {p.name for p in folder.iterdir()} == {
            "plan.json",
            "sorties.csv",
            "unserved.csv",
            "report.html",
            "run.json",
        }
        run_file = read_run(folder)
        assert run_file["ok"] and run_file["status"] in ("OPTIMAL", "FEASIBLE")
        assert run_file["input_hash"] == input_hash(inputs / ("tiny.yaml" if name == "tiny" else "small.json"))
        assert run_file["software"]["allocator"] and run_file["fcfs"]["service"] is not None
        inst = load_instance(inputs / ("tiny.yaml" if name == "tiny" else "small.json"))
        assert check(inst, load_plan(folder / "plan.json")).ok
    assert read_run(out / "tiny")["service"] == 1250  # the hand-worked optimum of instances/README.md


def test_bad_instance_is_recorded_as_failed_and_the_others_succeed_with_exit_1(inputs: Path, tmp_path: Path):
    add_bad_file(inputs)
    out = tmp_path / "runs"
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 1, result.output
    failed = read_run(out / "bad")
    assert failed["status"] == "FAILED" and not failed["ok"]
    assert "bad.yaml" in failed["error"] and "home_base" in failed["error"] and "XYZ" in failed["error"]
    assert not (out / "bad" / "plan.json").exists()
    assert read_run(out / "tiny")["ok"] and read_run(out / "small")["ok"]
    summary = json.loads((out / "batch.json").read_text())
    assert {i["folder"]: i["ok"] for i in summary["instances"]} == {"bad": False, "small": True, "tiny": True}
    rows = history.load_runs(history.connect(history.default_url(out)))
    assert dict(zip(rows["folder"], rows["status"], strict=True))["bad"] == "FAILED"
    assert rows.set_index("folder").loc["bad", "error"] == failed["error"]


def test_missing_input_is_a_usage_error_with_exit_2(tmp_path: Path):
    result = run("batch", tmp_path / "nope.yaml", "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert "nope.yaml: no such file or folder." in result.output
    assert not (tmp_path / "runs").exists()


# -- all or nothing ----------------------------------------------------------------------------------

KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import allocator.batch as batch

    def die(instance, plan, path, fcfs=None, verdict=None):
        # plan.json and the CSVs are written by now: the worst moment to be killed
        assert (Path(path).parent / "plan.json").exists()
        os.kill(os.getpid(), signal.SIGKILL)

    batch.write_report = die
    batch.run_batch([Path(sys.argv[1])], Path(sys.argv[2]),
                    batch.BatchOptions(time_limit_s=1, workers=1, force=True))
    """
)


def kill_mid_run(inputs: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(inputs), str(out)], capture_output=True, text=True, timeout=120
    )


def test_killed_run_leaves_no_plan_that_looks_complete(tmp_path: Path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(TINY, inputs / "tiny.yaml")
    out = tmp_path / "runs"
    killed = kill_mid_run(inputs, out)
    assert killed.returncode == -9, killed.stderr
    assert not (out / "tiny").exists()  # the half-made results never left the staging area
    assert not list(out.glob("*/run.json"))
    result = run("batch", inputs, "--out", out, *FAST)  # the next batch cleans up and solves
    assert result.exit_code == 0, result.output
    assert read_run(out / "tiny")["ok"] and not (out / ".staging").exists()


def test_killed_rerun_keeps_the_previous_complete_results(tmp_path: Path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(TINY, inputs / "tiny.yaml")
    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    before = read_run(out / "tiny")
    plan_before = (out / "tiny" / "plan.json").read_bytes()
    assert kill_mid_run(inputs, out).returncode == -9
    assert read_run(out / "tiny")["run_id"] == before["run_id"]
    assert (out / "tiny" / "plan.json").read_bytes() == plan_before
    rerun = run("batch", inputs, "--out", out, *FAST)
    assert rerun.exit_code == 0 and "reused" in rerun.output


def test_crash_inside_one_instance_is_a_failed_run_without_plan(inputs: Path, tmp_path: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("allocator.batch.write_report", broken)
    out = tmp_path / "runs"
    result = run_batch([inputs], out, BatchOptions(time_limit_s=1, workers=1))
    assert result.exit_code == 1
    for name in ("tiny", "small"):
        run_file = read_run(out / name)
        assert run_file["status"] == "FAILED" and "disk on fire" in run_file["error"]
        assert not (out / name / "plan.json").exists()


# -- one batch per folder --------------------------------------------------------------------------------


def test_second_batch_on_a_locked_folder_refuses_with_exit_2(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    out.mkdir()
    with batch_lock(out):
        result = run("batch", inputs, "--out", out, *FAST)
        assert result.exit_code == 2
        assert "another batch is running on this folder" in result.output
        assert f"pid {os.getpid()}" in result.output
        assert not (out / "tiny").exists() and not (out / "batch.json").exists()
    after = run("batch", inputs, "--out", out, *FAST)  # the lock is released with its holder
    assert after.exit_code == 0, after.output


def test_lock_held_by_another_process_is_refused(tmp_path: Path):
    out = tmp_path / "runs"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from allocator.batch import batch_lock\n"
            "with batch_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run("batch", TINY, "--out", out, *FAST)
        assert result.exit_code == 2 and f"pid {holder.pid}" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert run("batch", TINY, "--out", out, *FAST).exit_code == 0  # a dead holder leaves no stale lock


# -- reuse ---------------------------------------------------------------------------------------------


def count_solves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = allocator.solver.solve

    def counting(instance, options=None):
        calls.append(instance.name)
        return real(instance, options)

    monkeypatch.setattr(allocator.solver, "solve", counting)
    return calls


def test_unchanged_inputs_are_reused_and_force_solves_again(inputs: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "runs"
    calls = count_solves(monkeypatch)
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    assert sorted(calls) == ["small", "tiny"]
    first = read_run(out / "tiny")

    again = run("batch", inputs, "--out", out, *FAST)
    assert again.exit_code == 0 and again.output.count("reused") >= 2
    assert sorted(calls) == ["small", "tiny"]  # not solved again
    assert read_run(out / "tiny")["run_id"] == first["run_id"]

    forced = run("batch", inputs, "--out", out, *FAST, "--force")
    assert forced.exit_code == 0
    assert sorted(calls) == ["small", "small", "tiny", "tiny"]
    assert read_run(out / "tiny")["run_id"] != first["run_id"]


def test_changed_input_or_settings_or_damaged_results_are_solved_again(inputs: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "runs"
    calls = count_solves(monkeypatch)
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    write_instance(small("small", hours=9), inputs / "small.json")  # changed input
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    assert sorted(calls) == ["small", "small", "tiny"]
    (out / "tiny" / "sorties.csv").write_text("tampered\n")  # results no longer match run.json
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    assert sorted(calls) == ["small", "small", "tiny", "tiny"]
    assert run("batch", inputs, "--out", out, "--time-limit", "2", "--workers", "1").exit_code == 0  # settings
    assert len(calls) == 6


# -- parallel jobs and logs -----------------------------------------------------------------------------


def test_jobs_solve_in_parallel_processes(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    result = run_batch([inputs], out, BatchOptions(time_limit_s=1, jobs=2))
    assert result.exit_code == 0
    assert {o.name for o in result.outcomes} == {"tiny", "small"}
    assert all(read_run(out / o.name)["workers"] == max(1, (os.cpu_count() or 1) // 2) for o in result.outcomes)
    for o in result.outcomes:
        assert check(load_instance(o.input), load_plan(o.folder / "plan.json")).ok


def test_log_json_writes_one_json_object_per_line(inputs: Path, tmp_path: Path):
    add_bad_file(inputs)
    out = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "allocator", "batch", str(inputs), "--out", str(out), *FAST, "--log-json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    events = [entry.get("event") for entry in lines]
    assert events[0] == "batch_start" and events[-1] == "batch_done"
    assert events.count("instance_done") == 2 and events.count("instance_failed") == 1
    failed = next(e for e in lines if e.get("event") == "instance_failed")
    assert failed["level"] == "WARNING" and "home_base" in failed["error"]
    assert lines[-1]["exit_code"] == 1 and lines[-1]["failed"] == 1


# -- inputs ----------------------------------------------------------------------------------------------


def test_discover_finds_files_and_csv_folders_but_not_other_files():
    found = discover([ROOT / "instances"])
    assert [p.name for p in found] == ["arizona-surge.yaml", "three-sector-day.json", "tiny-csv", "tiny.yaml"]


def test_two_inputs_with_one_instance_name_get_distinct_folders():
    csv, yaml_ = ROOT / "instances" / "tiny-csv", ROOT / "instances" / "tiny.yaml"
    assert folder_names([(csv, "tiny"), (yaml_, "tiny")]) == ["tiny-csv", "tiny"]
    assert folder_names([(Path("a.json"), "day"), (Path("b.json"), "day")]) == ["day", "b"]
    assert folder_names([(Path("broken.yaml"), None)]) == ["broken"]
    # never the batch's own summary file
    assert folder_names([(Path("batch.json.yaml"), "batch.json")]) == ["batch.json-2"]


def test_a_folder_that_is_not_a_batch_result_is_never_replaced(tmp_path: Path):
    out = tmp_path / "runs"
    (out / "tiny").mkdir(parents=True)
    (out / "tiny" / "notes.txt").write_text("the chief's notes")
    result = run("batch", TINY, "--out", out, *FAST)
    assert result.exit_code == 1
    (entry,) = json.loads((out / "batch.json").read_text())["instances"]
    assert not entry["ok"] and "is not a batch result" in entry["error"]
    assert [p.name for p in (out / "tiny").iterdir()] == ["notes.txt"]


def test_a_file_where_the_results_folder_would_go_is_never_replaced(tmp_path: Path):
    out = tmp_path / "runs"
    out.mkdir()
    (out / "tiny").write_text("the chief's notes")
    result = run("batch", TINY, "--out", out, *FAST)
    assert result.exit_code == 1 and "Traceback" not in result.output
    (entry,) = json.loads((out / "batch.json").read_text())["instances"]
    assert not entry["ok"] and "is not a batch result" in entry["error"]
    assert (out / "tiny").read_text() == "the chief's notes"
