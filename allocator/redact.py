"""A plan as one agency may see it (issue 5: per-agency export).

The reader's own requests appear in full, with their sorties and reasons. Another agency's request
shows only what the reader may see to deconflict: its agency and unit (whom to contact), its sector,
its place rounded to 0.1 degree (about 6 nm), its window and, when flown, its time on station, under an
opaque reference (`OTHER-001`). Everything is built from a whitelist of fields: another agency's
request id, target, mission, capabilities, priority, free text and aircraft never enter the document,
and every output format (JSON, YAML, CSV) is written from that document alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from allocator.deconflict import with_plan
from allocator.domain import Instance, Request
from allocator.errors import InputError
from allocator.io import atomic_write_text
from allocator.result import STATIC_REASONS, Plan
from allocator.solver.prepare import Prepared
from allocator.solver.reasons import analyse
from allocator.solver.scoring import fulfilment
from allocator.timeline import format_instant

FORMAT = "allocator-agency-export/1"
AREA_DECIMALS = 1  # degrees of latitude/longitude shown for other agencies' places


def agencies(instance: Instance) -> list[str]:
    return sorted({r.agency for r in instance.requests})


def export_for_agency(instance: Instance, plan: Plan, agency: str) -> dict[str, Any]:
    """The plan for one agency: its own requests in full, other agencies' operations redacted."""
    known = agencies(instance)
    agency = next((a for a in known if a.casefold() == agency.casefold()), agency)  # `ice` is ICE
    if agency not in known:
        raise InputError(
            f"agency '{agency}' has no requests in instance {instance.name} (agencies: {', '.join(known)})."
        )
    others = [r for r in instance.requests if r.agency != agency]
    refs = {r.id: f"OTHER-{n:03d}" for n, r in enumerate(others, start=1)}

    def label(request_id: str) -> str:
        return refs.get(request_id, request_id)

    sorties: dict[str, list[dict[str, Any]]] = {}
    for s in plan.sorties:
        sorties.setdefault(s.request, []).append(s.model_dump(mode="json", include=_SORTIE_FIELDS))
    unserved = {u.request: u for u in plan.unserved}
    prep = Prepared(instance)
    own = []
    for req in instance.requests:
        if req.agency != agency:
            continue
        entry = {**req.model_dump(mode="json", exclude_none=True), "served": req.id in sorties}
        entry["sorties"] = sorties.get(req.id, [])
        if req.id in unserved:
            entry |= _reason(prep, unserved[req.id], label)
        own.append(entry)
    other = [_other(req, refs[req.id], sorties.get(req.id, [])) for req in others]
    mine = {r.id for r in instance.requests if r.agency == agency}
    conflicts = []
    for c in with_plan(instance, plan):
        if not ({c.a.request, c.b.request} & mine) or c.a.agency == c.b.agency:
            continue
        own_side, other_side = (c.a, c.b) if c.a.request in mine else (c.b, c.a)
        conflicts.append(
            {
                "id": c.id,
                "kinds": list(c.kinds),
                "request": own_side.request,
                "other": refs[other_side.request],
                "other_agency": other_side.agency,
                "other_unit": other_side.unit,
                # banded (whole 5 nm) so that the reader's exact place cannot pin the other operation down
                "distance_nm_at_most": 5 * max(1, math.ceil(c.distance_nm / 5)),
                "scheduled": c.scheduled,
                "action": c.action,
                "recommendation": c.recommendation(label),
            }
        )
    # recomputed from instance and plan (a plan file's metrics are free-form)
    tally = fulfilment(prep, set(sorties), lambda r: r.agency).get(agency)
    return {
        "format": FORMAT,
        "instance": plan.instance,
        "for_agency": agency,
        "status": str(plan.status),
        "requests": own,
        "other_operations": other,
        "conflicts": conflicts,
        "relocations": _own_relocations(plan, own),
        "fulfilment": {**asdict(tally), "pct_met": round(100 * tally.served / tally.requested, 1)} if tally else None,
    }


_SORTIE_FIELDS = {"aircraft", "request", "base", "takeoff", "on_station", "off_station", "landing"}
_RELOCATION_FIELDS = {"aircraft", "from_", "to", "takeoff", "landing"}


def _own_relocations(plan: Plan, own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Relocations of the aircraft that fly the agency's own requests: another aircraft's movements would
    tie it, by their timing, to the operations it flies for another agency."""
    flying = {s["aircraft"] for entry in own for s in entry["sorties"]}
    return [
        r.model_dump(mode="json", by_alias=True, include=_RELOCATION_FIELDS)
        for r in plan.relocations
        if r.aircraft in flying
    ]


def _reason(prep: Prepared, unserved: Any, label: Callable[[str], str]) -> dict[str, Any]:
    """An own unserved request's reason; competing requests by label (other agencies' by reference only).
    The detail is rebuilt from the instance, never copied: a plan file's free text may name anything."""
    instance = prep.instance
    out: dict[str, Any] = {"reason": str(unserved.reason), "competitors": [label(c) for c in unserved.competitors]}
    if unserved.reason in STATIC_REASONS:  # details name own data only
        found = analyse(prep, instance.request(unserved.request))
        out["detail"] = (
            found.detail
            if found.reason == unserved.reason
            else f"the plan records {unserved.reason}, which the instance alone does not show"
        )
    elif unserved.competitors:
        names = []
        for rid in unserved.competitors:
            req = instance.request(rid)
            contact = ", ".join(part for part in (req.agency, req.unit) if part)  # a unit may be left blank
            names.append(label(rid) if label(rid) == rid else f"{label(rid)} ({contact})")
        out["detail"] = "its aircraft went to " + "; ".join(names)
    else:
        out["detail"] = "could be flown alone, but the plan did not fly it"
    return out


def _other(req: Request, ref: str, sorties: list[dict[str, Any]]) -> dict[str, Any]:
    """Another agency's request: whom to contact, where (rounded) and when; nothing else."""
    entry: dict[str, Any] = {
        "ref": ref,
        "agency": req.agency,
        "unit": req.unit,
        "sector": req.sector,
        "area": {"lat": round(req.lat, AREA_DECIMALS), "lon": round(req.lon, AREA_DECIMALS)},
        "window": {"start": format_instant(req.window.start), "end": format_instant(req.window.end)},
        "flown": bool(sorties),
    }
    if sorties:
        entry["on_station"] = sorties[0]["on_station"]
        entry["off_station"] = sorties[0]["off_station"]
    return entry


# -- files ------------------------------------------------------------------------------------------
def export_frame(doc: dict[str, Any]) -> pd.DataFrame:
    """One row per request of the export document (own in full, others redacted), for CSV."""
    rows = []
    for req in doc["requests"]:
        rows.append(
            {
                "request": req["id"],
                "own": True,
                "agency": req["agency"],
                "unit": req.get("unit", ""),
                "sector": req["sector"],
                "lat": req["lat"],
                "lon": req["lon"],
                "window_start": req["window"]["start"],
                "window_end": req["window"]["end"],
                "mission": req.get("mission", ""),
                "target": req.get("target", ""),
                "priority": req.get("priority"),
                "capabilities": ";".join(req.get("capabilities", [])),
                "served": req["served"],
                "on_station": req["sorties"][0]["on_station"] if req["sorties"] else "",
                "off_station": req["sorties"][0]["off_station"] if req["sorties"] else "",
                "aircraft": ";".join(s["aircraft"] for s in req["sorties"]),
                "reason": req.get("reason", ""),
                "detail": req.get("detail", ""),
            }
        )
    for other in doc["other_operations"]:
        rows.append(
            {
                "request": other["ref"],
                "own": False,
                "agency": other["agency"],
                "unit": other["unit"],
                "sector": other["sector"],
                "lat": other["area"]["lat"],
                "lon": other["area"]["lon"],
                "window_start": other["window"]["start"],
                "window_end": other["window"]["end"],
                "served": other["flown"],
                "on_station": other.get("on_station", ""),
                "off_station": other.get("off_station", ""),
            }
        )
    frame = pd.DataFrame(rows)
    conflicts: dict[str, list[str]] = {}
    for c in doc["conflicts"]:
        conflicts.setdefault(c["request"], []).append(f"{c['id']} with {c['other']} ({c['action']})")
        conflicts.setdefault(c["other"], []).append(f"{c['id']} with {c['request']}")
    if not frame.empty:
        frame["priority"] = frame["priority"].astype("Int64")
        frame["conflicts"] = ["; ".join(conflicts.get(r, [])) for r in frame["request"]]
    return frame


EXPORT_SUFFIXES = (".json", ".yaml", ".yml", ".csv")


def render_export(doc: dict[str, Any], suffix: str) -> str:
    """The export document as JSON, YAML or CSV text (by file suffix)."""
    suffix = suffix.lower()
    if suffix == ".json":
        return json.dumps(doc, indent=2) + "\n"
    if suffix in (".yaml", ".yml"):
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if suffix == ".csv":
        return export_frame(doc).to_csv(index=False)
    raise InputError(f"unknown export format '{suffix}' (expected {', '.join(EXPORT_SUFFIXES)}).")


def write_export(doc: dict[str, Any], path: str | Path) -> Path:
    """Write the export atomically in the format its suffix names."""
    path = Path(path)
    return atomic_write_text(path, render_export(doc, path.suffix))
