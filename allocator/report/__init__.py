"""`report.html`: one self-contained page (plotly.js inline, opens offline) that shows a plan at a glance.

The headline (service against the proven bound and the first-come-first-served baseline), a Gantt
chart of every aircraft's day, the sector alert timeline with the shortfall in red, fulfilment per
agency and per sector, and the unserved requests with their reasons. Everything but the FCFS figures
and the proven bound is recomputed from the instance and the plan (service and cost by the independent
checker, which also gives the plan's verdict), so a plan from any tool will do.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from allocator.check import CheckReport, check
from allocator.deconflict import conflicts_frame, with_plan
from allocator.domain import Instance, count
from allocator.io import atomic_write_text
from allocator.report import charts
from allocator.report.data import fulfilment, fulfilment_frame, unserved_frame
from allocator.result import Plan, gap_of
from allocator.timeline import agreed_zone_name, format_instant, zone

__all__ = ["build_report", "fulfilment", "local_zone", "write_report"]


def local_zone(instance: Instance) -> tuple[tzinfo, str]:
    """The zone the report shows times in: the bases' one IANA zone, else the horizon start's offset."""
    name = agreed_zone_name(b.timezone for b in instance.bases)
    tz = zone(name, instance.horizon.start)
    label = name or instance.horizon.start.strftime("%Z") or "UTC"
    return tz, f"UTC{label}" if label[0] in "+-" else label


def build_report(
    instance: Instance, plan: Plan, fcfs: dict[str, Any] | None = None, verdict: CheckReport | None = None
) -> str:
    """The report's HTML. `fcfs` ({service, cost, served}) defaults to the plan's `run.fcfs`; `verdict`, the
    checker's report on the plan, is computed when the caller has none."""
    fcfs = fcfs if fcfs is not None else plan.run.get("fcfs")
    # a plan file's `run` is free-form: an FCFS service that is not a whole number is left out
    fcfs_service = fcfs.get("service") if isinstance(fcfs, dict) else None
    if not isinstance(fcfs_service, int) or isinstance(fcfs_service, bool):
        fcfs_service = None
    local, zone_label = local_zone(instance)
    verdict = verdict if verdict is not None else check(instance, plan)
    service, cost, bound = verdict.service, verdict.cost, plan.bound.service
    gap = gap_of(service, bound)
    agencies = fulfilment(instance, plan, "agency")
    asked = sum(row["requested"] for row in agencies.values())
    met = sum(row["served"] for row in agencies.values())
    shortfall = sum(rule["shortfall_min"] for rule in verdict.coverage)
    figures: list[tuple[str, go.Figure]] = [
        ("headline-chart", charts.headline(service, bound, fcfs_service)),
        ("gantt-chart", charts.gantt(instance, plan, local, zone_label)),
        ("coverage-chart", charts.coverage(instance, verdict, local, zone_label)),
    ]
    rendered = [
        fig.to_html(
            full_html=False,
            include_plotlyjs=(i == 0),  # plotly.js once, inline: no CDN, opens offline
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
        for i, (div_id, fig) in enumerate(figures)
    ]
    cards = [
        ("service", f"{service:,}", _status_note(plan)),
        ("proven bound", "–" if bound is None else f"{bound:,}", "" if gap is None else f"gap {100 * gap:.2f}%"),
        (
            "FCFS baseline",
            "–" if fcfs_service is None else f"{fcfs_service:,}",
            "" if fcfs_service is None else f"{service - fcfs_service:+,} service for this plan",
        ),
        ("requests met", f"{met}/{asked}", f"{100 * met / asked:.1f}%" if asked else ""),
        ("alert shortfall", f"{shortfall:,} min", "aircraft-minutes below the coverage rules"),
        ("cost", f"${cost:,}", f"{count(len(plan.sorties), 'sortie')}, {count(len(plan.relocations), 'relocation')}"),
        ("checker", "valid" if verdict.ok else "INVALID", _verdict_note(plan, verdict)),
    ]
    horizon = f"{_when(instance.horizon.start, local)} – {_when(instance.horizon.end, local)} ({zone_label})"
    unserved = unserved_frame(instance, plan)
    conflicts = conflicts_frame(with_plan(instance, plan))
    reasons = unserved["reason"].value_counts()
    body = f"""
<header>
  <h1>{_e(plan.instance)}: air support plan</h1>
  <p class="sub">{_e(horizon)} · status <b>{_e(str(plan.status))}</b> ·
  report made {_e(format_instant(datetime.now(UTC)))}</p>
</header>
<section class="cards">{"".join(_card(*card) for card in cards)}</section>
<section><h2>Service: this plan, its proven bound, and first come first served</h2>{rendered[0]}</section>
<section><h2>Aircraft by the hour</h2>
<p class="note">Sorties are coloured by the requesting agency (takeoff to landing); hover for the request.</p>
{rendered[1]}</section>
<section><h2>Sector alert coverage</h2>
<p class="note">Aircraft on alert (on the ground at a base of the sector, available, not in maintenance or
turnaround); red fill: minutes below a coverage rule's required count.</p>{rendered[2]}</section>
<section class="tables">
<div><h2>Fulfilment per agency</h2>{_table(fulfilment_frame(instance, plan, "agency"))}</div>
<div><h2>Fulfilment per sector</h2>{_table(fulfilment_frame(instance, plan, "sector"))}</div>
</section>
<section><h2>Unserved requests ({len(unserved)})</h2>
<p class="note">{_e(", ".join(f"{reason}: {count}" for reason, count in reasons.items()) or "every request is met")}</p>
{_table(unserved) if len(unserved) else ""}</section>
<section><h2>Conflicts between agencies ({len(conflicts)})</h2>
<p class="note">Requests of different agencies for the same target, or nearby at overlapping times (SPEC 8):
reported to both units, never resolved by the plan; scheduled ones (both flown) first.</p>
{_table(_conflicts_table(conflicts, local, zone_label)) if len(conflicts) else ""}</section>
"""
    return _PAGE.format(title=_e(f"{plan.instance}: air support plan"), body=body)


def write_report(
    instance: Instance,
    plan: Plan,
    path: str | Path,
    fcfs: dict[str, Any] | None = None,
    verdict: CheckReport | None = None,
) -> Path:
    """Write `build_report` atomically."""
    return atomic_write_text(path, build_report(instance, plan, fcfs, verdict))


def _verdict_note(plan: Plan, verdict: CheckReport) -> str:
    """What the checker found, and the figures the plan file claimed when they differ from the recomputed."""
    note = "SPEC section 4 holds" if verdict.ok else f"{len(verdict.violations)} violations: allocator check"
    claimed = plan.objective
    if (claimed.service, claimed.cost) != (verdict.service, verdict.cost):
        note += f"; the plan file claims service {claimed.service:,} and cost ${claimed.cost:,}"
    return note


def _status_note(plan: Plan) -> str:
    if plan.status == "OPTIMAL":
        return "proven optimal"
    if plan.run.get("service_proven_optimal"):
        return "service proven optimal; cost not proven minimal"
    return str(plan.status).lower()


def _when(instant: datetime, local: tzinfo) -> str:
    return instant.astimezone(local).strftime("%a %d %b %Y %H:%M")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _card(title: str, value: str, note: str) -> str:
    return (
        f'<div class="card"><div class="k">{_e(title)}</div>'
        f'<div class="v">{_e(value)}</div><div class="n">{_e(note)}</div></div>'
    )


def _conflicts_table(conflicts: pd.DataFrame, local: tzinfo, zone_label: str) -> pd.DataFrame:
    """The conflicts for a planner: both requests with their agency and when they are on station (flown) or
    else their window, in the report's zone, whether the plan flies both, and the recommended action."""

    def when(start: datetime, end: datetime) -> str:
        a, b = start.astimezone(local), end.astimezone(local)
        return f"{a:%a %H:%M}–{b:%H:%M}" if a.date() == b.date() else f"{a:%a %H:%M}–{b:%a %H:%M}"

    when_label = f"on station, or window ({zone_label})"
    frame = pd.DataFrame(
        {
            "id": conflicts["id"],
            "kind": conflicts["kind"],
            "request A": conflicts["a_request"],
            "agency A": conflicts["a_agency"],
            f"A {when_label}": [when(a, b) for a, b in zip(conflicts["a_start"], conflicts["a_end"], strict=True)],
            "request B": conflicts["b_request"],
            "agency B": conflicts["b_agency"],
            f"B {when_label}": [when(a, b) for a, b in zip(conflicts["b_start"], conflicts["b_end"], strict=True)],
            "both flown": ["yes" if flown else "no" for flown in conflicts["scheduled"]],
            "recommendation": conflicts["recommendation"],
        }
    )
    return frame


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="grid", escape=True, na_rep="")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1400px;
       padding: 0 24px 48px; color: #1d1d1f; }}
h1 {{ margin: 24px 0 4px; font-size: 26px; }}
h2 {{ font-size: 18px; margin: 28px 0 8px; }}
.sub, .note {{ color: #555; margin: 4px 0; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin-top: 18px; }}
.card {{ border: 1px solid #ddd; border-radius: 8px; padding: 10px 14px; }}
.card .k {{ color: #555; font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }}
.card .v {{ font-size: 26px; font-weight: 600; margin: 2px 0; }}
.card .n {{ color: #555; font-size: 13px; }}
.tables {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 24px; }}
table.grid {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
table.grid th, table.grid td {{ border-bottom: 1px solid #e5e5e5; padding: 5px 8px; text-align: left; }}
table.grid th {{ background: #f4f6f9; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
