"""`allocator whatif` and `allocator replan` through typer's runner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import allocator
from allocator.check import check
from allocator.cli import app
from allocator.io import load_instance, load_plan, write_plan
from allocator.solver import SolveOptions

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
BAD = Path(__file__).resolve().parent / "bad_scenarios"
FAST = ("--time-limit", "3", "--workers", "1")
runner = CliRunner()

DOWN = "changes:\n  - aircraft_down: {aircraft: N60AZ, from: '2026-12-01T12:00:00-07:00'}\n"
HOURS = "changes:\n  - hours_update: {aircraft: N125AZ, hours_available: 1}\n"


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    path = tmp_path / "baseline.json"
    write_plan(allocator.solve(load_instance(TINY), SolveOptions(time_limit_s=5, workers=1)).plan, path)
    return path


def scenario(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_whatif_writes_the_plan_the_diff_and_the_changed_instance(tmp_path: Path, baseline: Path):
    down = scenario(tmp_path, "n60-down", DOWN)
    plan, diff, inst = tmp_path / "plan.json", tmp_path / "diff.json", tmp_path / "changed.yaml"
    result = run(
        "whatif", TINY, down, "--baseline", baseline, "-o", plan, "--diff-out", diff, "--instance-out", inst, *FAST
    )
    assert result.exit_code == 0, result.output
    assert "N60AZ down from" in result.output and "Against the baseline" in result.output
    assert "Requests gained (+) and lost (-)" in result.output and "R4" in result.output
    changed = load_instance(inst)
    assert changed.name == "tiny+n60-down" and check(changed, load_plan(plan)).ok
    doc = json.loads(diff.read_text())
    assert [r["request"] for r in doc["lost"]] == ["R4"] and doc["changes"] == load_plan(plan).run["changes"]
    assert run("check", inst, plan).exit_code == 0


def test_whatif_refuses_an_instance_output_it_cannot_write_before_solving(tmp_path: Path, baseline: Path):
    down = scenario(tmp_path, "n60-down", DOWN)
    notes, plan = tmp_path / "notes.txt", tmp_path / "plan.json"
    notes.write_text("keep me")
    result = run("whatif", TINY, down, "--baseline", baseline, "-o", plan, "--instance-out", notes, *FAST)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert notes.read_text() == "keep me" and not plan.exists()


def test_whatif_without_a_baseline_compares_with_a_plan_of_the_unchanged_instance(tmp_path: Path):
    result = run("whatif", TINY, scenario(tmp_path, "n60-down", DOWN), *FAST)
    assert result.exit_code == 0, result.output
    assert "no --baseline" in result.output and "Against the baseline" in result.output


def test_ctrl_c_while_planning_the_unchanged_instance_stops_the_whatif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # without --baseline the what-if first plans the unchanged instance; Ctrl-C there must not go on to
    # solve the scenarios for another full time limit
    from allocator import solver

    real = solver.solve
    monkeypatch.setattr(solver, "solve", lambda *a, **k: real(*a, **k).model_copy(update={"interrupted": True}))
    plan = tmp_path / "plan.json"
    result = run("whatif", TINY, scenario(tmp_path, "n60-down", DOWN), "-o", plan, *FAST)
    assert result.exit_code == 130
    assert "no scenario was solved" in result.output and not plan.exists()


def test_several_scenarios_are_compared_side_by_side_with_one_plan_each(tmp_path: Path, baseline: Path):
    down, hours = scenario(tmp_path, "n60-down", DOWN), scenario(tmp_path, "short-hours", HOURS)
    out = tmp_path / "out.json"
    result = run("whatif", TINY, down, hours, "--baseline", baseline, "-o", out, "--jobs", "2", "--instance-out",
                 tmp_path / "inst.json", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Scenarios side by side" in result.output and "n60-down" in result.output and "short-hours" in result.output
    for name in ("n60-down", "short-hours"):  # solved in other processes: check them here
        plan = load_plan(tmp_path / f"out.{name}.json")
        assert check(load_instance(tmp_path / f"inst.{name}.json"), plan).ok
        assert plan.instance == f"tiny+{name}"


@pytest.mark.parametrize(
    "name", ["unknown_aircraft.yaml", "naive_instant.yaml", "malformed_instant.yaml", "unknown_change_kind.yaml",
             "extra_field.yaml"]
)  # fmt: skip
def test_a_bad_scenario_exits_2_with_one_sentence_and_writes_nothing(tmp_path: Path, baseline: Path, name: str):
    plan = tmp_path / "plan.json"
    result = run("whatif", TINY, BAD / name, "--baseline", baseline, "-o", plan, *FAST)
    assert result.exit_code == 2
    message = result.output.strip().replace("\n", " ")  # rich wraps long lines at 160 columns off a terminal
    assert "Traceback" not in message and message.count(": change ") == 1 and message.endswith(".")
    assert message.startswith(f"{BAD / name}: change ") and not plan.exists()


def test_one_bad_scenario_among_several_stops_before_solving(tmp_path: Path, baseline: Path):
    result = run("whatif", TINY, scenario(tmp_path, "ok", DOWN), BAD / "unknown_aircraft.yaml", "--baseline", baseline)
    assert result.exit_code == 2 and "unknown aircraft 'N999'" in result.output


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-12-01T10:00:00", "has no UTC offset"),
        ("ten o'clock", "is not an ISO 8601 instant"),
        ("1783000000", "is not an ISO 8601 instant"),  # a Unix timestamp is not an instant with an offset
        ("2026-12-01T25:00:00Z", "(hour must be in 0..23)"),  # the hour, not a missing offset, is wrong
        ("2026-02-30T10:00:00Z", "(day is out of range for month)"),
        ("2026-12-01T10:00:00+25:00", "(its UTC offset must lie strictly between -24:00 and +24:00)"),
    ],
)
def test_a_bad_now_is_a_usage_error(tmp_path: Path, baseline: Path, now: str, expected: str):
    result = run("whatif", TINY, scenario(tmp_path, "d", DOWN), "--baseline", baseline, "--now", now)
    assert result.exit_code == 2 and expected in result.output and "--now" in result.output


def test_now_without_a_baseline_is_a_usage_error(tmp_path: Path):
    result = run("whatif", TINY, scenario(tmp_path, "d", DOWN), "--now", "2026-12-01T10:00:00-07:00")
    assert result.exit_code == 2 and "--now needs --baseline" in result.output


def test_scenario_files_with_the_same_name_are_a_usage_error(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = scenario(tmp_path / "a", "s", DOWN), scenario(tmp_path / "b", "s", HOURS)
    result = run("whatif", TINY, first, second)
    assert result.exit_code == 2 and "same name" in result.output
    assert str(first) in result.output.replace("\n", "") and str(second) in result.output.replace("\n", "")


def test_replan_of_an_unchanged_instance_changes_nothing(tmp_path: Path, baseline: Path):
    plan = tmp_path / "new.json"
    result = run("replan", TINY, "--baseline", baseline, "--now", "2026-12-01T09:00:00-07:00", "-o", plan, *FAST)
    assert result.exit_code == 0, result.output
    assert "0 of 4 baseline sorties changed" in result.output
    assert load_plan(plan).sorties == load_plan(baseline).sorties


def test_replan_exits_2_when_a_frozen_flight_no_longer_fits(tmp_path: Path, baseline: Path):
    flown = load_plan(baseline).sorties
    first = min(flown, key=lambda s: s.takeoff)
    changed = tmp_path / "changed.yaml"
    changed.write_text(TINY.read_text().replace(f"  - {{id: {first.request},", f"  - {{id: {first.request}X,", 1))
    now = first.landing.isoformat()
    result = run("replan", changed, "--baseline", baseline, "--now", now, "-o", tmp_path / "new.json", *FAST)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and first.request in result.output
    assert not (tmp_path / "new.json").exists()


def test_a_baseline_of_another_instance_is_a_usage_error(tmp_path: Path, baseline: Path):
    other = tmp_path / "other.yaml"
    other.write_text(TINY.read_text().replace("name: tiny", "name: other", 1))
    result = run("replan", other, "--baseline", baseline, "-o", tmp_path / "new.json", *FAST)
    assert result.exit_code == 2 and "is for instance 'tiny', not 'other'" in result.output
    assert not (tmp_path / "new.json").exists()


def test_output_under_a_file_is_a_usage_error_before_solving(tmp_path: Path, baseline: Path):
    result = run("replan", TINY, "--baseline", baseline, "-o", baseline / "x.json", *FAST)
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_whatif_outputs_that_overwrite_the_baseline_or_each_other_are_refused(tmp_path: Path, baseline: Path):
    down = scenario(tmp_path, "n60-down", DOWN)
    kept = baseline.read_text()
    result = run("whatif", TINY, down, "--baseline", baseline, "-o", baseline, *FAST)
    assert result.exit_code == 2 and "would overwrite the input" in result.output
    out = tmp_path / "out.json"
    result = run("whatif", TINY, down, "--baseline", baseline, "-o", out, "--diff-out", out, *FAST)
    assert result.exit_code == 2 and "given to both -o and --diff-out" in result.output
    result = run("replan", TINY, "--baseline", baseline, "--diff-out", baseline, *FAST)
    assert result.exit_code == 2 and "would overwrite the input" in result.output
    assert baseline.read_text() == kept and not out.exists()


def covered_tiny(tmp_path: Path) -> Path:
    """tiny with a hoist helicopter asked on alert in its sector all morning (N60AZ is the only one)."""
    rule = (
        "    coverage:\n      - {start: '2026-12-01T07:00:00-07:00', end: '2026-12-01T12:00:00-07:00',"
        " capability: hoist, count: 1, penalty_per_hour: 60}\n"
    )
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.read_text().replace("    name: Tucson Sector\n", "    name: Tucson Sector\n" + rule, 1))
    return path


def bare_plan(source: Path, target: Path) -> Path:
    """The plan as another tool might write it: SPEC section 3 keys only."""
    doc = json.loads(source.read_text())
    target.write_text(json.dumps({k: doc[k] for k in ("instance", "status", "objective", "bound", "sorties",
                                                     "relocations", "unserved")}))  # fmt: skip
    return target


def test_whatif_table_shows_served_and_shortfall_of_a_bare_baseline(tmp_path: Path):
    # a baseline from another tool has no metrics or coverage: the baseline row counts its sorties and
    # recomputes its shortfall (it used to read "None/None (None%)" and 0 minutes)
    inst_file = covered_tiny(tmp_path)
    inst = load_instance(inst_file)
    full = tmp_path / "full.json"
    write_plan(allocator.solve(inst, SolveOptions(time_limit_s=3, workers=1)).plan, full)
    bare = bare_plan(full, tmp_path / "bare.json")
    down, hours = scenario(tmp_path, "n60-down", DOWN), scenario(tmp_path, "short-hours", HOURS)
    result = run("whatif", inst_file, down, hours, "--baseline", bare, "--jobs", "1", *FAST)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "│ baseline" in line)
    served = len({s.request for s in load_plan(bare).sorties})
    shortfall = sum(rule["shortfall_min"] for rule in check(inst, load_plan(bare)).coverage)
    assert shortfall > 0 and "None" not in row
    assert f"{served}/4 ({100 * served / 4:.1f}%)" in row and row.rstrip(" │").endswith(f" {shortfall}")


def test_a_frozen_flight_a_scenario_breaks_names_that_scenario_before_anything_is_solved(
    tmp_path: Path, baseline: Path, monkeypatch: pytest.MonkeyPatch
):
    # the second scenario cancels a request whose sortie took off before --now: the error names that
    # scenario (which of several broke the flight) and the baseline, and no scenario is solved first
    from allocator import solver

    first = min(load_plan(baseline).sorties, key=lambda s: s.takeoff)
    ok = scenario(tmp_path, "same-hours", "changes:\n  - hours_update: {aircraft: N125AZ, hours_available: 8}\n")
    cancel = scenario(tmp_path, "cancel", f"changes:\n  - request_cancel: {{request: {first.request}}}\n")
    monkeypatch.setattr(solver, "solve", lambda *a, **k: pytest.fail("solved before the scenarios were checked"))
    now = first.landing.isoformat()
    result = run("whatif", TINY, ok, cancel, "--baseline", baseline, "--now", now, "--jobs", "1", *FAST)
    message = result.output.strip().replace("\n", "")
    assert result.exit_code == 2 and "Traceback" not in message
    assert message.startswith(f"{cancel} against {baseline}: the sortie of {first.aircraft} for {first.request}")
    assert message.endswith(f"request {first.request} is no longer in the instance.")


def test_now_after_the_horizon_is_blamed_on_now_not_on_the_baseline_file(tmp_path: Path, baseline: Path):
    result = run("replan", TINY, "--baseline", baseline, "--now", "2026-12-02T09:00:00-07:00", *FAST)
    message = result.output.strip().replace("\n", "")
    assert result.exit_code == 2 and message.startswith(f"{TINY}: --now 2026-12-02T09:00:00-07:00 is not before")


def test_whatif_diff_tables_show_local_time_at_the_base_like_solve(tmp_path: Path, baseline: Path):
    # tiny's bases are in America/Phoenix: a sortie on station 08:00-09:30 MST is 15:00Z-16:30Z
    result = run("whatif", TINY, scenario(tmp_path, "n60-down", DOWN), "--baseline", baseline, *FAST)
    assert result.exit_code == 0, result.output
    assert "Sorties changed (local time at the base)" in result.output
    table = result.output[result.output.index("Sorties changed") :]
    assert re.search(r"Tue \d\d:\d\d–\d\d:\d\d MST", table) and not re.search(r"\d\d:\d\dZ", table)


def test_scenarios_with_one_name_are_told_apart_by_their_files_in_the_table(tmp_path: Path, baseline: Path):
    first = scenario(tmp_path, "down-a", "name: what-if\n" + DOWN)
    second = scenario(tmp_path, "hours-b", "name: what-if\n" + HOURS)
    result = run("whatif", TINY, first, second, "--baseline", baseline, "--jobs", "1", *FAST)
    assert result.exit_code == 0, result.output
    assert "what-if (down-a.yaml)" in result.output and "what-if (hours-b.yaml)" in result.output


def test_a_frozen_flight_the_unchanged_instance_cannot_keep_blames_the_baseline_not_the_scenario(
    tmp_path: Path, baseline: Path
):
    doc = json.loads(baseline.read_text())
    first = min(doc["sorties"], key=lambda s: s["takeoff"])
    first["request"] = "NOPE"  # a baseline that does not fit its own instance
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc))
    same = scenario(tmp_path, "same-hours", "changes:\n  - hours_update: {aircraft: N125AZ, hours_available: 8}\n")
    result = run("whatif", TINY, same, "--baseline", odd, "--now", first["landing"], *FAST)
    message = result.output.strip().replace("\n", "")
    assert result.exit_code == 2 and message.startswith(f"{odd}: the sortie of {first['aircraft']} for NOPE")
