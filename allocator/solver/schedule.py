"""A plan in integer minutes, as the solver and the FCFS baseline build it, and its conversion to a `Plan`."""

from __future__ import annotations

from dataclasses import dataclass, field

from allocator.result import Bound, Objective, Plan, Relocation, SolveStatus, Sortie, Unserved
from allocator.timeline import Timeline


@dataclass(frozen=True, order=True)
class SortieMin:
    """A sortie in minutes since the horizon start."""

    takeoff: int
    aircraft: str
    request: str
    base: str
    on_station: int
    off_station: int
    landing: int


@dataclass(frozen=True, order=True)
class RelocationMin:
    """A relocation flight in minutes since the horizon start."""

    takeoff: int
    aircraft: str
    origin: str
    dest: str
    landing: int


Flight = SortieMin | RelocationMin


@dataclass
class Schedule:
    """Sorties and relocations of every aircraft."""

    sorties: list[SortieMin] = field(default_factory=list)
    relocations: list[RelocationMin] = field(default_factory=list)

    def served(self) -> set[str]:
        return {s.request for s in self.sorties}

    def flights(self) -> list[Flight]:
        """Sorties then relocations."""
        return [*self.sorties, *self.relocations]

    def by_aircraft(self) -> dict[str, list[Flight]]:
        """Each aircraft's flights in takeoff order."""
        out: dict[str, list[Flight]] = {}
        for flight in self.flights():
            out.setdefault(flight.aircraft, []).append(flight)
        for flights in out.values():
            flights.sort(key=lambda f: (f.takeoff, f.landing))
        return out

    def to_plan(
        self,
        instance_name: str,
        timeline: Timeline,
        status: SolveStatus,
        objective: Objective,
        bound: int | None,
        unserved: list[Unserved],
    ) -> Plan:
        t = timeline.instant
        return Plan(
            instance=instance_name,
            status=status,
            objective=objective,
            bound=Bound(service=bound),
            sorties=[
                Sortie(
                    aircraft=s.aircraft,
                    request=s.request,
                    base=s.base,
                    takeoff=t(s.takeoff),
                    on_station=t(s.on_station),
                    off_station=t(s.off_station),
                    landing=t(s.landing),
                )
                for s in sorted(self.sorties, key=lambda s: (s.aircraft, s.takeoff))
            ],
            relocations=[
                Relocation(aircraft=r.aircraft, from_=r.origin, to=r.dest, takeoff=t(r.takeoff), landing=t(r.landing))
                for r in sorted(self.relocations, key=lambda r: (r.aircraft, r.takeoff))
            ],
            unserved=unserved,
        )
