"""The report's plotly figures: the fleet Gantt, the sector alert timeline, the headline bars."""

from __future__ import annotations

from datetime import datetime, tzinfo

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from allocator.check import CheckReport
from allocator.domain import Instance
from allocator.report.data import gantt_frame, on_alert
from allocator.result import Plan
from allocator.timeline import Timeline

FIXED_COLOURS = {
    "CBP": "#1f5fa8",
    "ICE": "#2a9d5c",
    "relocation": "#f28e2b",
    "maintenance": "#7f7f7f",
    "turnaround": "#c7c7c7",
    "not yet available": "#e6e6e6",
    "unknown request": "#000000",
}
SHORTFALL = "rgba(214, 39, 40, 0.45)"


def colours(kinds: list[str]) -> dict[str, str]:
    """A colour per bar kind: CBP and ICE fixed, other agencies from a qualitative palette."""
    palette = iter(c for c in px.colors.qualitative.Bold if c not in FIXED_COLOURS.values())
    return {kind: FIXED_COLOURS.get(kind) or next(palette, "#444444") for kind in kinds}


def gantt(instance: Instance, plan: Plan, local: tzinfo, zone_label: str) -> go.Figure:
    frame = gantt_frame(instance, plan, local, zone_label)
    order = ["not yet available", "maintenance", "turnaround", "relocation"]
    agencies = sorted({r.agency for r in instance.requests} & set(frame["kind"]))
    kinds = agencies + [k for k in order if k in set(frame["kind"])]
    kinds += sorted(set(frame["kind"]) - set(kinds))
    aircraft = [f"{a.id} ({a.type})" for a in instance.aircraft]
    names = {a.id: f"{a.id} ({a.type})" for a in instance.aircraft}
    frame["aircraft"] = frame["aircraft"].map(lambda a: names.get(a, a))
    if frame.empty:  # keep the axes: one invisible bar
        idle: list[str | datetime] = [
            aircraft[0],
            "idle",
            _naive(instance.horizon.start, local),
            _naive(instance.horizon.start, local),
            "",
            "",
        ]
        frame.loc[0] = idle
        kinds = ["idle"]
    fig = px.timeline(
        frame,
        x_start="start",
        x_end="end",
        y="aircraft",
        color="kind",
        category_orders={"kind": kinds, "aircraft": aircraft},
        color_discrete_map=colours(kinds),
        custom_data=["label", "detail"],
    )
    fig.update_traces(hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>")
    fig.update_layout(
        barmode="overlay",
        height=max(260, 34 * len(aircraft) + 120),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        legend_title_text="",
        xaxis_title=f"time ({zone_label})",
        yaxis_title="",
        xaxis_range=[_naive(instance.horizon.start, local), _naive(instance.horizon.end, local)],
    )
    return fig


def coverage(instance: Instance, verdict: CheckReport, local: tzinfo, zone_label: str) -> go.Figure:
    """One row per sector: aircraft on alert over time; per coverage rule, the required count and the
    shortfall filled in red (from the checker's `verdict` on the plan)."""
    tl = Timeline(instance.horizon.start, instance.horizon.end)
    rules = verdict.coverage
    sectors = [s for s in instance.sectors if any(b.sector == s.id for b in instance.bases) or s.coverage]
    fig = make_subplots(
        rows=len(sectors),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.08, 0.3 / max(1, len(sectors))),
        subplot_titles=[_title(s.id, s.name, [r for r in rules if r["sector"] == s.id]) for s in sectors],
    )

    def x(minutes: np.ndarray) -> list[datetime]:
        return [_naive(tl.instant(int(m)), local) for m in minutes]

    for row, sector in enumerate(sectors, start=1):
        mine = [r for r in rules if r["sector"] == sector.id]
        if not mine:
            counts = on_alert(instance, verdict, sector.id)
            xs, ys = _steps(counts, 0, tl.end)
            fig.add_trace(
                go.Scatter(x=x(xs), y=ys, mode="lines", line_shape="hv", name=f"{sector.id}: on alert"),
                row=row,
                col=1,
            )
            continue
        for rule in mine:
            counts = on_alert(instance, verdict, sector.id, rule["capability"])
            lo, hi, need = rule["start_min"], rule["end_min"], rule["count"]
            label = f"{sector.id} #{rule['index']} {rule['capability']}"
            if hi <= lo:
                continue
            xs, ys = _steps(counts, lo, hi)
            fig.add_trace(
                go.Scatter(
                    x=x(xs),
                    y=[need] * len(xs),
                    mode="lines",
                    line={"dash": "dash", "color": "#d62728"},
                    line_shape="hv",
                    name=f"{label}: required {need}",
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=x(xs),
                    y=np.minimum(ys, need),
                    mode="lines",
                    line={"width": 0},
                    line_shape="hv",
                    fill="tonexty",
                    fillcolor=SHORTFALL,
                    name=f"{label}: shortfall {rule['shortfall_min']} min",
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(x=x(xs), y=ys, mode="lines", line_shape="hv", name=f"{label}: on alert"),
                row=row,
                col=1,
            )
    fig.update_yaxes(rangemode="tozero", dtick=1, title_text="aircraft")
    fig.update_xaxes(range=[_naive(instance.horizon.start, local), _naive(instance.horizon.end, local)])
    fig.update_xaxes(title_text=f"time ({zone_label})", row=len(sectors), col=1)
    fig.update_layout(height=max(280, 190 * len(sectors) + 80), margin={"l": 10, "r": 10, "t": 40, "b": 40})
    return fig


def _title(sector_id: str, name: str, rules: list[dict]) -> str:
    head = f"{sector_id} {name}".strip() if name and name != sector_id else sector_id
    if not rules:
        return f"{head}: aircraft on alert (no coverage rule)"
    short = sum(r["shortfall_min"] for r in rules)
    return f"{head}: shortfall {short} aircraft-minutes" if short else f"{head}: covered"


def _steps(counts: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The change points of `counts` over `[lo, hi)`, closed by a point at `hi` (for step lines)."""
    part = counts[lo:hi]
    idx = np.flatnonzero(np.diff(part)) + 1
    starts = np.concatenate([[0], idx])
    xs = np.concatenate([starts + lo, [hi]])
    ys = np.concatenate([part[starts], [part[-1]]])
    return xs, ys


def headline(service: int, bound: int | None, fcfs: int | None) -> go.Figure:
    """Service of the FCFS baseline, this plan and the proven bound, side by side."""
    labels, values, colours_ = [], [], []
    if fcfs is not None:
        labels.append("FCFS baseline")
        values.append(fcfs)
        colours_.append("#9e9e9e")
    labels.append("this plan")
    values.append(service)
    colours_.append("#1f5fa8")
    if bound is not None:
        labels.append("proven bound")
        values.append(bound)
        colours_.append("#c7d7ee")
    fig = go.Figure(
        go.Bar(x=values, y=labels, orientation="h", marker_color=colours_, text=values, textposition="auto")
    )
    fig.update_layout(
        height=60 * len(labels) + 70,
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis_title="service (higher is better)",
        yaxis={"autorange": "reversed"},
    )
    return fig


def _naive(instant: datetime, local: tzinfo) -> datetime:
    """Plotly has no time zones: local wall-clock time without an offset."""
    return instant.astimezone(local).replace(tzinfo=None)


__all__ = ["coverage", "gantt", "headline"]
