"""Read and write plan files (SPEC section 3) and the sortie CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocator.errors import InputError
from allocator.io.instance_files import atomic_write_text, describe_validation_error, one_line_errors, read_mapping
from allocator.result import Plan

# Keys SPEC section 3 requires of a plan file although the `Plan` model defaults them (internal code relies on
# that), with what to write when there is nothing to give.
REQUIRED_PLAN_KEYS = {"bound": '{"service": null}', "sorties": "[]", "relocations": "[]", "unserved": "[]"}


def load_plan(path: str | Path) -> Plan:
    """Load a plan file; a malformed one is an `InputError` naming the record and field."""
    with one_line_errors():
        return _load_plan(Path(path))


def _load_plan(path: Path) -> Plan:
    data = read_mapping(path, "plan", "a plan object")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, data, path, {}, document="plan", model=Plan)) from None
    _require_keys(data, path)
    return plan


def _require_keys(data: dict[str, Any], path: Path) -> None:
    """A plan file without `bound`, `sorties`, `relocations` or `unserved` is an error (SPEC 3 requires them)."""
    missing = [key for key in REQUIRED_PLAN_KEYS if key not in data]
    if missing:
        instance = data.get("instance")
        label = f"plan for instance '{instance}'" if isinstance(instance, str) and instance else "plan"
        more = f" (and {', '.join(repr(key) for key in missing[1:])})" if len(missing) > 1 else ""
        empty = REQUIRED_PLAN_KEYS[missing[0]]
        raise InputError(
            f"{path}: {label}, field '{missing[0]}': required field is missing{more}; give {empty} if there is none."
        )


def write_plan(plan: Plan, path: str | Path) -> Path:
    """Write the plan JSON atomically."""
    return atomic_write_text(path, plan.to_json())


def write_sorties_csv(plan: Plan, path: str | Path) -> Path:
    """Write one row per sortie (UTC ISO instants)."""
    frame = plan.sorties_frame()
    for col in ("takeoff", "on_station", "off_station", "landing"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%MZ")
    return atomic_write_text(path, frame.to_csv(index=False))
