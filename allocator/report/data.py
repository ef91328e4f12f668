"""What the report shows, recomputed from the instance and the plan (a plan from any tool may lack
the `metrics`/`coverage` extensions): fulfilment tables, the Gantt segments, alert counts over time.

Alert and shortfall are the independent checker's (`allocator.check`, SPEC 4.3 as docs/decisions.md
reads it), so the report's coverage timeline and the checker's verdict cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from allocator.check import CheckReport
from allocator.domain import Instance
from allocator.result import Plan
from allocator.solver import scoring
from allocator.solver.prepare import Prepared
from allocator.timeline import Timeline


def fulfilment(instance: Instance, plan: Plan, by: str) -> dict[str, dict[str, int]]:
    """Per agency (`by="agency"`) or sector: requests asked and met, and their value (the tallies the planner's
    own metrics use, recomputed from the plan's sorties)."""
    served = {s.request for s in plan.sorties}
    tallies = scoring.fulfilment(Prepared(instance), served, lambda req: str(getattr(req, by)))
    return {name: asdict(tally) for name, tally in tallies.items()}


def fulfilment_frame(instance: Instance, plan: Plan, by: str) -> pd.DataFrame:
    """The fulfilment table with a total row and `% met` (the GAO-12-518 measure)."""
    rows = [{by: name, **counts} for name, counts in fulfilment(instance, plan, by).items()]
    frame = pd.DataFrame(rows, columns=[by, "requested", "served", "value_requested", "value_served"])
    if len(frame) > 1:
        total = frame.drop(columns=[by]).sum()
        frame.loc[len(frame)] = {by: "all", **total.to_dict()}
    frame["% met"] = [
        round(100 * s / r, 1) if r else 100.0 for s, r in zip(frame["served"], frame["requested"], strict=True)
    ]
    return frame.rename(
        columns={
            "requested": "requests asked",
            "served": "met",
            "value_requested": "value asked",
            "value_served": "value met",
        }
    )[[by, "requests asked", "met", "% met", "value asked", "value met"]]


def unserved_frame(instance: Instance, plan: Plan) -> pd.DataFrame:
    known = {r.id: r for r in instance.requests}
    rows = []
    for u in plan.unserved:
        req = known.get(u.request)
        rows.append(
            {
                "request": u.request,
                "agency": req.agency if req else "",
                "unit": req.unit if req else "",
                "sector": req.sector if req else "",
                "priority": f"P{req.priority}" if req else "",
                "mission": req.mission if req else "",
                "reason": str(u.reason),
                "detail": u.detail,
            }
        )
    return pd.DataFrame(
        rows, columns=["request", "agency", "unit", "sector", "priority", "mission", "reason", "detail"]
    )


def gantt_frame(instance: Instance, plan: Plan, local: Any, zone_label: str = "") -> pd.DataFrame:
    """One row per bar: sorties (kind = agency), relocations, maintenance, turnarounds; times in `local`,
    and the hover text of each bar ends its times with `zone_label` (the chart's axis names it too, but a
    hover box is read on its own, and a Laredo sortie in Arizona's time would read two hours early)."""
    fleet = {a.id: a for a in instance.aircraft}
    requests = {r.id: r for r in instance.requests}
    horizon_end = instance.horizon.end
    zone_note = f" ({zone_label})" if zone_label else ""

    def when(t: datetime) -> str:
        return t.astimezone(local).strftime("%a %H:%M")

    rows: list[dict[str, Any]] = []

    def add(aircraft: str, kind: str, start: datetime, end: datetime, label: str, detail: str) -> None:
        if end > start:
            rows.append(
                {"aircraft": aircraft, "kind": kind, "start": start, "end": end, "label": label, "detail": detail}
            )

    def turnaround(aircraft: str, landing: datetime) -> None:
        ac = fleet.get(aircraft)
        if ac is not None:
            minutes = instance.type_of(ac).turnaround_min
            add(aircraft, "turnaround", landing, landing + timedelta(minutes=minutes), "turnaround", f"{minutes} min")

    for s in plan.sorties:
        req = requests.get(s.request)
        label = f"{s.request}" + (f" · {req.agency} {req.mission} P{req.priority}" if req else "")
        detail = (
            (f"{req.unit}<br>" if req and req.unit else "")
            + f"from {s.base}: takeoff {when(s.takeoff)}, on station {when(s.on_station)}–{when(s.off_station)}, "
            f"landing {when(s.landing)}{zone_note}" + (f"<br>target {req.target}" if req and req.target else "")
        )
        add(s.aircraft, req.agency if req else "unknown request", s.takeoff, s.landing, label, detail)
        turnaround(s.aircraft, s.landing)
    for r in plan.relocations:
        add(
            r.aircraft,
            "relocation",
            r.takeoff,
            r.landing,
            f"relocate {r.from_} → {r.to}",
            f"{when(r.takeoff)}–{when(r.landing)}{zone_note}",
        )
        turnaround(r.aircraft, r.landing)
    for ac in instance.aircraft:
        for w in ac.maintenance:
            start, end = max(w.start, instance.horizon.start), min(w.end, horizon_end)
            span = f"{when(start)}–{when(end)}{zone_note}"
            add(ac.id, "maintenance", start, end, "maintenance", f"{span} at {ac.home_base}")
        if ac.available_from is not None and ac.available_from > instance.horizon.start:
            end = min(ac.available_from, horizon_end)
            until = f"until {when(end)}{zone_note}"
            add(ac.id, "not yet available", instance.horizon.start, end, "not yet available", until)
    frame = pd.DataFrame(rows, columns=["aircraft", "kind", "start", "end", "label", "detail"])
    for col in ("start", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True).dt.tz_convert(local).dt.tz_localize(None)
    return frame


def on_alert(instance: Instance, verdict: CheckReport, sector: str, capability: str | None = None) -> np.ndarray:
    """Aircraft on alert in `sector` (with `capability`, when given) at each minute of the horizon, from the
    checker's alert intervals (`verdict.alert`)."""
    horizon = Timeline(instance.horizon.start, instance.horizon.end).end
    sector_of = {b.id: b.sector for b in instance.bases}
    fleet = {a.id: a for a in instance.aircraft}
    diff = np.zeros(horizon + 1, dtype=np.int64)
    for aircraft, a, b, base in verdict.alert:
        if sector_of.get(base) != sector:
            continue
        if capability is not None and capability not in instance.type_of(fleet[aircraft]).capabilities:
            continue
        diff[a] += 1
        diff[b] -= 1
    return np.cumsum(diff)[:horizon]
