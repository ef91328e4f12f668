"""The problem instance of SPEC section 2, validated once at the boundary.

Every model forbids unknown keys. Field-level rules (ranges, time-zone-aware
instants) are pydantic field constraints; cross-references (unknown base, type,
sector, duplicate ids, durations longer than windows) are checked by
`Instance`'s model validator, whose messages name the record and the field.
This module imports nothing of the project.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_PRIORITY_WEIGHTS: dict[int, int] = {1: 1000, 2: 200, 3: 50, 4: 10, 5: 1}

MINUTES_PER_YEAR = 366 * 24 * 60
"""The longest horizon (and so the longest duration, endurance or turnaround that can matter)."""
LARGEST_FIGURE = 1_000_000
"""Upper limit of a value, weight, penalty or hourly cost: far above any real one, far below int64 overflow."""


def number_not_boolean(value: Any) -> Any:
    """A number field refuses true/false (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not {str(value).lower()}")
    return value


_NUMBER_TEXT = re.compile(r"\s*[-+]?(?=[\d_.]*\d)[\d_]*\.?[\d_]*([eE][-+]?\d+)?\s*")
MAX_HOURS = 100_000  # an aircraft's flight hours (beyond any real budget; keeps CP-SAT's sums small)
FIRST_YEAR, LAST_YEAR = 1900, 2999  # instants outside these years are typing mistakes (and year 1 or 9999
# overflows once converted to UTC or shifted by a time zone)


def instant_not_number(value: Any) -> Any:
    """An instant is ISO 8601 text (or a YAML timestamp), never a number, bare or written as text (pydantic
    would read Unix time: a CSV cell `1796130000` became 2026-12-02T05:00Z)."""
    if isinstance(value, bool):
        raise ValueError(f"expected an ISO 8601 instant such as 2026-12-01T06:00:00-07:00, not {str(value).lower()}")
    if isinstance(value, int | float):
        raise ValueError(f"expected an ISO 8601 instant such as 2026-12-01T06:00:00-07:00, not the number {value!r}")
    if isinstance(value, str) and value.strip() and _NUMBER_TEXT.fullmatch(value):
        raise ValueError(f"'{value}' is a number, not an ISO 8601 instant such as 2026-12-01T06:00:00-07:00")
    return value


def instant_in_supported_years(value: datetime) -> datetime:
    """Instants lie in the years FIRST_YEAR to LAST_YEAR."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.isoformat()} is outside the supported years {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _as_written(value: Any) -> str:
    """A value as the file would write it: `true`, `null`, `["x"]`, `'text'`."""
    if isinstance(value, str):
        return f"'{value}'"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


# Control characters and invisible formatting ones (a right-to-left override would reorder the rest of the line).
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def printable(text: str) -> str:
    """Text for a one-line message: control and invisible characters written as escapes (`\\n`, `\\u202e`)."""
    return _INVISIBLE.sub(lambda found: _ESCAPES.get(found[0], f"\\u{ord(found[0]):04x}"), text)


def count(n: float, noun: str) -> str:
    """`1 request`, `3 requests`, `7.5 flight hours`: a count and its noun, plural unless exactly one."""
    shown = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{shown} {noun}{'' if n == 1 else 's'}"


def trimmed(value: str) -> str:
    """An id or name is written without blanks around it (` N401AM` would be another aircraft than `N401AM`,
    and a CSV table, whose cells are trimmed, would merge them)."""
    if not value.strip():
        raise ValueError("must not be blank")
    if value != value.strip():
        raise ValueError(f"{value!r} has blanks at its start or end")
    return value


MAX_NAME = 200  # characters of an id or the instance's name: the run history's columns hold 200
Id = Annotated[str, Field(min_length=1, max_length=MAX_NAME), AfterValidator(trimmed)]
Int = Annotated[int, BeforeValidator(number_not_boolean)]
Float = Annotated[float, BeforeValidator(number_not_boolean)]
Instant = Annotated[AwareDatetime, BeforeValidator(instant_not_number), AfterValidator(instant_in_supported_years)]
NonNegInt = Annotated[int, BeforeValidator(number_not_boolean), Field(ge=0)]
Figure = Annotated[int, BeforeValidator(number_not_boolean), Field(ge=0, le=LARGEST_FIGURE)]


class InstanceRuleError(ValueError):
    """A cross-reference or consistency error in an instance, located by record and field."""

    def __init__(self, collection: str, record: str, field: str, message: str) -> None:
        self.collection = collection
        self.record = record
        self.field = field
        self.message = message
        super().__init__(f"{collection} record '{record}', field '{field}': {message}")


class _Model(BaseModel):
    # Ids written as bare numbers in YAML/JSON (`id: 1001`) are read as text; NaN and infinity are never valid.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)


class Window(_Model):
    """A half-open time window `[start, end)`."""

    start: Instant
    end: Instant

    @field_validator("end")
    @classmethod
    def _ends_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        # A field validator (not a model validator) so that the error is located at `end`.
        start = info.data.get("start")
        if isinstance(start, datetime) and end <= start:
            raise ValueError(f"{end.isoformat()} is not after the start {start.isoformat()}")
        return end


class Horizon(Window):
    """The planning horizon: nothing may fly outside it; at least one whole minute, at most 366 days."""

    @field_validator("end")
    @classmethod
    def _length(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if not isinstance(start, datetime) or end <= start:
            return end
        if (end - start).total_seconds() > 60 * MINUTES_PER_YEAR:
            raise ValueError(f"the horizon from {start.isoformat()} to {end.isoformat()} is longer than 366 days")
        if math.floor(end.timestamp() / 60) - math.ceil(start.timestamp() / 60) < 1:
            raise ValueError(f"the horizon from {start.isoformat()} to {end.isoformat()} holds no whole minute")
        return end


class Maintenance(Window):
    """A maintenance window: the aircraft is on the ground at its home base."""


class CoverageRule(Window):
    """At every minute of `[start, end)` keep `count` aircraft with `capability` on alert."""

    capability: Id
    count: Int = Field(default=1, ge=1, le=10_000)
    penalty_per_hour: Figure = Field(description="service points lost per aircraft-hour of shortfall (a whole number)")


class Sector(_Model):
    id: Id
    name: str = ""
    coverage: list[CoverageRule] = Field(default_factory=list)


class Base(_Model):
    id: Id
    name: str = ""
    sector: Id
    lat: Float = Field(ge=-90, le=90)
    lon: Float = Field(ge=-180, le=180)
    timezone: str | None = Field(
        default=None,
        description="IANA time zone for local times in reports (extension; default: horizon offset)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown IANA time zone '{name}'") from None
        return name


class AircraftType(_Model):
    id: Id
    category: str = ""
    cruise_kt: Float = Field(ge=1, le=2_000)
    endurance_min: Int = Field(gt=0, le=MINUTES_PER_YEAR)
    turnaround_min: NonNegInt = Field(default=0, le=MINUTES_PER_YEAR)
    cost_per_hour: Float = Field(default=0.0, ge=0, le=LARGEST_FIGURE)
    capabilities: list[str] = Field(default_factory=list)


class Aircraft(_Model):
    id: Annotated[Id, Field(description="tail number")]
    type: Id
    home_base: Id
    available_from: Instant | None = None
    maintenance: list[Maintenance] = Field(default_factory=list)
    hours_available: Float = Field(ge=0, le=MAX_HOURS)
    relocatable: bool = True


class Request(_Model):
    id: Id
    agency: Id
    unit: str = ""
    sector: Id
    mission: str = ""
    lat: Float = Field(ge=-90, le=90)
    lon: Float = Field(ge=-180, le=180)
    window: Window
    duration_min: Int = Field(gt=0, le=MINUTES_PER_YEAR)
    capabilities: list[str]
    aircraft_types: list[str] | None = None
    aircraft_count: Int = Field(default=1, ge=1, le=1_000)
    priority: Int = Field(ge=1, le=5)
    value: Figure | None = None
    target: str | None = None
    submitted_at: Instant | None = Field(
        default=None, description="when it was asked for; FCFS treats a missing one as last"
    )


class Policy(_Model):
    priority_weights: dict[Int, Figure] = Field(default_factory=lambda: dict(DEFAULT_PRIORITY_WEIGHTS))
    max_relocations_per_aircraft: Int = Field(default=1, ge=0, le=4)
    agency_min_share: Annotated[float, Field(ge=0, le=1)] | dict[str, Annotated[float, Field(ge=0, le=1)]] | None = None
    fairness_weight: Figure = 1
    deconfliction_radius_nm: Float = Field(default=5.0, ge=0, le=10_000)

    @field_validator("agency_min_share", mode="before")
    @classmethod
    def _share_shape(cls, value: Any) -> Any:
        # Checked before the union so that a bad value gets one clear message, not one per union member.
        if value is None:
            return value
        if isinstance(value, dict):
            shares = {}
            for agency, share in value.items():
                if not isinstance(agency, str):
                    raise ValueError(f"the agency {_as_written(agency)} must be text (put it in quotes)")
                fraction = _fraction(share)
                if fraction is None:
                    shown = _as_written(share)
                    raise ValueError(f"the share of agency '{agency}' is {shown}, expected a fraction from 0 to 1")
                shares[agency] = fraction
            return shares
        fraction = _fraction(value)
        if fraction is None:
            shown = _as_written(value)
            raise ValueError(f"{shown} is neither a fraction from 0 to 1 nor a map from agency to such a fraction")
        return fraction

    @field_validator("priority_weights", mode="before")
    @classmethod
    def _one_weight_per_priority(cls, weights: Any) -> Any:
        """Keys that read as the same priority (`1` and `'01'`) would silently keep the last one."""
        if isinstance(weights, dict):
            seen: dict[Any, Any] = {}
            for key in weights:
                try:
                    number = int(str(key).strip())
                except ValueError:
                    continue  # the type check names it
                if number in seen:
                    raise ValueError(f"priority {number} is given twice ({seen[number]!r} and {key!r})")
                seen[number] = key
        return weights

    @field_validator("priority_weights")
    @classmethod
    def _weights_cover_priorities(cls, weights: dict[int, int]) -> dict[int, int]:
        missing = [p for p in range(1, 6) if p not in weights]
        if extra := sorted(p for p in weights if p not in range(1, 6)):
            raise ValueError(f"priority {extra[0]} has a weight, but priorities run from 1 to 5")
        if missing:
            raise ValueError(f"there is no weight for priority {missing[0]} (give one for each of 1 to 5)")
        return weights

    def weight(self, priority: int) -> int:
        return self.priority_weights[priority]

    def share(self, agency: str) -> float:
        """The agency's minimum share of its requested value (SPEC section 5); 0 when unset."""
        if self.agency_min_share is None:
            return 0.0
        if isinstance(self.agency_min_share, dict):
            return self.agency_min_share.get(agency, 0.0)
        return self.agency_min_share


class Instance(_Model):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    horizon: Horizon
    bases: list[Base]
    sectors: list[Sector] = Field(default_factory=list)
    aircraft_types: list[AircraftType]
    aircraft: list[Aircraft]
    requests: list[Request]
    policy: Policy = Field(default_factory=Policy)
    format: Literal["allocator-instance/1"] | None = Field(default=None, description="optional format tag")

    _indexes: dict[str, tuple[list, dict]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Instance:
        _check_references(self)
        return self

    # -- lookups -----------------------------------------------------------------
    def base(self, base_id: str) -> Base:
        return self._index("bases")[base_id]

    def type_of(self, aircraft: Aircraft) -> AircraftType:
        return self._index("aircraft_types")[aircraft.type]

    def request(self, request_id: str) -> Request:
        return self._index("requests")[request_id]

    def aircraft_by_id(self, aircraft_id: str) -> Aircraft:
        return self._index("aircraft")[aircraft_id]

    def sector(self, sector_id: str) -> Sector:
        return self._index("sectors")[sector_id]

    def value(self, request: Request) -> int:
        """A served request's contribution to `service` (SPEC section 5)."""
        return request.value if request.value is not None else self.policy.weight(request.priority)

    def _index(self, collection: str) -> dict:
        records = getattr(self, collection)
        cached = self._indexes.get(collection)
        # `model_copy(update=...)` shares this cache with the original: check it indexes *these* records
        if cached is None or cached[0] is not records:
            cached = (records, {rec.id: rec for rec in records})
            self._indexes[collection] = cached
        return cached[1]


def _fraction(value: Any) -> float | None:
    """`value` as a fraction from 0 to 1 (numbers, or text that reads as one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and 0 <= value <= 1:
        return float(value)
    return None


def known_hint(kind: str, ids: set[str]) -> str:
    """` (known <kind>: a, b, c)` for messages about unknown references."""
    if not ids:
        return f" (there are no {kind})"
    names = sorted(ids)
    shown = ", ".join(printable(name) for name in names[:8])
    if len(names) > 8:
        shown += f" and {len(names) - 8} more"
    return f" (known {kind}: {shown})"


def _unique(collection: str, records: list) -> None:
    seen: set[str] = set()
    for rec in records:
        if rec.id in seen:
            raise InstanceRuleError(collection, rec.id, "id", f"duplicate id '{rec.id}'")
        seen.add(rec.id)


def _check_references(inst: Instance) -> None:
    """Every cross-reference and consistency rule of SPEC section 2."""
    for collection in ("bases", "sectors", "aircraft_types", "aircraft", "requests"):
        _unique(collection, getattr(inst, collection))
    if not inst.aircraft:
        raise InstanceRuleError("instance", inst.name, "aircraft", "the fleet is empty")
    sectors = {s.id for s in inst.sectors}
    bases = {b.id for b in inst.bases}
    types = {t.id for t in inst.aircraft_types}
    for base in inst.bases:
        if base.sector not in sectors:
            raise InstanceRuleError(
                "bases", base.id, "sector", f"unknown sector '{base.sector}'{known_hint('sectors', sectors)}"
            )
    for ac in inst.aircraft:
        if ac.type not in types:
            raise InstanceRuleError(
                "aircraft", ac.id, "type", f"unknown aircraft type '{ac.type}'{known_hint('aircraft types', types)}"
            )
        if ac.home_base not in bases:
            raise InstanceRuleError(
                "aircraft", ac.id, "home_base", f"unknown base '{ac.home_base}'{known_hint('bases', bases)}"
            )
    for req in inst.requests:
        if req.sector not in sectors:
            raise InstanceRuleError(
                "requests", req.id, "sector", f"unknown sector '{req.sector}'{known_hint('sectors', sectors)}"
            )
        for type_id in req.aircraft_types or []:
            if type_id not in types:
                raise InstanceRuleError(
                    "requests",
                    req.id,
                    "aircraft_types",
                    f"unknown aircraft type '{type_id}'{known_hint('aircraft types', types)}",
                )
        if req.aircraft_types is not None and not req.aircraft_types:
            raise InstanceRuleError(
                "requests", req.id, "aircraft_types", "the allow-list is empty (omit it to allow all)"
            )
        window_min = (req.window.end - req.window.start).total_seconds() / 60
        if req.duration_min > window_min:
            minutes = "1 minute does" if req.duration_min == 1 else f"{req.duration_min} minutes do"
            raise InstanceRuleError(
                "requests", req.id, "duration_min", f"{minutes} not fit in its {window_min:g}-minute window"
            )
    _check_agency_spelling(inst)


def _check_agency_spelling(inst: Instance) -> None:
    """An agency is written one way: fairness (SPEC 5) and conflicts (SPEC 8) tell agencies apart by their
    exact name, so 'cbp' next to 'CBP' would silently be a third agency or a share that applies to none."""
    spelling: dict[str, tuple[str, str]] = {}  # casefolded agency -> (as first written, by which request)
    for req in inst.requests:
        first = spelling.setdefault(req.agency.casefold(), (req.agency, req.id))
        if first[0] != req.agency:
            message = f"agency '{req.agency}' is written '{first[0]}' in request {first[1]} (one spelling per agency)"
            raise InstanceRuleError("requests", req.id, "agency", message)
    shares = inst.policy.agency_min_share
    for agency in shares if isinstance(shares, dict) else {}:
        written = spelling.get(agency.casefold(), (agency, ""))[0]
        if written != agency:
            message = f"the agency_min_share key '{agency}' is written '{written}' in the requests"
            raise InstanceRuleError("instance", inst.name, "policy", message)
