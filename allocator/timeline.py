"""The one place where instants become integer minutes and back (SPEC section 1).

Minutes count from `horizon.start`. Instants that are not whole minutes are
rounded *inwards* so that a plan built on minutes never breaks the contract:
the start of an allowed period (window start, availability) rounds up, its end
rounds down; a forbidden period (maintenance) grows to whole minutes.
Distances are great-circle nautical miles; transit and ferry times follow
SPEC sections 1 and 4.8.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from allocator.domain import Instance

EARTH_RADIUS_NM = 3440.065


def dist_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in nautical miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(a)))


def transit_min(distance_nm: float, cruise_kt: float) -> int:
    """`ceil(60 * dist / cruise - 1e-6)` minutes (SPEC section 1)."""
    return max(0, math.ceil(60 * distance_nm / cruise_kt - 1e-6))


def ferry_min(transit: int, endurance_min: int, turnaround_min: int) -> int:
    """Shortest relocation flight: transit plus a refuel stop per further endurance (SPEC 4.8)."""
    if transit <= 0:
        return 0
    return transit + turnaround_min * (math.ceil(transit / endurance_min) - 1)


class Timeline:
    """Converts between aware instants and whole minutes since the horizon start."""

    def __init__(self, start: datetime, end: datetime) -> None:
        # minute 0 is the horizon start rounded up to a whole minute (the start of an allowed period), so
        # that every minute is a whole-minute instant and plans can be written exactly
        whole = start.replace(second=0, microsecond=0)
        self.origin = whole if whole == start else whole + timedelta(minutes=1)
        self.end = self.floor(end)

    def _exact(self, instant: datetime) -> float:
        return (instant - self.origin).total_seconds() / 60

    def floor(self, instant: datetime) -> int:
        return math.floor(self._exact(instant) + 1e-9)

    def ceil(self, instant: datetime) -> int:
        return math.ceil(self._exact(instant) - 1e-9)

    def is_whole_minute(self, instant: datetime) -> bool:
        exact = self._exact(instant)
        return abs(exact - round(exact)) < 1e-9

    def minutes(self, instant: datetime) -> int:
        """Minutes of an instant that must be whole (plan instants); rounds to nearest."""
        return round(self._exact(instant))

    def instant(self, minute: int) -> datetime:
        """The UTC instant of a minute."""
        return (self.origin + timedelta(minutes=minute)).astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """ISO 8601 with a UTC offset, whole minutes, `Z` for UTC."""
    text = instant.replace(second=0, microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


def zone(name: str | None, fallback: datetime) -> tzinfo:
    """The time zone named (IANA), or the fixed offset of `fallback` when unnamed or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback.tzinfo or UTC


def agreed_zone_name(names: Iterable[str | None]) -> str | None:
    """The one zone name the bases agree on; None when they name several, or none."""
    distinct = set(names)
    return distinct.pop() if len(distinct) == 1 else None


def sector_zone(instance: Instance, sector: str) -> tzinfo:
    """The zone a sector's texts are written in: the IANA `timezone` its bases share, or the horizon start's
    UTC offset when they name different ones (or none), or the sector has no base."""
    name = agreed_zone_name(b.timezone for b in instance.bases if b.sector == sector)
    return zone(name, instance.horizon.start)


def base_zone(instance: Instance, base_id: str | None) -> tzinfo:
    """The zone of a base's local time: its IANA `timezone`, else the horizon start's UTC offset; UTC for a
    base the instance does not have."""
    try:
        base = instance.base(base_id) if base_id is not None else None
    except KeyError:
        base = None
    return zone(base.timezone, instance.horizon.start) if base is not None else UTC


def local_text(when: datetime, day: str = "%b %d") -> str:
    """A local instant with its zone: `Dec 01 04:00 EST` (`day` formats the date part)."""
    return f"{when.strftime(day)} {when:%H:%M} {zone_label(when)}"


def span_text(first: datetime, last: datetime, day: str = "%b %d") -> str:
    """Two local instants as a span, the end without its date when on the same day, the zone once (twice
    across a change of offset): `Dec 01 04:00–06:00 EST`."""
    tail = f"{last:%H:%M}" if first.date() == last.date() else f"{last.strftime(day)} {last:%H:%M}"
    if zone_label(first) == zone_label(last):
        return f"{first.strftime(day)} {first:%H:%M}–{tail} {zone_label(last)}"
    return f"{local_text(first, day)}–{tail} {zone_label(last)}"


def zone_label(instant: datetime) -> str:
    """`EST`, `MST`, or `UTC-07:00` for a fixed offset (`UTC` for none)."""
    name = instant.tzname() if isinstance(instant.tzinfo, ZoneInfo) else None
    if name and name[0] not in "+-":
        return name
    offset = instant.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{'-' if offset < timedelta(0) else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted disjoint union of half-open intervals."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def free_intervals(blocked: list[tuple[int, int]], horizon: int) -> list[tuple[int, int]]:
    """The complement of `blocked` within `[0, horizon)`."""
    free, cursor = [], 0
    for a, b in sorted(blocked):
        if a > cursor:
            free.append((cursor, min(a, horizon)))
        cursor = max(cursor, b)
        if cursor >= horizon:
            break
    if cursor < horizon:
        free.append((cursor, horizon))
    return [(a, b) for a, b in free if b > a]
