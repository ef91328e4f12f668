"""The command line through typer's runner (and one real process for Ctrl-C)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator.check import check
from allocator.cli import app
from allocator.io import load_instance, load_plan

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_solve_writes_a_plan_that_passes_check(tmp_path: Path):
    plan = tmp_path / "plan.json"
    sorties = tmp_path / "sorties.csv"
    result = run("solve", TINY, "-o", plan, "--time-limit", "10", "--workers", "2", "--csv", sorties)
    assert result.exit_code == 0, result.output
    assert "FCFS baseline" in result.output and "OPTIMAL" in result.output
    assert check(load_instance(TINY), load_plan(plan)).ok
    assert sorties.read_text().startswith("aircraft,request,base,takeoff")
    checked = run("check", TINY, plan)
    assert checked.exit_code == 0 and "valid" in checked.output


def test_solve_with_the_pattern_bound_records_it_and_still_proves_tiny(tmp_path: Path):
    plan = tmp_path / "plan.json"
    result = run("solve", TINY, "--pattern-bound", "--workers", "2", "--time-limit", "5", "-o", plan)
    assert result.exit_code == 0, result.output
    loaded = load_plan(plan)
    assert loaded.run["pattern_bound"] is True and loaded.status == "OPTIMAL"
    assert check(load_instance(TINY), loaded).ok
    plain = tmp_path / "plain.json"
    assert run("solve", TINY, "--workers", "2", "--time-limit", "5", "-o", plain).exit_code == 0
    assert load_plan(plain).run["pattern_bound"] is False  # off by default


def test_solve_fcfs_method_writes_the_baseline(tmp_path: Path):
    plan = tmp_path / "fcfs.json"
    result = run("solve", TINY, "--method", "fcfs", "-o", plan)
    assert result.exit_code == 0, result.output
    loaded = load_plan(plan)
    assert loaded.run["method"] == "fcfs"
    assert check(load_instance(TINY), loaded).ok


def test_check_reports_violations_and_exits_1(tmp_path: Path):
    plan = tmp_path / "plan.json"
    assert run("solve", TINY, "-o", plan, "--time-limit", "10", "--workers", "2").exit_code == 0
    doc = json.loads(plan.read_text())
    doc["objective"]["service"] += 1
    doc["sorties"][0]["landing"] = doc["sorties"][0]["on_station"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run("check", TINY, bad)
    assert result.exit_code == 1
    assert "[5-objective]" in result.output and "[4.3]" in result.output
    lines = result.output.splitlines()
    assert len(lines) == len(set(lines))  # each violation once


def test_bad_instance_exits_2_with_one_sentence_and_overwrites_nothing(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("home_base: TUS", "home_base: XXX"))
    plan = tmp_path / "plan.json"
    plan.write_text("keep me")
    result = run("solve", bad, "-o", plan)
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert str(bad) in message and "N125AZ" in message and "home_base" in message
    assert plan.read_text() == "keep me"


def test_missing_plan_file_exits_2(tmp_path: Path):
    result = run("check", TINY, tmp_path / "nope.json")
    assert result.exit_code == 2
    assert "nope.json" in result.output


def test_unknown_method_is_a_usage_error():
    assert run("solve", TINY, "--method", "magic").exit_code == 2


def test_schema_prints_the_instance_json_schema():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert {"horizon", "bases", "aircraft", "requests"} <= set(schema["properties"])


def test_generate_writes_a_valid_instance(tmp_path: Path):
    target = tmp_path / "gen.yaml"
    result = run("generate", "--seed", "3", "--aircraft", "6", "--requests", "12", "-o", target)
    assert result.exit_code == 0, result.output
    inst = load_instance(target)
    assert len(inst.aircraft) == 6 and len(inst.requests) == 12


def test_generate_to_stdout_is_json():
    result = run("generate", "--seed", "1", "--aircraft", "4", "--requests", "5")
    assert result.exit_code == 0
    assert json.loads(result.output)["name"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_writes_the_incumbent(tmp_path: Path):
    instance = tmp_path / "big.json"
    assert run("generate", "--seed", "5", "--days", "2", "-o", instance).exit_code == 0
    plan = tmp_path / "plan.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allocator",
            "solve",
            str(instance),
            "-o",
            str(plan),
            "--time-limit",
            "120",
            "--workers",
            "2",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and str(plan) in err
    assert check(load_instance(instance), load_plan(plan)).ok


@pytest.mark.parametrize("where", ["notes.txt", "missing/x.yaml", "folder.json", "afile"])
def test_generate_refuses_an_output_path_it_cannot_write_an_instance_to(tmp_path: Path, where: str):
    (tmp_path / "folder.json").mkdir()
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "notes.txt").write_text("keep me")
    result = run("generate", "--days", "1", "--aircraft", "4", "--requests", "5", "-o", tmp_path / where)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not (tmp_path / "missing").exists()
    assert (tmp_path / "afile").read_text() == (tmp_path / "notes.txt").read_text() == "keep me"


def test_generate_to_a_device_says_it_is_not_a_folder_not_that_it_is_a_file():
    result = run("generate", "--days", "1", "--aircraft", "4", "--requests", "5", "-o", "/dev/null")
    assert result.exit_code == 2
    assert result.output.strip().startswith("/dev/null: is not a folder; a folder of CSV tables needs a folder path")


@pytest.mark.parametrize(
    "args, says",
    [
        (["solve", "instances/tiny.yaml", "--workers", "0"], "Invalid value for '--workers'"),
        (["solve", "instances/tiny.yaml", "--workers", "100000000000"], "Invalid value for '--workers'"),
        (["solve", "instances/tiny.yaml", "--method", "magic"], "Invalid value for '--method'"),
        (["solve", "instances/tiny.yaml", "--seed", "100000000000000000000"], "Invalid value for '--seed'"),
        (["solve"], "Missing argument"),
        (["bogus"], "No such command"),
        (["solve", "instances/tiny.yaml", "--nope"], "No such option"),
    ],
)
def test_the_installed_command_states_a_usage_error_in_one_sentence(args: list[str], says: str):
    # through the console script's entry point (typer's runner bypasses it)
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "allocator", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "--help" in lines[0], done.stderr


def _one_sentence_exit_2(result) -> str:
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    return result.output


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path: Path):
    instance = tmp_path / "tiny.yaml"
    instance.write_text(TINY.read_text())
    said = _one_sentence_exit_2(run("solve", instance, "-o", instance, "--time-limit", "2"))
    assert "would overwrite the input" in said and instance.read_text() == TINY.read_text()
    folder = tmp_path / "tables"
    assert run("generate", "--aircraft", "3", "--requests", "4", "-o", folder).exit_code == 0
    aircraft = (folder / "aircraft.csv").read_text()
    said = _one_sentence_exit_2(run("solve", folder, "--csv", folder / "aircraft.csv", "--time-limit", "2"))
    assert "would overwrite the input" in said and (folder / "aircraft.csv").read_text() == aircraft
    assert run("solve", TINY, "-o", tmp_path / "plan.json", "--time-limit", "2", "--workers", "1").exit_code == 0


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path):
    plan = tmp_path / "plan.json"
    said = _one_sentence_exit_2(run("solve", TINY, "-o", plan, "--csv", plan, "--time-limit", "2"))
    assert "given to both -o and --csv" in said and not plan.exists()


def test_an_output_that_cannot_be_written_is_refused_before_anything_is_written(tmp_path: Path):
    keep = tmp_path / "keep.json"
    keep.write_text("KEEP")
    said = _one_sentence_exit_2(run("solve", TINY, "-o", keep, "--csv", "/proc/x.csv", "--time-limit", "2"))
    assert "cannot write in the folder /proc" in said and keep.read_text() == "KEEP"
    said = _one_sentence_exit_2(run("solve", TINY, "-o", tmp_path / f"{'a' * 300}.json", "--time-limit", "2"))
    assert "the file name is longer than the folder allows" in said


@pytest.mark.parametrize(("option", "value"), [("--aircraft", "5001"), ("--requests", "200001"), ("--days", "32")])
def test_generate_refuses_sizes_beyond_its_limits(option: str, value: str):
    result = run("generate", option, value)
    assert result.exit_code == 2 and "less than or equal to" in result.output


@pytest.mark.parametrize("name", ["plan.txt", "plan.csv"])
def test_a_plan_output_must_be_named_json_or_yaml(tmp_path: Path, name: str):
    result = run("solve", str(TINY), "-o", str(tmp_path / name), "--time-limit", "1", "--workers", "1")
    assert result.exit_code == 2 and "a plan is written as JSON" in result.output
    assert not (tmp_path / name).exists()
