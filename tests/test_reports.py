"""Terminal views of a plan: the fulfilment table per agency and sector (the GAO-12-518 measure)."""

from __future__ import annotations

from rich.console import Console

import allocator
from allocator import SolveOptions
from allocator.reports import fulfilment_table
from factory import aircraft, make, request


def render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_fulfilment_counts_requests_met_per_agency_and_sector():
    inst = make(
        [aircraft("H1")],
        [request("C1", agency="CBP", end="09:30"), request("I1", agency="ICE", end="09:30", priority=2),
         request("I2", agency="ICE", near="B", start="12:00", end="14:00")],
    )
    result = allocator.solve(inst, SolveOptions(time_limit_s=5, workers=1))
    per_agency = result.plan.metrics["per_agency"]
    assert per_agency["ICE"] == {
        "requested": 2, "served": 1, "value_requested": 250, "value_served": 200, "pct_met": 50.0, "pct_value_met": 80.0
    }
    assert per_agency["CBP"]["pct_met"] == 0.0
    text = render(fulfilment_table(result.plan, result.baseline))
    assert "agency ICE" in text and "50.0%" in text
    assert "sector S2" in text and "FCFS % met" in text
