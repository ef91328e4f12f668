"""report.html: self-contained, recomputed from instance and plan, and rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from allocator.check import check
from allocator.cli import app
from allocator.io import load_instance, write_plan
from allocator.report import build_report
from allocator.report.data import fulfilment, on_alert
from allocator.result import Plan
from allocator.solver import SolveOptions, solve, solve_fcfs_plan
from factory import aircraft, make, request, t

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
SURGE = ROOT / "instances" / "arizona-surge.yaml"
runner = CliRunner()
CHARTS = ("headline-chart", "gantt-chart", "coverage-chart")


@pytest.fixture(scope="module")
def tiny_plan() -> Plan:
    return solve(load_instance(TINY), SolveOptions(time_limit_s=2, workers=1)).plan


def bare(plan: Plan) -> Plan:
    """The plan as another tool might write it: SPEC section 3 keys only."""
    return Plan.model_validate(json.loads(plan.model_dump_json(by_alias=True, exclude={"metrics", "coverage", "run"})))


def test_report_is_one_self_contained_file_with_every_chart(tiny_plan: Plan):
    page = build_report(load_instance(TINY), tiny_plan)
    assert not re.search(r"<script[^>]+src=", page)  # no CDN, no side files
    assert not re.search(r"<link[^>]+href=", page)
    assert len(page) > 1_000_000  # plotly.js is inside
    for div in CHARTS:
        assert f'id="{div}"' in page
    assert "Fulfilment per agency" in page and "Unserved requests (1)" in page and "OUTCOMPETED" in page


def test_report_lists_the_conflicts_between_agencies_from_instance_and_plan():
    # SPEC 8: the same target asked for by CBP and ICE, both flown; recomputed even for a bare plan file
    inst = make(
        [aircraft("H1"), aircraft("H2")],
        [request("C1", agency="CBP", target="vessel 7"), request("I1", agency="ICE", target="vessel 7")],
    )
    plan = solve(inst, SolveOptions(time_limit_s=2, workers=1)).plan
    page = build_report(inst, bare(plan))
    assert "Conflicts between agencies (1)" in page and "same_target" in page
    assert "<td>C1</td>" in page and "<td>I1</td>" in page


def test_report_of_a_day_without_conflicts_says_none(tiny_plan: Plan):
    assert "Conflicts between agencies (0)" in build_report(load_instance(TINY), tiny_plan)


def test_report_recomputes_what_a_bare_plan_lacks(tiny_plan: Plan):
    inst = load_instance(TINY)
    plain = bare(tiny_plan)
    assert fulfilment(inst, plain, "agency") == {
        "CBP": {"requested": 3, "served": 2, "value_requested": 1250, "value_served": 1200},
        "ICE": {"requested": 1, "served": 1, "value_requested": 50, "value_served": 50},
    }
    page = build_report(inst, plain)
    assert "3/4" in page and "75.0%" in page  # requests met, from the sorties
    assert "FCFS baseline" in page
    with_fcfs = build_report(inst, plain, {"service": 300, "cost": 30983, "served": 3})
    assert "+950 service for this plan" in with_fcfs


def covered(count: int):
    """S1 asks for `count` eo_ir aircraft on alert 08:00-10:00; H1 flies R1 around 09:00."""
    rule = {"start": t("08:00"), "end": t("10:00"), "capability": "eo_ir", "count": count, "penalty_per_hour": 60}
    return make(
        [aircraft("H1"), aircraft("H2")],
        [request("R1", start="09:00", end="10:30", duration=30)],
        coverage={"S1": [rule]},
    )


def test_report_leaves_out_an_fcfs_service_that_is_not_a_number(tiny_plan: Plan):
    odd = tiny_plan.model_copy(update={"run": {"fcfs": {"service": "n/a"}}})
    page = build_report(load_instance(TINY), odd)  # no crash
    assert "service for this plan" not in page


@pytest.mark.parametrize("count, short", [(1, False), (2, True)])
def test_coverage_timeline_is_below_the_rule_exactly_for_the_checkers_shortfall(count: int, short: bool):
    inst = covered(count)
    plan = solve(inst, SolveOptions(time_limit_s=2, workers=1)).plan
    verdict = check(inst, plan)
    (rule,) = verdict.coverage
    counts = on_alert(inst, verdict, "S1", rule["capability"])[rule["start_min"] : rule["end_min"]]
    assert int(np.maximum(0, count - counts).sum()) == rule["shortfall_min"]
    assert (rule["shortfall_min"] > 0) is short


def test_coverage_timeline_matches_the_checkers_shortfall_on_a_real_day():
    inst = load_instance(SURGE)
    plan = solve_fcfs_plan(inst)
    verdict = check(inst, plan)
    for rule in verdict.coverage:
        counts = on_alert(inst, verdict, rule["sector"], rule["capability"])[rule["start_min"] : rule["end_min"]]
        assert int(np.maximum(0, rule["count"] - counts).sum()) == rule["shortfall_min"]
    assert any(rule["shortfall_min"] > 0 for rule in verdict.coverage)


def test_report_command_writes_html_for_a_bare_plan(tiny_plan: Plan, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    write_plan(bare(tiny_plan), plan_file)
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(TINY), str(plan_file), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "FCFS 300" in result.output and "checker: valid" in result.output
    assert "+950 service for this plan" in target.read_text()


@pytest.mark.parametrize("fcfs", [{"service": "TUS", "cost": 1, "served": 1}, {"service": 300}, {"service": True}])
def test_report_command_recomputes_an_fcfs_record_that_is_not_whole_numbers(
    tiny_plan: Plan, tmp_path: Path, fcfs: dict
):
    plan_file = tmp_path / "plan.json"
    write_plan(tiny_plan.model_copy(update={"run": {"fcfs": fcfs}}), plan_file)
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(TINY), str(plan_file), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "FCFS 300" in result.output and "+950 service for this plan" in target.read_text()


def test_report_command_rejects_a_bad_plan_with_exit_2(tmp_path: Path):
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(TINY), str(bad), "-o", str(target)])
    assert result.exit_code == 2 and "plan.json: not valid JSON" in result.output
    assert not target.exists()


def test_report_shows_the_checkers_figures_not_the_ones_a_plan_file_claims(tiny_plan: Plan):
    inst = load_instance(TINY)
    claimed = tiny_plan.model_copy(update={"objective": tiny_plan.objective.model_copy(update={"service": 1})})
    page = build_report(inst, claimed)
    assert f"{tiny_plan.objective.service:,}" in page and "INVALID" in page
    assert "the plan file claims service 1 and cost" in page
    honest = build_report(inst, tiny_plan)
    assert "SPEC section 4 holds" in honest and "the plan file claims" not in honest


def test_report_command_refuses_a_plan_of_another_instance(tiny_plan: Plan, tmp_path: Path):
    plan_file = tmp_path / "plan.json"
    write_plan(tiny_plan.model_copy(update={"instance": "arizona-surge"}), plan_file)
    target = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(TINY), str(plan_file), "-o", str(target)])
    assert result.exit_code == 2 and "is for instance 'arizona-surge', not 'tiny'" in result.output
    assert not target.exists()


def test_report_hover_times_and_conflict_times_name_the_reports_zone():
    # arizona-surge has bases in Phoenix and Chicago time: the report shows the horizon's UTC-07:00, so a
    # Laredo sortie's hover box must say so (it read "takeoff Tue 05:35" with no zone), and the conflicts
    # table says when each request is on station, in that zone, and whether the plan flies both
    inst = load_instance(SURGE)
    plan = solve_fcfs_plan(inst)
    page = build_report(inst, plan)
    assert re.search(r"landing Tue \d\d:\d\d \(UTC-07:00\)", page)
    assert re.search(r"Tue \d\d:\d\d\\u2013Tue \d\d:\d\d \(UTC-07:00\) at TUS", page)  # maintenance, in JSON
    assert "<th>A on station, or window (UTC-07:00)</th>" in page and "<th>both flown</th>" in page
    conflict = plan.conflicts[0]
    flown = f"<td>{'yes' if conflict['scheduled'] else 'no'}</td>"
    assert flown in page and "<td>True</td>" not in page and "<td>False</td>" not in page
    assert f"{len(plan.sorties)} sorties, 1 relocation<" in page  # not "1 relocations"


# -- a real browser ------------------------------------------------------------------------------------


def _browser() -> tuple[str, str] | None:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver = shutil.which("chromedriver")
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    found = _browser()
    if found is None:
        pytest.skip("no system Chromium with chromedriver (Debian: apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=found[1]))
    yield driver
    driver.quit()


RENDERED = """
const drawn = (div, selector) =>
  div ? [...div.querySelectorAll(selector)].filter(p => (p.getAttribute('d') || '').length > 10).length : 0;
const out = {};
for (const id of arguments[0]) {
  const div = document.getElementById(id);
  const svg = div && div.querySelector('svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  out[id] = {
    width: box.width, height: box.height,
    bars: div ? div.querySelectorAll('.barlayer .point path').length : 0,
    lines: drawn(div, '.scatterlayer path.js-line'),
    fills: drawn(div, '.scatterlayer path.js-fill'),
  };
}
return out;
"""


def test_report_renders_every_chart_in_headless_chromium(browser, tmp_path: Path):
    inst = load_instance(SURGE)  # relocations, maintenance, two agencies, a coverage shortfall
    plan = solve(inst, SolveOptions(time_limit_s=2, workers=1)).plan
    page = tmp_path / "report.html"
    page.write_text(build_report(inst, plan), encoding="utf-8")
    browser.get_log("browser")  # drop anything from before this page
    browser.get(page.as_uri())
    charts = browser.execute_script(RENDERED, list(CHARTS))
    for div, seen in charts.items():
        assert seen["width"] > 100 and seen["height"] > 100, (div, seen)
    assert charts["headline-chart"]["bars"] == 3  # FCFS, this plan, the bound
    assert charts["gantt-chart"]["bars"] >= len(plan.sorties) + len(plan.relocations)
    assert charts["coverage-chart"]["lines"] >= 2 and charts["coverage-chart"]["fills"] >= 1  # shortfall in red
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    browser.save_screenshot(str(tmp_path / "report.png"))


def test_browser_check_sees_a_broken_chart(browser, tmp_path: Path, tiny_plan: Plan):
    """The rendering test can fail: a page whose chart data is broken shows a console error and no bars."""
    html = build_report(load_instance(TINY), tiny_plan).replace('"gantt-chart",', '"gantt-chart", null.x,', 1)
    page = tmp_path / "broken.html"
    page.write_text(html, encoding="utf-8")
    browser.get_log("browser")
    browser.get(page.as_uri())
    assert browser.execute_script(RENDERED, ["gantt-chart"])["gantt-chart"]["bars"] == 0
    assert any(entry["level"] == "SEVERE" for entry in browser.get_log("browser"))
