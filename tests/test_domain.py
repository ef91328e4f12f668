"""The instance model's own rules, without files."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from allocator.domain import Policy, Window, known_hint


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
