"""Read and write instances: one JSON or YAML document, or a folder of CSV tables.

CSV layout (one file per table, list fields separated by `;`):

- `instance.csv`: `name, horizon_start, horizon_end` (one row)
- `bases.csv`: `id, name, sector, lat, lon[, timezone]`
- `sectors.csv`: `id, name`
- `coverage.csv` (optional): `sector, start, end, capability, count, penalty_per_hour`
- `aircraft_types.csv`: `id, category, cruise_kt, endurance_min, turnaround_min, cost_per_hour, capabilities`
- `aircraft.csv`: `id, type, home_base, available_from, hours_available, relocatable`
- `maintenance.csv` (optional): `aircraft, start, end`
- `requests.csv`: `id, agency, unit, sector, mission, lat, lon, window_start, window_end,
  duration_min, capabilities, aircraft_types, aircraft_count, priority, value, target, submitted_at`
- `policy.csv` (optional): `key, value` (values are YAML scalars or JSON)

Empty cells mean "not given".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from allocator.domain import Instance, InstanceRuleError
from allocator.errors import InputError

CSV_TABLES = {
    "instance": "instance.csv",
    "bases": "bases.csv",
    "sectors": "sectors.csv",
    "coverage": "coverage.csv",
    "aircraft_types": "aircraft_types.csv",
    "aircraft": "aircraft.csv",
    "maintenance": "maintenance.csv",
    "requests": "requests.csv",
    "policy": "policy.csv",
}
_LIST_FIELDS = {"capabilities", "aircraft_types"}
_REQUIRED_TABLES = ("instance", "bases", "sectors", "aircraft_types", "aircraft")


def read_document(path: Path) -> Any:
    """Parse a JSON or YAML file, naming the file and the place of a syntax error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc}).") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InputError(f"{path}: not valid YAML{where}.") from None


def load_instance(path: str | Path) -> Instance:
    """Load and validate an instance from a JSON/YAML file or a folder of CSV tables."""
    path = Path(path)
    if path.is_dir():
        data, sources = _read_csv_folder(path)
    else:
        if path.suffix.lower() not in {".json", ".yaml", ".yml"}:
            if not path.exists():
                raise InputError(f"{path}: no such file or folder.")
            raise InputError(f"{path}: unknown instance format (expected .json, .yaml, .yml or a CSV folder).")
        data = read_document(path)
        sources = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of instance keys at the top level.")
    return validate_instance(data, path, sources)


def validate_instance(data: dict[str, Any], path: Path, sources: dict[str, Path] | None = None) -> Instance:
    """Validate raw instance data; errors become one `InputError` sentence."""
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, data, path, sources or {})) from None


def describe_validation_error(exc: ValidationError, data: dict[str, Any], path: Path, sources: dict[str, Path]) -> str:
    """One sentence naming the file, the record and the field of the first error."""
    errors = exc.errors()
    first = errors[0]
    more = (
        f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} after this one)" if len(errors) > 1 else ""
    )
    original = (first.get("ctx") or {}).get("error")
    if isinstance(original, InstanceRuleError):
        where = sources.get(original.collection, path)
        return (
            f"{where}: {_singular(original.collection)} '{original.record}', "
            f"field '{original.field}': {original.message}{more}."
        )
    loc = list(first["loc"])
    msg = first["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field (not in the instance schema)"
    elif first["type"] == "missing":
        msg = "required field is missing"
    if not loc:
        return f"{path}: {msg}{more}."
    collection = str(loc[0])
    where = sources.get(collection, path)
    if len(loc) >= 2 and isinstance(loc[1], int):
        records = data.get(collection) or []
        record = records[loc[1]] if loc[1] < len(records) else {}
        rid = record.get("id") if isinstance(record, dict) else None
        label = f"'{rid}'" if rid not in (None, "") else f"number {loc[1] + 1}"
        field = _field_path(loc[2:]) or "(the record itself)"
        return f"{where}: {_singular(collection)} {label}, field '{field}': {msg}{more}."
    field = _field_path(loc)
    return f"{where}: field '{field}': {msg}{more}."


def _field_path(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _singular(collection: str) -> str:
    return {
        "bases": "base",
        "sectors": "sector",
        "aircraft_types": "aircraft type",
        "aircraft": "aircraft",
        "requests": "request",
        "instance": "instance",
    }.get(collection, collection)


# -- CSV folders -------------------------------------------------------------------------------


def _read_table(folder: Path, table: str) -> list[dict[str, Any]] | None:
    path = folder / CSV_TABLES[table]
    if not path.exists():
        if table in _REQUIRED_TABLES:
            raise InputError(f"{folder}: the CSV folder has no {CSV_TABLES[table]}.")
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV table ({str(exc).strip()}).") from None
    rows = []
    for raw in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            value = value.strip()
            if value == "":
                continue
            if key in _LIST_FIELDS:
                row[key] = [v.strip() for v in value.split(";") if v.strip()]
            else:
                row[key] = value
        rows.append(row)
    return rows


def _read_csv_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    tables = {name: _read_table(folder, name) for name in CSV_TABLES}
    sources = {name: folder / file for name, file in CSV_TABLES.items()}
    sources["horizon"] = sources["name"] = sources["instance"]
    meta = tables["instance"] or []
    if len(meta) != 1:
        raise InputError(f"{sources['instance']}: expected exactly one row (name, horizon_start, horizon_end).")
    head = meta[0]
    data: dict[str, Any] = {
        "name": head.get("name", folder.name),
        "horizon": {"start": head.get("horizon_start"), "end": head.get("horizon_end")},
    }
    data["bases"] = tables["bases"]
    sectors = {row.get("id"): {**row, "coverage": []} for row in tables["sectors"] or []}
    for row in tables["coverage"] or []:
        sector_id = row.pop("sector", None)
        if sector_id not in sectors:
            raise InputError(f"{sources['coverage']}: coverage rule names unknown sector '{sector_id}'.")
        sectors[sector_id]["coverage"].append(row)
    data["sectors"] = list(sectors.values())
    data["aircraft_types"] = tables["aircraft_types"]
    aircraft = {row.get("id"): {**row, "maintenance": []} for row in tables["aircraft"] or []}
    for row in tables["maintenance"] or []:
        tail = row.pop("aircraft", None)
        if tail not in aircraft:
            raise InputError(f"{sources['maintenance']}: maintenance names unknown aircraft '{tail}'.")
        aircraft[tail]["maintenance"].append(row)
    data["aircraft"] = list(aircraft.values())
    requests = []
    for row in tables["requests"] or []:
        window = {"start": row.pop("window_start", None), "end": row.pop("window_end", None)}
        requests.append({**row, "window": window})
    data["requests"] = requests
    if tables["policy"]:
        data["policy"] = {row["key"]: yaml.safe_load(row.get("value", "")) for row in tables["policy"] if "key" in row}
    return data, sources


def instance_document(instance: Instance) -> dict[str, Any]:
    """The instance as a JSON-ready mapping (defaults left out)."""
    return instance.model_dump(mode="json", exclude_none=True)


def write_instance(instance: Instance, path: str | Path) -> Path:
    """Write an instance as JSON, YAML, or (a path without suffix) a folder of CSV tables."""
    path = Path(path)
    doc = instance_document(instance)
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    elif path.suffix.lower() in {".yaml", ".yml"}:
        atomic_write_text(path, yaml.safe_dump(doc, sort_keys=False))
    else:
        _write_csv_folder(doc, path)
    return path


def _write_csv_folder(doc: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)

    def flat(row: dict[str, Any]) -> dict[str, Any]:
        return {k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()}

    tables: dict[str, list[dict[str, Any]]] = {
        "instance": [
            {
                "name": doc["name"],
                "horizon_start": doc["horizon"]["start"],
                "horizon_end": doc["horizon"]["end"],
            }
        ],
        "bases": doc["bases"],
        "sectors": [{"id": s["id"], "name": s.get("name", "")} for s in doc["sectors"]],
        "coverage": [{"sector": s["id"], **rule} for s in doc["sectors"] for rule in s.get("coverage", [])],
        "aircraft_types": [flat(t) for t in doc["aircraft_types"]],
        "aircraft": [{k: v for k, v in a.items() if k != "maintenance"} for a in doc["aircraft"]],
        "maintenance": [{"aircraft": a["id"], **m} for a in doc["aircraft"] for m in a.get("maintenance", [])],
        "requests": [
            flat(
                {
                    **{k: v for k, v in r.items() if k != "window"},
                    "window_start": r["window"]["start"],
                    "window_end": r["window"]["end"],
                }
            )
            for r in doc["requests"]
        ],
        "policy": [{"key": k, "value": json.dumps(v)} for k, v in doc.get("policy", {}).items()],
    }
    for name, rows in tables.items():
        atomic_write_text(folder / CSV_TABLES[name], pd.DataFrame(rows).to_csv(index=False))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write a file through a temporary sibling and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
