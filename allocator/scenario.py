"""What-if scenarios (SPEC section 9): named changes applied to an instance, and minimal-disruption re-planning.

A scenario is a JSON or YAML document `{name?, changes: [change…]}`; each change is a one-key mapping
(`aircraft_down`, `aircraft_add`, `aircraft_remove`, `transfer`, `hours_update`, `request_add`,
`request_cancel`, `request_update`, `policy_update`), applied in order. Loading checks the shape and the
field types; `apply_scenario` checks the references (unknown aircraft, request, base, sector) and
re-validates the changed instance after every change, so that each error names the scenario file, the
change and the field. `replan` solves with a baseline plan to stay close to (`SolveOptions.baseline`,
`SolveOptions.now`).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from allocator.domain import (
    MAX_HOURS,
    MAX_NAME,
    Aircraft,
    CoverageRule,
    Float,
    Instance,
    Instant,
    Policy,
    Request,
    count,
    known_hint,
)
from allocator.errors import InputError
from allocator.io.instance_files import (
    describe_problem,
    describe_validation_error,
    field_path,
    model_at,
    one_line_errors,
    read_mapping,
    render_value,
)
from allocator.result import Plan, Result


class _Model(BaseModel):
    # the same reading of input as the instance models (domain._Model)
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


class AircraftDown(_Model):
    """Adds maintenance `[from, until)`; without `until`, to the end of the horizon."""

    aircraft: str = Field(min_length=1)
    from_: Instant = Field(alias="from")
    until: Instant | None = None

    @field_validator("until")
    @classmethod
    def _ends_after_start(cls, until: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("from_")
        if until is not None and isinstance(start, datetime) and until <= start:
            raise ValueError(f"{until.isoformat()} is not after 'from' {start.isoformat()}")
        return until


class AircraftRemove(_Model):
    aircraft: str = Field(min_length=1)


class Transfer(_Model):
    """The aircraft's home base becomes `base` for the whole horizon (it moved before the horizon starts)."""

    aircraft: str = Field(min_length=1)
    base: str = Field(min_length=1)


class HoursUpdate(_Model):
    aircraft: str = Field(min_length=1)
    hours_available: Float = Field(ge=0, le=MAX_HOURS)


class RequestCancel(_Model):
    request: str = Field(min_length=1)


def _optional_fields(model: type[BaseModel], leave_out: set[str]) -> dict[str, Any]:
    """The fields of a domain model, each optional (default: not given), with the same types and limits."""

    def optional(info: Any) -> Any:
        kind = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        return (kind | None, None)

    return {name: optional(info) for name, info in model.model_fields.items() if name not in leave_out}


# `request`, then any request field but the id: only the fields given change.
RequestUpdate = create_model(
    "RequestUpdate",
    __base__=_Model,
    __doc__="Changes the given fields of a request (null removes an optional one).",
    request=(str, Field(min_length=1)),
    **_optional_fields(Request, {"id"}),
)

# Any policy field; `priority_weights` is merged into the current weights. `coverage` (an extension) maps a
# sector id to its new list of alert coverage rules. `agency_min_share` is checked when applied, by `Policy`.
PolicyUpdate = create_model(
    "PolicyUpdate",
    __base__=_Model,
    __doc__="Changes the given policy fields; `coverage: {SECTOR: [rule…]}` replaces a sector's coverage rules.",
    coverage=(dict[str, list[CoverageRule]] | None, None),
    **{**_optional_fields(Policy, set()), "agency_min_share": (Any, None)},
)

CHANGE_KINDS = (
    "aircraft_down",
    "aircraft_add",
    "aircraft_remove",
    "transfer",
    "hours_update",
    "request_add",
    "request_cancel",
    "request_update",
    "policy_update",
)


class Change(_Model):
    """One change: a mapping with exactly one key, the kind of change."""

    aircraft_down: AircraftDown | None = None
    aircraft_add: Aircraft | None = None
    aircraft_remove: AircraftRemove | None = None
    transfer: Transfer | None = None
    hours_update: HoursUpdate | None = None
    request_add: Request | None = None
    request_cancel: RequestCancel | None = None
    request_update: RequestUpdate | None = None  # type: ignore[valid-type]
    policy_update: PolicyUpdate | None = None  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _one_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) != 1:
            found = ", ".join(map(_key_shown, data)) if data else "none"
            raise ValueError(f"a change is a mapping with exactly one key, the kind of change; found {found}")
        if isinstance(data, dict):
            kind, body = next(iter(data.items()))
            if body is None and kind in CHANGE_KINDS:
                raise ValueError(f"the change '{kind}' has no fields")
        return data

    @property
    def kind(self) -> str:
        return next(iter(self.model_fields_set))

    @property
    def body(self) -> BaseModel:
        return getattr(self, self.kind)

    def describe(self) -> str:
        """A few words for the terminal: `transfer N401AM to LRD`."""
        b: Any = self.body
        given = ", ".join(f"{name} {_shown(getattr(b, name))}" for name in sorted(b.model_fields_set - {"request"}))
        match self.kind:
            case "aircraft_down":
                until = b.until.isoformat() if b.until else "the end of the horizon"
                return f"{b.aircraft} down from {b.from_.isoformat()} until {until}"
            case "aircraft_add":
                return f"add aircraft {b.id} ({b.type} at {b.home_base})"
            case "aircraft_remove":
                return f"remove aircraft {b.aircraft}"
            case "transfer":
                return f"transfer {b.aircraft} to {b.base}"
            case "hours_update":
                return f"{b.aircraft} has {b.hours_available:g} hours"
            case "request_add":
                return f"add request {b.id} (P{b.priority} {b.agency} {b.mission})".replace(" )", ")")
            case "request_cancel":
                return f"cancel request {b.request}"
            case "request_update":
                return f"update request {b.request}: {given}"
            case _:
                return f"policy update: {given}"


def _key_shown(key: Any) -> str:
    """A key of a change as a list item: bare when it reads as a name, else quoted (`''`, `' transfer'`)."""
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][\w-]{0,59}", key):
        return key
    return render_value(key)


def _shown(value: Any) -> str:
    """A changed field's new value, briefly: `null` (removed), a list joined by `;`, instants in ISO 8601."""
    if value is None:
        return "null"
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + "; ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    return f"{value:g}" if isinstance(value, float) else str(value)


class Scenario(_Model):
    """A what-if scenario: changes applied to an instance in order."""

    name: str | None = None
    changes: list[Change]

    _source: str | None = PrivateAttr(default=None)

    @property
    def label(self) -> str:
        """How errors name the scenario: its file, or else its name."""
        return self._source or f"scenario '{self.name or 'unnamed'}'"


# -- loading -------------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file (JSON or YAML); a bad one is an `InputError` naming the file, change and field."""
    with one_line_errors():
        return _load_scenario(Path(path))


def _load_scenario(path: Path) -> Scenario:
    data = read_mapping(path, "scenario", "a scenario mapping (name, changes)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(_describe(exc, data, path)) from None
    if scenario.name is None:
        scenario = scenario.model_copy(update={"name": path.stem})
    scenario._source = str(path)
    return scenario


def _describe(exc: ValidationError, data: dict[str, Any], path: Path) -> str:
    """One sentence for the first validation error: the file, the change (number and kind) and the field."""
    errors = exc.errors()
    # an unknown key explains the rest ("bse" given, so "base" is missing): name it first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    more = len(errors) - 1
    tail = f" ({count(more, 'more problem')} after this one)" if more else ""
    loc = list(first["loc"])
    if len(loc) < 2 or loc[0] != "changes" or not isinstance(loc[1], int):
        return describe_validation_error(exc, data, path, {}, document="scenario", model=Scenario, error=first)
    number = loc[1] + 1
    if len(loc) == 2:
        return f"{path}: change {number}: {describe_problem(first, loc, Scenario)}{tail}."
    kind, rest = str(loc[2]), loc[3:]
    if not rest and first["type"] == "extra_forbidden":
        return f"{path}: change {number}: unknown change kind '{kind}'{_suggest(kind, list(CHANGE_KINDS))}{tail}."
    if not rest:
        return f"{path}: change {number} ({kind}): {describe_problem(first, loc, Scenario)}{tail}."
    if first["type"] == "extra_forbidden":
        owner = model_at(Scenario, loc[:-1])
        names = [info.alias or name for name, info in owner.model_fields.items()] if owner else []
        problem = "unknown field" + (_suggest(str(loc[-1]), names) if names else "")
    else:
        problem = describe_problem(first, loc, Scenario)
    return f"{path}: change {number} ({kind}), field '{field_path(rest)}': {problem}{tail}."


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (the known ones are {', '.join(known)})"


# -- applying ------------------------------------------------------------------------------------


class _ChangeError(Exception):
    """A change that names something the instance does not have: (field, problem)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _find(records: list[dict[str, Any]], record_id: str, field: str, kind: str, plural: str = "") -> dict[str, Any]:
    for record in records:
        if record["id"] == record_id:
            return record
    known = known_hint(plural or kind, {r["id"] for r in records})
    raise _ChangeError(field, f"unknown {kind} '{record_id}'{known}")


def _aircraft_down(doc: dict[str, Any], change: AircraftDown) -> None:
    record = _find(doc["aircraft"], change.aircraft, "aircraft", "aircraft")
    end = change.until or doc["horizon"]["end"]
    if end <= change.from_:
        raise _ChangeError("from", f"{change.from_.isoformat()} is not before the end of the horizon")
    # merged with the windows it overlaps or touches: the aircraft is down over their union
    windows = sorted([(m["start"], m["end"]) for m in record["maintenance"]] + [(change.from_, end)])
    merged: list[list[datetime]] = []
    for start, stop in windows:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    record["maintenance"] = [{"start": start, "end": stop} for start, stop in merged]


def _aircraft_add(doc: dict[str, Any], change: Aircraft) -> None:
    doc["aircraft"].append(change.model_dump())


def _aircraft_remove(doc: dict[str, Any], change: AircraftRemove) -> None:
    doc["aircraft"].remove(_find(doc["aircraft"], change.aircraft, "aircraft", "aircraft"))


def _transfer(doc: dict[str, Any], change: Transfer) -> None:
    record = _find(doc["aircraft"], change.aircraft, "aircraft", "aircraft")
    _find(doc["bases"], change.base, "base", "base", "bases")
    record["home_base"] = change.base


def _hours_update(doc: dict[str, Any], change: HoursUpdate) -> None:
    _find(doc["aircraft"], change.aircraft, "aircraft", "aircraft")["hours_available"] = change.hours_available


def _request_add(doc: dict[str, Any], change: Request) -> None:
    doc["requests"].append(change.model_dump())


def _request_cancel(doc: dict[str, Any], change: RequestCancel) -> None:
    doc["requests"].remove(_find(doc["requests"], change.request, "request", "request", "requests"))


def _request_update(doc: dict[str, Any], change: BaseModel) -> None:
    record = _find(doc["requests"], change.request, "request", "request", "requests")  # type: ignore[attr-defined]
    for name, value in change.model_dump(exclude_unset=True, exclude={"request"}).items():
        if value is None:  # null removes the field: an optional one goes back to its default
            record.pop(name, None)
        else:
            record[name] = value


def _policy_update(doc: dict[str, Any], change: BaseModel) -> None:
    fields = change.model_dump(exclude_unset=True)
    for sector_id, rules in (fields.pop("coverage", None) or {}).items():
        _find(doc["sectors"], sector_id, f"coverage.{sector_id}", "sector", "sectors")["coverage"] = rules
    if "priority_weights" in fields and fields["priority_weights"] is not None:
        fields["priority_weights"] = {**doc["policy"]["priority_weights"], **fields["priority_weights"]}
    doc["policy"].update(fields)


_APPLY: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "aircraft_down": _aircraft_down,
    "aircraft_add": _aircraft_add,
    "aircraft_remove": _aircraft_remove,
    "transfer": _transfer,
    "hours_update": _hours_update,
    "request_add": _request_add,
    "request_cancel": _request_cancel,
    "request_update": _request_update,
    "policy_update": _policy_update,
}


def apply_scenario(instance: Instance, scenario: Scenario) -> Instance:
    """The instance with the scenario's changes applied in order, validated like a loaded instance.

    The changed instance is named `<instance>+<scenario>` (cut to `MAX_NAME` characters) when the scenario
    changes anything."""
    with one_line_errors():
        return _apply_scenario(instance, scenario)


def _apply_scenario(instance: Instance, scenario: Scenario) -> Instance:
    doc = instance.model_dump()
    changed = instance
    for number, change in enumerate(scenario.changes, 1):
        where = f"{scenario.label}: change {number} ({change.kind})"
        try:
            _APPLY[change.kind](doc, change.body)
        except _ChangeError as exc:
            raise InputError(f"{where}, field '{exc.field}': {exc.problem}.") from None
        try:
            changed = Instance.model_validate(doc)
        except ValidationError as exc:
            marker = Path("\0")
            sentence = describe_validation_error(exc, doc, marker, {}).removeprefix(f"{marker}: ")
            raise InputError(f"{where}: {sentence}") from None
    if scenario.changes:  # named within the limit of a name, so that the changed instance can be read back
        name = f"{instance.name}+{scenario.name or 'scenario'}"[:MAX_NAME]
        changed = changed.model_copy(update={"name": name})
    return changed


# -- re-planning ---------------------------------------------------------------------------------


class ScenarioError(InputError):
    """A re-plan of a changed instance failed on its frozen flights: `scenario` made a baseline flight
    impossible to keep, or None when the unchanged instance cannot keep it either (the baseline's fault)."""

    def __init__(self, cause: InputError, scenario: Scenario | None) -> None:
        super().__init__(str(cause))
        self.scenario = scenario


def replan(instance: Instance, baseline: Plan, now: datetime | None = None, options: Any = None) -> Result:
    """Re-plan with minimal disruption: keep `baseline` unless changing it gains service (SPEC section 9).

    Baseline flights that took off before `now` are kept exactly as flown and nothing new takes off
    before `now`; `plan.run["changes"]` is the number of baseline sorties changed. `options` is a
    `SolveOptions` (its baseline and now are set here). Raises `InputError` when a frozen flight no
    longer fits the instance."""
    from allocator import solver  # the module, so that a test's checked `solve` is the one called

    options = dataclasses.replace(options or solver.SolveOptions(), baseline=baseline, now=now)
    return solver.solve(instance, options)


def check_frozen(
    original: Instance, changed: list[Instance], scenarios: list[Scenario], baseline: Plan, now: datetime | None
) -> None:
    """Before anything is solved: every changed instance can keep the baseline flights that took off before
    `now` (SPEC section 9); else `ScenarioError` blaming the first scenario that cannot, or the baseline
    when the unchanged instance cannot keep the flight either."""
    from allocator.solver import check_frozen_flights

    def problem(inst: Instance) -> InputError | None:
        try:
            check_frozen_flights(inst, baseline, now)
        except InputError as exc:
            return exc
        return None

    for inst, scenario in zip(changed, scenarios, strict=True):
        found = problem(inst)
        if found is not None:
            raise ScenarioError(found, None if str(problem(original)) == str(found) else scenario)


def replan_all(
    changed: list[Instance],
    scenarios: list[Scenario],
    baseline: Plan,
    now: datetime | None = None,
    options: Any = None,
    jobs: int = 1,
) -> list[Result]:
    """`replan` of every changed instance, in scenario order; in `jobs` processes when there are several.
    A re-plan's `InputError` comes out as `ScenarioError` naming its scenario."""
    results: list[Result] = []
    try:
        if jobs <= 1:
            for inst in changed:
                results.append(replan(inst, baseline, now, options))
            return results
        # spawn, not fork: the caller may already run OR-Tools threads (e.g. a solve of the unchanged instance)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(replan, inst, baseline, now, options) for inst in changed]
            for future in futures:
                results.append(future.result())
            return results
    except InputError as exc:
        raise ScenarioError(exc, scenarios[len(results)]) from None
