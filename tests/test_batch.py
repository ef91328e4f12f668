"""`allocator batch`: a bad instance does not stop the others, results are all-or-nothing, one batch
per folder, unchanged inputs are reused, structured logs."""

from __future__ import annotations

import errno
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
from allocator.batch import BatchError, BatchOptions, batch_lock, discover, folder_names, input_hash, run_batch
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


def tiny_inbox(tmp_path: Path) -> tuple[Path, Path]:
    """An input folder holding a copy of the tiny instance, and the results folder next to it."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(TINY, inputs / "tiny.yaml")
    return inputs, tmp_path / "runs"


def test_killed_run_leaves_no_plan_that_looks_complete(tmp_path: Path):
    inputs, out = tiny_inbox(tmp_path)
    killed = kill_mid_run(inputs, out)
    assert killed.returncode == -9, killed.stderr
    assert not (out / "tiny").exists()  # the half-made results never left the staging area
    assert not list(out.glob("*/run.json"))
    result = run("batch", inputs, "--out", out, *FAST)  # the next batch cleans up and solves
    assert result.exit_code == 0, result.output
    assert read_run(out / "tiny")["ok"] and not (out / ".staging").exists()


def test_killed_rerun_keeps_the_previous_complete_results(tmp_path: Path):
    inputs, out = tiny_inbox(tmp_path)
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


def test_an_instance_with_the_longest_name_is_solved_and_does_not_stop_the_batch(tmp_path: Path):
    # a 240-character name once made the staging folder's name (folder name + ".<run id>") pass the 255-byte
    # limit: OSError, traceback, and none of the instances after it ran; names are now at most 200 characters
    inputs, out = tiny_inbox(tmp_path)
    write_instance(small("L" * 200), inputs / "long.json")
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in out.iterdir() if p.name.startswith("L")]
    assert folder.name == "L" * 200 and read_run(folder)["instance"] == "L" * 200
    assert read_run(out / "tiny")["ok"]


def test_long_instance_names_get_distinct_folder_names_of_at_most_200_characters():
    names = folder_names([(Path("a.json"), "x" * 300), (Path("b.json"), "x" * 300 + "y"), (Path("c.json"), "x" * 300)])
    assert names == ["x" * 200, "b", "c"]
    names = folder_names([(Path("x" * 250 + ".json"), "x" * 250), (Path("y" * 250 + ".json"), "x" * 250)])
    assert names == ["x" * 200, "y" * 200]
    twins = [(Path(folder) / ("z" * 250 + ".json"), "z" * 250) for folder in ("d1", "d2", "d3")]
    assert folder_names(twins) == ["z" * 200, "z" * 198 + "-2", "z" * 198 + "-3"]


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


# -- nothing skipped without a trace (review of 2026-12-06) ------------------------------------------------


def test_a_csv_folder_without_instance_csv_and_a_broken_link_are_failed_rows(
    inputs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    shutil.copytree(ROOT / "instances" / "tiny-csv", inputs / "half-csv")
    (inputs / "half-csv" / "instance.csv").unlink()
    (inputs / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    (inputs / "notes.txt").symlink_to(tmp_path / "nowhere.txt")  # not named like an instance: ignored
    (inputs / "nested").mkdir()
    shutil.copy(TINY, inputs / "nested" / "deep.yaml")  # one level deep only: skipped, with a warning
    out = tmp_path / "runs"
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 1, result.output
    half, gone = read_run(out / "half-csv"), read_run(out / "gone")
    assert half["status"] == "FAILED" and "half-csv/instance.csv: no such file" in half["error"]
    assert gone["status"] == "FAILED"
    target = tmp_path / "nowhere.yaml"
    assert gone["error"] == f"{inputs / 'gone.yaml'}: is a broken symbolic link (its target {target} does not exist)."
    rows = {i["folder"]: i["ok"] for i in json.loads((out / "batch.json").read_text())["instances"]}
    assert rows == {"gone": False, "half-csv": False, "small": True, "tiny": True}
    skipped = [r for r in caplog.records if getattr(r, "data", {}).get("event") == "input_skipped"]
    assert [r.data["input"] for r in skipped] == [str(inputs / "nested")]
    assert "one level deep" in skipped[0].getMessage()


def test_a_csv_looking_folder_given_by_name_is_a_failed_instance(tmp_path: Path):
    half = tmp_path / "half-csv"
    shutil.copytree(ROOT / "instances" / "tiny-csv", half)
    (half / "instance.csv").unlink()
    result = run("batch", half, "--out", tmp_path / "runs", *FAST)
    assert result.exit_code == 1 and read_run(tmp_path / "runs" / "half-csv")["status"] == "FAILED"


def test_a_broken_link_given_by_name_is_a_usage_error(tmp_path: Path):
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    result = run("batch", tmp_path / "gone.yaml", "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "gone.yaml: is a broken symbolic link" in result.output
    assert not (tmp_path / "runs").exists()


# -- the results folder inside or equal to an input folder ----------------------------------------------


@pytest.mark.parametrize("where", ["inside", "equal"])
def test_the_results_folder_is_never_read_as_instances_the_next_night(inputs: Path, where: str, monkeypatch):
    out = inputs / "runs" if where == "inside" else inputs
    calls = count_solves(monkeypatch)
    first = run("batch", inputs, "--out", out, *FAST)
    assert first.exit_code == 0, first.output
    second = run("batch", inputs, "--out", out, *FAST)
    assert second.exit_code == 0, second.output
    assert sorted(calls) == ["small", "tiny"]  # the second night reused both and found nothing else
    summary = json.loads((out / "batch.json").read_text())
    assert sorted(i["folder"] for i in summary["instances"]) == ["small", "tiny"]
    assert all(i["reused"] for i in summary["instances"])


def test_discover_skips_what_a_batch_wrote_into_the_results_folder(tmp_path: Path):
    out = tmp_path / "runs"
    (out / "tiny").mkdir(parents=True)
    (out / "tiny" / "run.json").write_text("{}")
    (out / "tiny" / "plan.json").write_text("{}")
    (out / "batch.json").write_text("{}")
    (out / "mine").mkdir()  # a CSV-looking folder that is not a batch result: an input
    (out / "mine" / "bases.csv").write_text("id\n")
    shutil.copy(TINY, out / "new.yaml")
    assert [p.name for p in discover([out], out)] == ["mine", "new.yaml"]
    with pytest.raises(BatchError, match="no instance files"):
        discover([tmp_path], out)  # the results folder inside an input folder is skipped
    found = discover([out / "batch.json", out / "tiny" / "plan.json", out / "new.yaml"], out)
    assert [p.name for p in found] == ["new.yaml"]
    with pytest.raises(BatchError, match="no instance files"):
        discover([out / "tiny"], out)


# -- Ctrl-C ------------------------------------------------------------------------------------------------

CTRL_C = textwrap.dedent(
    """
    import os, signal, sys
    import allocator.history
    import allocator.solver

    real = allocator.solver.solve

    def solve(instance, options=None):
        if instance.name == "tiny":  # Ctrl-C (or STOP_SIGNAL) while the second instance is solved
            os.kill(os.getpid(), getattr(signal, os.environ.get("STOP_SIGNAL", "SIGINT")))
        return real(instance, options)

    allocator.solver.solve = solve
    if os.environ.get("BREAK_HISTORY"):

        def record_run(engine, run, plan=None):
            message = f"cannot record run {run['run_id']} in the history (database is locked)."
            raise allocator.history.HistoryError(message)

        allocator.history.record_run = record_run
    from allocator.cli import main

    sys.argv = ["allocator", *sys.argv[1:]]
    main()
    """
)


def allocator_process(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`allocator ARGS` in a process of its own, Ctrl-C sent to itself while `tiny` is solved."""
    return subprocess.run(
        [sys.executable, "-c", CTRL_C, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def json_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]  # every line: one JSON object


def test_ctrl_c_writes_batch_json_for_what_finished_and_releases_the_lock(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    yesterday = read_run(out / "tiny")
    proc = allocator_process("batch", inputs, "--out", out, *FAST, "--force", "--log-json")
    assert proc.returncode == 130, proc.stderr
    lines = json_lines(proc.stderr)
    last = lines[-1]
    assert last["event"] == "batch_interrupted" and "interrupted" in last["message"]
    assert (last["ok"], last["not_finished"], last["exit_code"]) == (1, 1, 130)
    summary = json.loads((out / "batch.json").read_text())
    assert summary["interrupted"] and summary["batch_id"] == last["batch_id"]
    assert [i["folder"] for i in summary["instances"]] == ["small"]
    assert summary["not_finished"] == [str(inputs / "tiny.yaml")]
    assert read_run(out / "small")["batch_id"] == summary["batch_id"]  # what finished is this batch's
    assert read_run(out / "tiny") == yesterday  # the instance being solved was discarded
    assert not (out / ".allocator-batch.lock").exists() and not (out / ".staging").exists()
    again = run("batch", inputs, "--out", out, *FAST)
    assert again.exit_code == 0, again.output


def test_ctrl_c_says_interrupted_in_text_mode(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    proc = allocator_process("batch", inputs, "--out", out, *FAST)
    assert proc.returncode == 130
    assert f"interrupted: 1 of 2 instances finished, listed in {out / 'batch.json'}" in proc.stderr
    assert "Traceback" not in proc.stderr and "small" in proc.stdout
    assert json.loads((out / "batch.json").read_text())["interrupted"]


def test_sigterm_stops_the_batch_as_ctrl_c_does_with_batch_json_and_exit_143(inputs: Path, tmp_path: Path):
    # systemd stopping the unit, `timeout`, a shutdown: killed outright, the batch left last night's
    # batch.json in place, its lock file and staging folder behind, and no line in the log
    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    yesterday = read_run(out / "tiny")
    proc = allocator_process(
        "batch", inputs, "--out", out, *FAST, "--force", "--log-json", env={"STOP_SIGNAL": "SIGTERM"}
    )
    assert proc.returncode == 143, proc.stderr
    last = json_lines(proc.stderr)[-1]
    assert (last["event"], last["signal"], last["exit_code"]) == ("batch_interrupted", "SIGTERM", 143)
    assert last["message"].startswith("interrupted by SIGTERM: 1 of 2 instances finished")
    summary = json.loads((out / "batch.json").read_text())
    assert summary["interrupted"] and summary["signal"] == "SIGTERM" and summary["batch_id"] == last["batch_id"]
    assert [i["folder"] for i in summary["instances"]] == ["small"]
    assert read_run(out / "tiny") == yesterday  # the instance being solved was discarded
    assert not (out / ".allocator-batch.lock").exists() and not (out / ".staging").exists()


STOPPED_WORKER = textwrap.dedent(
    """
    import logging, os, signal, time
    import allocator.batch as batch

    batch._init_worker(logging.INFO, False)
    os.kill(os.getpid(), signal.SIGTERM)  # between instances: ignored, as Ctrl-C is (the batch stops it)
    time.sleep(0.2)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as `solve_one` does while it solves
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        print("still solving")
    except KeyboardInterrupt:
        print("instance discarded")
    """
)


def test_sigterm_to_a_jobs_worker_discards_its_instance_instead_of_killing_the_worker():
    # systemd signals every process of the unit: a worker that died of it made a BrokenProcessPool,
    # and its instance was published as FAILED over the last good results
    proc = subprocess.run([sys.executable, "-c", STOPPED_WORKER], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "instance discarded"), proc.stderr


# -- --log-json: every line on standard error is JSON ---------------------------------------------------


def test_log_json_makes_usage_errors_and_history_errors_json_too(inputs: Path, tmp_path: Path):
    out = tmp_path / "runs"
    usage = allocator_process("batch", inputs, "--out", out, "--jobs", "0", "--log-json")
    assert usage.returncode == 2
    (line,) = json_lines(usage.stderr)
    assert line["event"] == "usage_error" and line["level"] == "ERROR" and line["exit_code"] == 2
    assert "allocator batch: Invalid value for '--jobs'" in line["message"]
    missing = allocator_process("batch", tmp_path / "nope.yaml", "--out", out, "--log-json")
    assert missing.returncode == 2
    (line,) = json_lines(missing.stderr)
    assert line["event"] == "batch_error" and line["message"] == f"{tmp_path / 'nope.yaml'}: no such file or folder."
    assert not out.exists()

    broken = allocator_process(
        "batch", inputs / "small.json", "--out", out, *FAST, "--log-json", env={"BREAK_HISTORY": "1"}
    )
    assert broken.returncode == 1, broken.stderr
    lines = json_lines(broken.stderr)
    (error,) = [e for e in lines if e.get("event") == "history_error"]
    assert error["instance"] == "small" and "database is locked" in error["message"]
    done = lines[-1]
    assert done["event"] == "batch_done" and done["not_recorded"] == 1 and done["exit_code"] == 1
    assert done["wall_time_s"] > 0
    assert "1 ok (0 reused), 0 failed, 1 not recorded in the history" in broken.stdout


def test_unrecorded_runs_are_counted_and_exit_1(inputs: Path, tmp_path: Path, monkeypatch):
    def locked(engine, run, plan=None):
        raise history.HistoryError(f"cannot record run {run['run_id']} in the history (database is locked).")

    monkeypatch.setattr(history, "record_run", locked)
    out = tmp_path / "runs"
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 1
    assert "2 ok (0 reused), 0 failed, 2 not recorded in the history" in result.output
    summary = json.loads((out / "batch.json").read_text())
    assert summary["not_recorded"] == 2 and not any(i["recorded"] for i in summary["instances"])


def test_solver_log_lines_name_their_instance_with_two_jobs(inputs: Path, tmp_path: Path):
    args = ["batch", str(inputs), "--out", str(tmp_path / "runs"), "--time-limit", "1", "--jobs", "2", "--log-json"]
    proc = subprocess.run(
        [sys.executable, "-m", "allocator", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    solver = [e for e in json_lines(proc.stderr) if e["logger"].startswith("allocator.solver")]
    assert solver and all(e.get("instance") in ("tiny", "small") for e in solver)
    assert {e["instance"] for e in solver} == {"tiny", "small"}


# -- exit 2 writes nothing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("db", ["foo://", "sqlite:////nonexistent/folder/history.db"])
def test_a_database_that_cannot_be_used_leaves_nothing_behind(tmp_path: Path, db: str):
    fresh = tmp_path / "nightly" / "runs"
    result = run("batch", TINY, "--out", fresh, "--db", db, *FAST)
    assert result.exit_code == 2 and "--db" in result.output
    assert not (tmp_path / "nightly").exists()
    existing = tmp_path / "runs"
    existing.mkdir()
    assert run("batch", TINY, "--out", existing, "--db", db, *FAST).exit_code == 2
    assert list(existing.iterdir()) == []  # no lock file left behind


def test_the_lock_file_exists_only_while_a_batch_runs(tmp_path: Path):
    out = tmp_path / "runs"
    out.mkdir()
    with batch_lock(out) as lock:
        assert f"pid {os.getpid()}" in lock.read_text()
    assert not lock.exists()
    with pytest.raises(KeyboardInterrupt), batch_lock(out):
        raise KeyboardInterrupt
    assert not lock.exists()
    assert run("batch", TINY, "--out", out, *FAST).exit_code == 0
    assert not lock.exists()


# -- a broken input replaces the results folder --------------------------------------------------------------


def test_a_failed_run_names_the_last_good_run_it_replaces(tmp_path: Path):
    inputs, out = tiny_inbox(tmp_path)
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    good = read_run(out / "tiny")
    (inputs / "tiny.yaml").write_text("name: [unclosed\n")
    for _night in range(2):  # two bad nights in a row still point to the last good one
        assert run("batch", inputs, "--out", out, *FAST).exit_code == 1
        failed = read_run(out / "tiny")
        assert failed["status"] == "FAILED" and [p.name for p in (out / "tiny").iterdir()] == ["run.json"]
        assert failed["last_good_run"]["run_id"] == good["run_id"]
        assert failed["last_good_run"]["status"] == good["status"]
    engine = history.connect(history.default_url(out))
    assert history.load_plan_of(engine, good["run_id"])["objective"]["service"] == good["service"]


# -- disk full, permissions: one instance fails, not the batch (review of 2026-12-07) ----------------------


def no_space(path: object) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fail_writing(monkeypatch: pytest.MonkeyPatch, writer: str, when) -> None:
    """`allocator.batch.<writer>` raises ENOSPC for the paths `when(path)` is true of."""
    import allocator.batch

    real = getattr(allocator.batch, writer)

    def full(*args, **kwargs):
        path = Path(next(a for a in args if isinstance(a, (str, Path))))
        if when(path):
            raise no_space(path)
        return real(*args, **kwargs)

    monkeypatch.setattr(allocator.batch, writer, full)


def history_of(out: Path):
    engine = history.connect(history.default_url(out))
    return engine, history.load_runs(engine).set_index("run_id")


def test_a_disk_full_while_writing_one_instance_fails_that_instance_and_the_batch_goes_on(
    inputs: Path, tmp_path: Path, monkeypatch
):
    out = tmp_path / "runs"
    fail_writing(monkeypatch, "write_report", lambda path: path.parent.name.startswith("tiny."))
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    failed = read_run(out / "tiny")
    assert failed["status"] == "FAILED" and failed["files"] == {}
    assert failed["error"] == f"{out / 'tiny' / 'report.html'}: cannot be written (No space left on device)."
    assert [p.name for p in (out / "tiny").iterdir()] == ["run.json"]  # no plan.json it does not vouch for
    assert read_run(out / "small")["ok"]
    summary = json.loads((out / "batch.json").read_text())
    assert {i["folder"]: i["error"] for i in summary["instances"]} == {"small": None, "tiny": failed["error"]}
    engine, runs = history_of(out)
    assert runs.loc[failed["run_id"], "status"] == "FAILED" and runs.loc[failed["run_id"], "error"] == failed["error"]
    assert history.load_plan_of(engine, failed["run_id"]) is None
    assert not (out / ".staging").exists()


def test_a_run_json_that_cannot_be_written_leaves_the_previous_results_intact_and_records_no_plan(
    inputs: Path, tmp_path: Path, monkeypatch
):
    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    good = read_run(out / "tiny")
    before = {p.name: p.read_bytes() for p in (out / "tiny").iterdir()}
    fail_writing(
        monkeypatch, "atomic_write_text", lambda path: path.name == "run.json" and path.parent.name.startswith("tiny.")
    )
    result = run_batch([inputs], out, BatchOptions(time_limit_s=1, workers=1, force=True))
    assert result.exit_code == 1
    (tiny,) = [o for o in result.outcomes if o.name == "tiny"]
    assert tiny.run["status"] == "FAILED" and tiny.run["files"] == {}
    assert tiny.run["error"] == (
        f"{out / 'tiny' / 'run.json'}: cannot be written (No space left on device); "
        f"{out / 'tiny'} keeps its previous results."
    )
    assert {p.name: p.read_bytes() for p in (out / "tiny").iterdir()} == before  # last night's, whole
    assert read_run(out / "small")["ok"] and read_run(out / "small")["run_id"] != read_run(out / "tiny")["run_id"]
    summary = json.loads((out / "batch.json").read_text())
    assert {i["folder"]: i["ok"] for i in summary["instances"]} == {"small": True, "tiny": False}
    engine, runs = history_of(out)
    assert runs.loc[tiny.run["run_id"], "status"] == "FAILED"
    assert history.load_plan_of(engine, tiny.run["run_id"]) is None  # not last night's plan under tonight's run
    assert history.load_plan_of(engine, good["run_id"]) is not None
    monkeypatch.undo()
    again = run_batch([inputs], out, BatchOptions(time_limit_s=1, workers=1))  # the complete folder is reusable
    assert {o.name: o.reused for o in again.outcomes} == {"small": True, "tiny": True}
    assert read_run(out / "tiny")["run_id"] == good["run_id"]


@pytest.mark.parametrize("step", ["moving the old folder aside", "moving the new folder into place"])
def test_a_results_folder_that_cannot_be_replaced_is_left_as_it_was(inputs: Path, tmp_path: Path, monkeypatch, step):
    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    good = read_run(out / "tiny")
    real = Path.rename

    def refuse(self: Path, target):
        aside = self == out / "tiny"
        into_place = Path(target) == out / "tiny" and not self.name.endswith(".old")  # moving back is allowed
        if aside if step.startswith("moving the old") else into_place:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(self, target)

    monkeypatch.setattr(Path, "rename", refuse)
    result = run_batch([inputs], out, BatchOptions(time_limit_s=1, workers=1, force=True))
    assert result.exit_code == 1
    (tiny,) = [o for o in result.outcomes if o.name == "tiny"]
    assert tiny.run["error"] == (
        f"{out / 'tiny'}: cannot be replaced (Permission denied); {out / 'tiny'} keeps its previous results."
    )
    assert read_run(out / "tiny") == good and (out / "tiny" / "plan.json").is_file()
    assert read_run(out / "small")["batch_id"] == result.batch_id
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_where_the_staging_folder_must_go_fails_each_instance_with_a_sentence(
    inputs: Path, tmp_path: Path, monkeypatch, jobs: str
):
    out = tmp_path / "runs"
    out.mkdir()
    (out / ".staging").write_text("not a folder")
    calls = count_solves(monkeypatch)
    result = run("batch", inputs, "--out", out, *FAST, "--jobs", jobs)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    summary = json.loads((out / "batch.json").read_text())
    assert {i["folder"]: i["error"] for i in summary["instances"]} == {
        name: f"{out / '.staging'}: cannot create the staging folder of {name} (Not a directory); "
        f"{out / name} was not created."
        for name in ("small", "tiny")
    }
    assert calls == []  # failed before solving, not after the time limit
    assert sorted(p.name for p in out.iterdir()) == [".staging", "batch.json"]
    _, runs = history_of(out)
    assert list(runs["status"]) == ["FAILED", "FAILED"]


def test_a_batch_json_that_cannot_be_written_exits_2_with_one_sentence(inputs: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "runs"
    (out / "batch.json").mkdir(parents=True)  # a folder where the file must go
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    sentence = f"{out / 'batch.json'}: cannot be written (Is a directory), so no batch.json lists this batch's 2"
    assert f"{sentence} finished instances." in result.output
    assert read_run(out / "tiny")["ok"] and read_run(out / "small")["ok"]

    (out / "batch.json").rmdir()
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    fail_writing(monkeypatch, "atomic_write_text", lambda path: path.name == "batch.json")
    full = run("batch", inputs, "--out", out, *FAST, "--force")
    assert full.exit_code == 2 and "batch.json: cannot be written (No space left on device)" in full.output
    assert not (out / "batch.json").exists()  # last night's must not pass for tonight's


def test_a_lock_file_that_cannot_be_written_is_exit_2_with_nothing_left_behind(tmp_path: Path, monkeypatch):
    def full(fd: int, data: bytes, offset: int) -> int:
        raise no_space(fd)

    monkeypatch.setattr(os, "pwrite", full)
    out = tmp_path / "nightly" / "runs"
    result = run("batch", TINY, "--out", out, *FAST)
    assert result.exit_code == 2, result.output
    assert f"{out}: cannot write in the output folder (No space left on device)." in result.output
    assert not (tmp_path / "nightly").exists()


def test_an_unreadable_stored_result_is_solved_again_instead_of_stopping_the_batch(
    inputs: Path, tmp_path: Path, monkeypatch
):
    import allocator.batch

    out = tmp_path / "runs"
    assert run("batch", inputs, "--out", out, *FAST).exit_code == 0
    calls = count_solves(monkeypatch)
    real = allocator.batch._sha256

    def unreadable(path: Path) -> str:
        if path == out / "tiny" / "plan.json":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path)

    monkeypatch.setattr(allocator.batch, "_sha256", unreadable)
    result = run("batch", inputs, "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    assert calls == ["tiny"]  # small is reused, tiny solved again
    assert read_run(out / "tiny")["ok"]
