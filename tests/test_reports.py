"""Terminal views of a plan: the fulfilment table per agency and sector (the GAO-12-518 measure)."""

from __future__ import annotations

from rich.console import Console

import allocator
from allocator import SolveOptions
from allocator.reports import conflicts_table, fulfilment_table, status_text
from factory import aircraft, make, request


def render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_fulfilment_counts_requests_met_per_agency_and_sector():
    inst = make(
        [aircraft("H1")],
        [
            request("C1", agency="CBP", end="09:30"),
            request("I1", agency="ICE", end="09:30", priority=2),
            request("I2", agency="ICE", near="B", start="12:00", end="14:00"),
        ],
    )
    result = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1))
    per_agency = result.plan.metrics["per_agency"]
    assert per_agency["ICE"] == {
        "requested": 2,
        "served": 1,
        "value_requested": 250,
        "value_served": 200,
        "pct_met": 50.0,
        "pct_value_met": 80.0,
    }
    assert per_agency["CBP"]["pct_met"] == 0.0
    text = render(fulfilment_table(result.plan, result.baseline))
    assert "agency ICE" in text and "50.0%" in text
    assert "sector S2" in text and "FCFS % met" in text


def test_conflicts_between_agencies_are_listed_scheduled_first():
    # SPEC 8: the same target asked for by CBP and ICE, both flown; a third request nearby in time only
    inst = make(
        [aircraft("H1"), aircraft("H2")],
        [
            request("C1", agency="CBP", target="vessel 7", end="10:00"),
            request("I1", agency="ICE", target="vessel 7", start="08:00", end="10:00"),
        ],
    )
    result = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1))
    assert {s.request for s in result.plan.sorties} == {"C1", "I1"}
    text = render(conflicts_table(result.plan))
    assert "same target" in text and "C1 (CBP) / I1 (ICE)" in text and "yes" in text


def test_solve_prints_the_conflict_table_only_when_there_are_conflicts(tmp_path):
    from typer.testing import CliRunner

    from allocator import write_instance
    from allocator.cli import app

    same_target = [request("C1", agency="CBP", target="vessel 7"), request("I1", agency="ICE", target="vessel 7")]
    for name, requests, shown in (("conflict", same_target, True), ("none", same_target[:1], False)):
        path = tmp_path / f"{name}.json"
        write_instance(make([aircraft("H1")], requests), path)
        result = CliRunner().invoke(app, ["solve", str(path), "--time-limit", "2", "--workers", "1"])
        assert result.exit_code == 0
        assert ("Conflicts between agencies" in result.output) is shown


def test_a_feasible_plan_whose_service_is_proven_says_so_in_its_status():
    inst = make([aircraft("H1")], [request("C1", end="09:30")])
    plan = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1)).plan
    proven = plan.model_copy(update={"status": "FEASIBLE", "run": {**plan.run, "service_proven_optimal": True}})
    unproven = plan.model_copy(update={"status": "FEASIBLE", "run": {**plan.run, "service_proven_optimal": False}})
    assert status_text(proven, short=True) == "FEASIBLE, service proven"
    assert "service proven optimal; cost not proven minimal" in status_text(proven)
    assert status_text(unproven, short=True) == "FEASIBLE"
