"""The instance model's own rules, without files."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from allocator.domain import LARGEST_FIGURE, AircraftType, Horizon, Instance, Policy, Request, Window, known_hint
from factory import aircraft, make, request


@pytest.mark.parametrize(
    ("given", "read"),
    [(None, None), (0.25, 0.25), (1, 1.0), ("0.5", 0.5), ({"CBP": 0.3, "ICE": 1}, {"CBP": 0.3, "ICE": 1.0})],
)
def test_agency_min_share_forms(given: Any, read: Any) -> None:
    policy = Policy(agency_min_share=given)
    assert policy.agency_min_share == read
    assert policy.share("CBP") == (read["CBP"] if isinstance(read, dict) else read or 0.0)
    assert policy.share("DEA") == (0.0 if isinstance(read, dict) or read is None else read)


@pytest.mark.parametrize("given", [1.5, -0.1, True, "half", {"CBP": 2}, {"CBP": None}, [0.5]])
def test_bad_agency_min_share_is_one_error(given: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Policy(agency_min_share=given)
    errors = caught.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("agency_min_share",)


def test_priority_weights_must_cover_every_priority() -> None:
    with pytest.raises(ValidationError) as caught:
        Policy(priority_weights={1: 5, 2: 4, 3: 3, 5: 1})
    (error,) = caught.value.errors()
    assert error["loc"] == ("priority_weights",)
    assert "no weight for priority 4" in error["msg"]


def test_window_error_is_located_at_its_end() -> None:
    with pytest.raises(ValidationError) as caught:
        Window(start="2026-12-01T10:00:00Z", end="2026-12-01T10:00:00Z")
    (error,) = caught.value.errors()
    assert error["loc"] == ("end",)
    assert "is not after the start" in error["msg"]


def test_known_hint() -> None:
    assert known_hint("bases", {"TUS", "FHU"}) == " (known bases: FHU, TUS)"
    assert known_hint("bases", set()) == " (there are no bases)"
    assert known_hint("bases", {f"B{i:02}" for i in range(10)}).endswith("B07 and 2 more)")


def _request(**fields: Any) -> Request:
    record: dict[str, Any] = {
        "id": "R1",
        "agency": "CBP",
        "sector": "TUC",
        "lat": 31.5,
        "lon": -110.9,
        "window": {"start": "2026-12-01T08:00:00Z", "end": "2026-12-01T12:00:00Z"},
        "duration_min": 60,
        "priority": 3,
        "capabilities": [],
    }
    return Request.model_validate(record | fields)


def _error(fields: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        _request(**fields)
    (error,) = caught.value.errors()
    return dict(error)


@pytest.mark.parametrize("field", ["priority", "duration_min", "aircraft_count", "lat", "value"])
def test_a_number_field_refuses_true_or_false(field: str) -> None:
    error = _error({field: True})
    assert error["loc"] == (field,)
    assert "expected a number, not true" in error["msg"]


def test_a_number_field_takes_a_number_written_as_a_whole_float_or_text() -> None:
    request = _request(priority=2.0, duration_min="90", value=7)
    assert (request.priority, request.duration_min, request.value) == (2, 90, 7)


def test_an_instant_refuses_a_bare_number() -> None:
    error = _error({"submitted_at": 1764594000})
    assert error["loc"] == ("submitted_at",)
    assert "ISO 8601" in error["msg"] and "1764594000" in error["msg"]
    assert _request(submitted_at="2026-11-30T09:00:00-07:00").submitted_at is not None


def test_a_value_above_the_largest_figure_is_refused() -> None:
    assert _request(value=LARGEST_FIGURE).value == LARGEST_FIGURE
    assert _error({"value": LARGEST_FIGURE + 1})["loc"] == ("value",)


@pytest.mark.parametrize(
    ("field", "bad"), [("cruise_kt", 1e-320), ("cost_per_hour", 1e308), ("turnaround_min", 10**30)]
)
def test_aircraft_type_figures_outside_their_range_are_refused(field: str, bad: float) -> None:
    record = {"id": "H125", "cruise_kt": 120, "endurance_min": 168, "turnaround_min": 30, "cost_per_hour": 1500}
    assert AircraftType.model_validate(record).cruise_kt == 120
    with pytest.raises(ValidationError) as caught:
        AircraftType.model_validate(record | {field: bad})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_a_horizon_of_a_year_is_allowed_and_a_longer_one_refused() -> None:
    assert Horizon(start="2026-01-01T00:00:00Z", end="2027-01-01T00:00:00Z")
    with pytest.raises(ValidationError, match="longer than 366 days"):
        Horizon(start="2026-01-01T00:00:00Z", end="2027-01-03T00:00:00Z")


@pytest.mark.parametrize("instant", ["1899-12-31T23:59:00Z", "3000-01-01T00:00:00Z", "0001-01-01T06:00:00+07:00"])
def test_an_instant_outside_the_supported_years_is_refused(instant: str) -> None:
    assert Horizon(start="1900-01-01T00:00:00Z", end="1900-01-02T00:00:00Z")
    with pytest.raises(ValidationError, match="outside the supported years 1900 to 2999"):
        Horizon(start=instant, end="2026-01-01T00:00:00Z")


@pytest.mark.parametrize("text", ["1796130000", " 0 ", "1.7e9", "20261201", "-5"])
def test_an_instant_written_as_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="is a number, not an ISO 8601 instant"):
        Horizon(start=text, end="2026-12-02T00:00:00Z")


def test_a_horizon_without_a_whole_minute_is_refused() -> None:
    assert Horizon(start="2026-12-01T06:00:10Z", end="2026-12-01T06:02:00Z")
    with pytest.raises(ValidationError, match="holds no whole minute"):
        Horizon(start="2026-12-01T06:00:10Z", end="2026-12-01T06:00:50Z")
    with pytest.raises(ValidationError, match="holds no whole minute"):
        Horizon(start="2026-12-01T06:00:10Z", end="2026-12-01T06:01:30Z")


def test_priority_weights_only_for_priorities_one_to_five() -> None:
    with pytest.raises(ValidationError, match="priority 9 has a weight"):
        Policy(priority_weights={1: 5, 2: 4, 3: 3, 4: 2, 5: 1, 9: 3})


def _with_agencies(agencies: list[str], shares: dict[str, float] | None = None) -> Instance:
    requests = [request(f"R{n}", agency=agency) for n, agency in enumerate(agencies)]
    return make([aircraft("H1")], requests, policy={"agency_min_share": shares} if shares else None)


def test_one_spelling_per_agency_is_allowed_and_a_second_spelling_refused() -> None:
    assert _with_agencies(["CBP", "ICE", "CBP"], {"CBP": 0.3, "DEA": 0.1})  # DEA: no requests today
    with pytest.raises(ValidationError, match="agency 'cbp' is written 'CBP' in request R0"):
        _with_agencies(["CBP", "ICE", "cbp"])
    with pytest.raises(ValidationError, match="agency_min_share key 'ice' is written 'ICE'"):
        _with_agencies(["CBP", "ICE"], {"ice": 0.5})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", " R1", "has blanks at its start or end"),
        ("id", "R1\n", "has blanks at its start or end"),
        ("agency", "   ", "must not be blank"),
        ("sector", "\tTUC", "has blanks at its start or end"),
    ],
)
def test_an_id_with_blanks_around_it_is_refused(field: str, value: str, message: str) -> None:
    assert _request(**{field: value.strip() or "CBP"})
    with pytest.raises(ValidationError, match=message):
        _request(**{field: value})


@pytest.mark.parametrize("weights", [{"1": 1000, "01": 5}, {1: 1000, "1": 5}])
def test_a_priority_given_twice_in_the_weights_is_refused(weights: dict) -> None:
    rest = {2: 200, 3: 50, 4: 10, 5: 1}
    assert Policy(priority_weights={1: 1000, **rest})
    with pytest.raises(ValidationError, match="priority 1 is given twice"):
        Policy(priority_weights={**weights, **rest})
