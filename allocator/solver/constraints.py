"""One function per SPEC rule. Eligibility (4.1), transit (4.3), endurance (4.4) and the window part
of service (4.2) are enforced by construction in `model._sortie_candidates`: a sortie that breaks
them is never created, and every sortie takes off exactly `transit` before it is on station."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

from ortools.sat.python import cp_model

from allocator.domain import Aircraft
from allocator.solver.anchor import Anchor
from allocator.solver.prepare import Prepared
from allocator.solver.schedule import RelocationMin
from allocator.solver.scoring import fairness_floor, rule_minutes
from allocator.solver.variables import (
    Derivation,
    Domain,
    FillVar,
    RelocationSlot,
    RuleVars,
    SortieVar,
    TimeGrid,
    Variables,
    last_value,
    upper,
)
from allocator.timeline import merge_intervals


def add_service(v: Variables) -> None:
    """SPEC 4.2: a served request has exactly `aircraft_count` sorties, all on station together (in a
    relaxation, relaxed aircraft count towards the aircraft without being on station together)."""
    for req in v.prep.instance.requests:
        sorties = v.sorties[req.id]
        relaxed = v.pattern_cover.get(req.id, [])
        present = [s.present for s in sorties] + relaxed
        if len(sorties) + sum(upper(n) for n in relaxed) < req.aircraft_count:
            v.model.add(v.served[req.id] == 0)
            for lit in present:
                v.model.add(lit == 0)
            continue
        v.model.add(sum(present) == req.aircraft_count * v.served[req.id])


def add_one_sortie_per_request(v: Variables) -> None:
    """SPEC 4.2: the sorties of one request are flown by distinct aircraft."""
    for sorties in v.by_aircraft.values():
        per_request: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        for s in sorties:
            per_request[s.shape.request].append(s.present)
        for lits in per_request.values():
            if len(lits) > 1:
                v.model.add_at_most_one(lits)


def add_relocation_chain(v: Variables) -> None:
    """SPEC 4.8: relocations happen in order, each from the current operating base to another, taking
    at least the ferry time (with refuel stops), landing inside the horizon."""
    m = v.model
    for ac_id, slots in v.slots.items():
        ac = v.prep.instance.aircraft_by_id(ac_id)
        turnaround = v.prep.type_of(ac).turnaround_min
        previous: RelocationSlot | None = None
        for slot in slots:
            m.add(sum(slot.routes.values()) == slot.present)
            m.add(slot.size == sum((slot.ferry[p] + turnaround) * lit for p, lit in slot.routes.items()))
            landing = slot.start + sum(slot.ferry[p] * lit for p, lit in slot.routes.items())
            m.add(landing <= v.prep.horizon_min).only_enforce_if(slot.present)
            if previous is not None:
                m.add_implication(slot.present, previous.present)
                m.add(slot.start >= previous.end).only_enforce_if(slot.present)
                bases = {b for pair in slot.routes for b in pair}
                for base in bases:
                    # leave `base` only if the previous relocation brought the aircraft there
                    m.add(sum(slot.leaving(base)) <= sum(previous.at(base)))
            previous = slot


def add_sortie_base(v: Variables) -> None:
    """SPEC 4.3: a sortie leaves from and returns to the operating base at takeoff."""
    m = v.model
    for ac_id, sorties in v.by_aircraft.items():
        slots = v.slots[ac_id]
        for s in sorties:
            takeoff = v.on[s.shape.request] - s.shape.out_min
            block_end = takeoff + s.block_min
            if s.slot >= 1:
                slot = slots[s.slot - 1]
                m.add_bool_or(slot.at(s.shape.base)).only_enforce_if(s.present)
                m.add(takeoff >= slot.end).only_enforce_if(s.present)
            if s.slot < len(slots):
                following = slots[s.slot]
                m.add(block_end <= following.start).only_enforce_if([s.present, following.present])


def add_one_thing_at_a_time(v: Variables) -> None:
    """SPEC 4.5/4.6: flights of one aircraft, each with its turnaround, overlap neither each other nor
    maintenance."""
    for ac in v.prep.instance.aircraft:
        intervals = v.flights(ac.id)
        if len(intervals) > 1:
            v.model.add_no_overlap(intervals)


def add_maintenance_at_home(v: Variables) -> None:
    """SPEC 4.6: during maintenance the aircraft is at its home base: no maintenance window falls
    inside a period in which it operates from another base."""
    m = v.model
    for ac in v.prep.instance.aircraft:
        windows = v.prep.maintenance(ac)
        slots = v.slots[ac.id]
        for k, slot in enumerate(slots):
            away = m.new_bool_var(f"away[{ac.id},{k + 1}]")
            m.add(away == slot.present - sum(slot.at(ac.home_base)))
            following = slots[k + 1] if k + 1 < len(slots) else None
            for i, (start, end) in enumerate(windows):
                if following is None:
                    m.add(slot.start >= end).only_enforce_if(away)
                    continue
                # either the window is over before the aircraft leaves home, or it is back home before it
                done_first = m.new_bool_var(f"maintenance_before_leaving[{ac.id},{k + 1},{i}]")
                m.add(slot.start >= end).only_enforce_if([away, done_first])
                m.add_bool_or([done_first, following.present]).only_enforce_if(away)
                m.add(following.end <= start).only_enforce_if([away, done_first.Not()])


def add_hours(v: Variables) -> None:
    """SPEC 4.7: total flight minutes (sorties and relocations) within `60 * hours_available`."""
    m = v.model
    for ac in v.prep.instance.aircraft:
        terms = [s.shape.flight_min * s.present for s in v.by_aircraft[ac.id]]
        for slot in v.slots[ac.id]:
            terms.extend(slot.ferry[p] * lit for p, lit in slot.routes.items())
        total = sum(terms) if terms else 0
        v.flight_minutes[ac.id] = total
        if terms:
            m.add(total <= v.prep.hours_min(ac))


def add_coverage(v: Variables) -> None:
    """SPEC 4.3: per coverage rule, minutes with fewer than `count` capable aircraft on alert in the
    sector are shortfall; penalty = ceil(penalty_per_hour * shortfall / 60).

    Exact "busy plus fill" model. Each of the P aircraft that could ever stand alert for the rule is,
    at every minute, either on alert or *busy*: flying or in turnaround, in maintenance, not yet
    available, or operating from a base outside the sector (an *absence* interval per relocation
    slot). Optional *fill* intervals inside the rule window, at most `count` at a time, join the busy
    intervals in one cumulative of capacity P; so fill(t) <= min(count, alert(t)), and the solver
    maximises the filled minutes: shortfall = count * length - filled minutes."""
    prep = v.prep
    for sector in prep.instance.sectors:
        bases = prep.sector_bases.get(sector.id, set())
        for index, rule in enumerate(sector.coverage):
            start, end = rule_minutes(prep, rule)
            if end <= start or rule.penalty_per_hour == 0:
                continue
            rv = RuleVars(sector.id, index, rule, start, end)
            capable = [ac for ac in prep.instance.aircraft if rule.capability in prep.type_of(ac).capabilities]
            steady = [ac for ac in capable if _always_on_alert(v, ac, bases, start, end)]
            rv.count = max(0, rule.count - len(steady))
            for ac in capable:
                if ac not in steady and rv.count > 0:
                    busy = _busy_intervals(v, rv, ac, bases)
                    if busy is not None:
                        rv.busy[ac.id] = busy
            _fill_and_penalty(v, rv)
            v.rules.append(rv)


def _always_on_alert(v: Variables, ac: Aircraft, sector_bases: set[str], start: int, end: int) -> bool:
    """Whether the aircraft is on alert in the sector for the whole window whatever the plan: based
    there, unable to relocate, available from the start, no maintenance and no possible sortie in it.
    Such aircraft lower the count the others must make up (min(n, k + a) = k + min(n - k, a))."""
    return (
        ac.home_base in sector_bases
        and not v.slots[ac.id]
        and v.prep.available_from(ac) <= start
        and all(e <= start or s >= end for s, e in v.prep.maintenance(ac))
        and all(s.earliest_takeoff >= end or s.latest_takeoff + s.block_min <= start for s in v.by_aircraft[ac.id])
    )


def _busy_intervals(
    v: Variables, rv: RuleVars, ac: Aircraft, sector_bases: set[str]
) -> list[cp_model.IntervalVar] | None:
    """The intervals during which the aircraft is not on alert for the rule (None: never in the sector)."""
    m = v.model
    slots = v.slots[ac.id]
    home_in = ac.home_base in sector_bases
    into = [[lit for b in sector_bases for lit in slot.at(b)] for slot in slots]
    if not home_in and not any(into):
        return None
    busy = [s.interval for s in v.by_aircraft[ac.id] if s.shape.base in sector_bases]
    if home_in:
        # not yet available, or in maintenance (always at home): merged, so that no minute counts twice
        down = _down_spans(v, ac)
        busy.extend(
            m.new_fixed_size_interval_var(start, end - start, f"down[{rv.sector}#{rv.index},{ac.id},{i}]")
            for i, (start, end) in enumerate(down)
        )
    horizon_end = v.prep.horizon_min + max([0, *(upper(slot.size) for slot in slots)])
    tag = f"{rv.sector}#{rv.index},{ac.id}"
    for k in range(len(slots) + 1):
        following = slots[k] if k < len(slots) else None
        if k == 0:
            present: cp_model.IntVar | bool = not home_in
            begin: cp_model.IntVar | int = 0
        else:
            slot = slots[k - 1]
            begin = slot.start
            if into[k - 1]:
                arrived = m.new_bool_var(f"arrives_in[{tag},{k}]")
                m.add(arrived == sum(into[k - 1]))
                rv.derived.append((arrived, _count_of(into[k - 1])))
                busy.append(
                    m.new_optional_interval_var(slot.start, slot.size, slot.end, arrived, f"relocation_in[{tag},{k}]")
                )
                rv.arrived.setdefault(ac.id, {})[k] = arrived
            absent = m.new_bool_var(f"absent[{tag},{k}]")
            m.add(absent == slot.present - sum(into[k - 1]))
            rv.derived.append((absent, _present_less_count(slot.present, into[k - 1])))
            rv.absent.setdefault(ac.id, {})[k] = absent
            present = absent
        if present is False:
            continue
        finish = m.new_int_var(0, horizon_end, f"absence_end[{tag},{k}]")
        if following is None:
            m.add(finish == horizon_end)
            rv.derived.append((finish, _constant(horizon_end)))
        else:
            m.add(finish == following.start).only_enforce_if(following.present)
            m.add(finish == horizon_end).only_enforce_if(following.present.Not())
            rv.derived.append((finish, _start_if_present(following, horizon_end)))
        if present is True:
            absence = m.new_interval_var(begin, finish - begin, finish, f"absence[{tag},{k}]")
        else:
            size = m.new_int_var(0, horizon_end, f"absence_len[{tag},{k}]")
            absence = m.new_optional_interval_var(begin, size, finish, present, f"absence[{tag},{k}]")
            rv.derived.append((size, _length_if_present(present, begin, finish)))
        busy.append(absence)
        rv.absences.add(absence.index)
    return busy


# how `_busy_intervals` derives its auxiliaries from the decisions (for completing a hint)
def _count_of(lits: list[cp_model.IntVar]) -> Derivation:
    """How many of the literals are true."""
    return lambda val: sum(val(lit) for lit in lits)


def _present_less_count(present: cp_model.IntVar, lits: list[cp_model.IntVar]) -> Derivation:
    """`present` less how many of the literals are true."""
    return lambda val: val(present) - sum(val(lit) for lit in lits)


def _constant(value: int) -> Derivation:
    return lambda val: value


def _start_if_present(slot: RelocationSlot, otherwise: int) -> Derivation:
    """The slot's start when it is present, else `otherwise`."""
    return lambda val: val(slot.start) if val(slot.present) else otherwise


def _length_if_present(present: cp_model.IntVar, begin: cp_model.IntVar | int, end: cp_model.IntVar) -> Derivation:
    """`max(0, end - begin)` when `present`, else 0."""
    return lambda val: max(0, val(end) - val(begin)) if val(present) else 0


def _range(interval: cp_model.IntervalVar, which: str) -> tuple[int, int]:
    """The least and greatest value of the interval's `start` or `end` (from its variables' domains)."""
    expr = getattr(interval.proto.interval, which)
    domains = interval.model_proto.variables
    lo = hi = expr.offset
    for index, coeff in zip(expr.vars, expr.coeffs, strict=True):
        a, b = coeff * domains[index].domain[0], coeff * last_value(domains[index].domain)
        lo, hi = lo + min(a, b), hi + max(a, b)
    return lo, hi


def _may_end_inside(interval: cp_model.IntervalVar, rv: RuleVars) -> bool:
    """Whether the busy interval can end strictly inside the rule window."""
    lo, hi = _range(interval, "end")
    return hi > rv.start and lo < rv.end


def _may_overlap(interval: cp_model.IntervalVar, rv: RuleVars) -> bool:
    """Whether the busy interval can overlap the rule window at all."""
    return _range(interval, "start")[0] < rv.end and _range(interval, "end")[1] > rv.start


def _guaranteed_overlap(s: SortieVar, start: int, end: int) -> int:
    """Minutes of the sortie's block that fall in `[start, end)` wherever it is placed (the overlap is
    concave in the takeoff, so its minimum is at one of the extreme takeoffs)."""

    def overlap(takeoff: int) -> int:
        return max(0, min(takeoff + s.block_min, end) - max(takeoff, start))

    return min(overlap(s.earliest_takeoff), overlap(s.latest_takeoff))


def _alert_minutes_bound(v: Variables, rv: RuleVars) -> cp_model.LinearExpr | int:
    """Redundant: covered minutes never exceed the pool's summed alert minutes. Each aircraft's alert
    minutes are at most its window minutes after `available_from`, less its maintenance there (home in
    the sector) and the part of its sorties from the sector that must fall in the window; with a single
    relocation, also at most the minutes before it leaves the sector, or after it arrives."""
    m = v.model
    bases = v.prep.sector_bases.get(rv.sector, set())
    total: cp_model.LinearExpr | int = 0
    for ac_id in rv.busy:
        ac = v.prep.instance.aircraft_by_id(ac_id)
        first = max(rv.start, v.prep.available_from(ac))
        minutes = max(0, rv.end - first)
        if ac.home_base in bases:
            minutes -= sum(max(0, min(e, rv.end) - max(s, first)) for s, e in v.prep.maintenance(ac))
        busy = sum(
            _guaranteed_overlap(s, first, rv.end) * s.present for s in v.by_aircraft[ac_id] if s.shape.base in bases
        )
        alert = m.new_int_var(0, max(0, minutes), f"alert_minutes[{rv.sector}#{rv.index},{ac_id}]")
        m.add(alert <= minutes - busy)
        slots = v.slots[ac_id]
        if len(slots) == 1:
            slot = slots[0]
            if ac.home_base in bases and 1 in rv.absent.get(ac_id, {}):
                before = m.new_int_var(
                    0, 2 * v.prep.horizon_min, f"alert_before_leaving[{rv.sector}#{rv.index},{ac_id}]"
                )
                m.add_max_equality(before, [0, slot.start - first])
                m.add(alert <= before).only_enforce_if(rv.absent[ac_id][1])
            elif ac.home_base not in bases:
                arrived = rv.arrived.get(ac_id, {}).get(1)
                if arrived is None:
                    m.add(alert == 0)
                else:
                    m.add(alert == 0).only_enforce_if(arrived.Not())
                    after = m.new_int_var(
                        0, 2 * v.prep.horizon_min, f"alert_after_arriving[{rv.sector}#{rv.index},{ac_id}]"
                    )
                    m.add_max_equality(after, [0, rv.end - slot.end])
                    m.add(alert <= after).only_enforce_if(arrived)
        total += alert
    return total


def _fill_and_penalty(v: Variables, rv: RuleVars) -> None:
    """Fill intervals (at most `count` at once) share a cumulative with the busy intervals."""
    m = v.model
    length = rv.end - rv.start
    rule = rv.rule
    worst = math.ceil(rule.penalty_per_hour * rv.count * length / 60)
    if not rv.busy or rv.count == 0:
        rv.penalty = worst
        return
    # only what can overlap the window goes into the cumulative: the fills lie inside it, and one aircraft's
    # busy intervals never overlap each other, so the rest could never push it over its capacity (on the
    # three-sector week's Arizona part: 1,053 presolved intervals instead of 2,797, four times the LNS calls)
    busy = [i for intervals in rv.busy.values() for i in intervals if _may_overlap(i, rv)]
    # In a best cover, every stretch at a given level starts at the rule start or where some busy
    # interval ends: one fill anchored at each of those places makes the cover a matter of lengths.
    anchors: list[cp_model.IntervalVar | None] = [None] * rv.count
    # an absence ends where the next relocation starts: the aircraft is still busy, flying (back in, a
    # busy interval) or away again, so no stretch of cover starts there
    anchors += [b for b in busy if b.index not in rv.absences and _may_end_inside(b, rv)]
    for j, after in enumerate(anchors):
        anchor, presence = (rv.start, []) if after is None else (after.end_expr(), after.presence_literals())
        name = f"fill[{rv.sector}#{rv.index},{j}]"
        present = m.new_bool_var(name)
        size = m.new_int_var(0, length, f"{name}.size")
        start = m.new_int_var(rv.start, rv.end, f"{name}.start")
        end = m.new_int_var(rv.start, rv.end, f"{name}.end")
        interval = m.new_optional_interval_var(start, size, end, present, name)
        m.add(size == 0).only_enforce_if(present.Not())
        m.add(start == anchor).only_enforce_if(present)
        for lit in presence:
            m.add_implication(present, lit)
        rv.fills.append(FillVar(present, start, size, end, interval, after))
    fills = [f.interval for f in rv.fills]
    m.add_cumulative(fills, [1] * len(fills), rv.count)
    m.add_cumulative([*busy, *fills], [1] * (len(busy) + len(fills)), len(rv.busy))
    covered = sum(f.size for f in rv.fills)
    m.add(covered <= _alert_minutes_bound(v, rv))
    penalty = m.new_int_var(0, worst, f"coverage_penalty[{rv.sector}#{rv.index}]")
    m.add(60 * penalty >= rule.penalty_per_hour * (rv.count * length - covered))
    rv.penalty = penalty


def add_coverage_time_grid(v: Variables, width: int) -> None:
    """Redundant, time-indexed: in every `width`-minute bucket a rule covers at most its pool's alert
    minutes, and an aircraft's minutes there go to alert in one sector, to flying, or to maintenance.

    The exact model's fills and cumulatives leave the LP free to put an aircraft on alert while it flies
    and in two sectors at once; here sorties, departures and arrivals get one literal per `width`
    minutes of takeoff or arrival, and the minutes they surely take from each bucket count against it."""
    rules = [rv for rv in v.rules if rv.fills]
    if not rules:
        return
    grid = TimeGrid(width, v.prep.horizon_min)
    v.grid = grid
    for ac_id in sorted({ac_id for rv in rules for ac_id in rv.busy}):
        _grid_aircraft(v, grid, ac_id, [rv for rv in rules if ac_id in rv.busy])
    for rv in rules:
        covered = []
        for j in grid.buckets(rv.start, rv.end):
            a, b = max(rv.start, grid.begin(j)), min(rv.end, grid.end(j))
            c = v.model.new_int_var(0, rv.count * (b - a), f"covered[{rv.sector}#{rv.index},{j}]")
            v.model.add(c <= sum(grid.alert[(ac_id, rv.sector, j)] for ac_id in rv.busy))
            grid.covered.append((c, rv, j))
            covered.append(c)
        v.model.add(sum(f.size for f in rv.fills) <= sum(covered))


def _down_spans(v: Variables, ac: Aircraft) -> list[tuple[int, int]]:
    """Minutes the aircraft is not yet available or in maintenance, merged (no minute counts twice)."""
    return merge_intervals([(0, v.prep.available_from(ac)), *v.prep.maintenance(ac)])


def _grid_aircraft(v: Variables, grid: TimeGrid, ac_id: str, rules: list[RuleVars]) -> None:
    """One pool aircraft's alert minutes per sector and bucket, bounded by what its flights surely take."""
    m, prep = v.model, v.prep
    ac = prep.instance.aircraft_by_id(ac_id)
    windows = merge_intervals([(rv.start, rv.end) for rv in rules])
    buckets = sorted({j for a, b in windows for j in grid.buckets(a, b)})
    spans = _down_spans(v, ac)
    down = {j: sum(grid.overlap(a, b, j) for a, b in spans) for j in buckets}
    flying = _sure_flying(v, grid, ac_id, windows, buckets)
    home_sector = prep.instance.base(ac.home_base).sector
    slots = v.slots[ac_id]
    single = slots[0] if len(slots) == 1 else None
    departs = arrives = []
    if single is not None:
        last = grid.end(buckets[-1]) - 1  # a later departure or arrival misses every bucket
        departs = grid.place(m, single.start, single.present, f"departs[{ac_id}]", grid.pieces_of(single.start, last))
        arrives = grid.place(m, single.end, single.present, f"arrives[{ac_id}]", grid.pieces_of(single.end, last))
    sectors = sorted({rv.sector for rv in rules})
    # route literals of the first relocation that land the aircraft in each sector
    into = {
        sector: [lit for slot in slots[:1] for b in prep.sector_bases.get(sector, set()) for lit in slot.at(b)]
        for sector in sectors
    }
    departed = _placed_before(m, grid, departs, buckets, f"departed_before[{ac_id}]")
    arrived = _placed_before(m, grid, arrives, buckets, f"arrived_before[{ac_id}]")
    for j in buckets:
        length = grid.end(j) - grid.begin(j)
        alert = {}
        for sector in sectors:
            x = m.new_int_var(0, length, f"alert[{ac_id},{sector},{j}]")
            alert[sector] = grid.alert[(ac_id, sector, j)] = x
            own = sum(flying[sector][j])
            if sector == home_sector:
                # gone for good after a departure out of the sector (a single relocation never comes back):
                # the whole bucket after an earlier one, the rest of it after one inside it
                gone = length * departed[j] + sum(
                    (grid.end(j) - max(hi, grid.begin(j))) * lit for lo, hi, lit in departs if lo // grid.width == j
                )
                m.add(x + own + down[j] + gone <= length + length * sum(into[sector]))
                m.add(x + own + down[j] <= length)
            elif single is not None:
                m.add(x + own <= length * sum(into[sector]))
                # on alert at most from the arrival: the whole bucket after an earlier one
                m.add(
                    x
                    <= length * arrived[j]
                    + sum((grid.end(j) - lo) * lit for lo, _, lit in arrives if lo // grid.width == j)
                )
        # one place at a time, and never on alert while flying or down
        everything = [t for by_bucket in flying.values() for t in by_bucket[j]]
        m.add(sum(alert.values()) + sum(everything) + down[j] <= length)


def _placed_before(
    m: cp_model.CpModel, grid: TimeGrid, pieces: list[tuple[int, int, cp_model.IntVar]], buckets: list[int], name: str
) -> dict[int, cp_model.IntVar | int]:
    """Per bucket: whether the placed value fell in an earlier bucket, as a running sum of the piece
    literals (one term per piece in all, where summing them afresh per bucket grows with the square of
    the horizon)."""
    out: dict[int, cp_model.IntVar | int] = {}
    previous: cp_model.IntVar | int = 0
    done = 0  # pieces counted so far (they are in time order)
    for j in buckets:
        new = []
        while done < len(pieces) and pieces[done][0] // grid.width < j:
            new.append(pieces[done][2])
            done += 1
        if new:
            total = m.new_int_var(0, 1, f"{name}[{j}]")
            m.add(total == previous + sum(new))
            grid.running.append((total, new, previous))
            previous = total
        out[j] = previous
    return out


def _sure_flying(
    v: Variables, grid: TimeGrid, ac_id: str, windows: list[tuple[int, int]], buckets: list[int]
) -> dict[str | None, dict[int, list]]:
    """Per sector of the sortie's base and bucket: minutes the aircraft's sorties surely take there, as
    terms `minutes * literal`, one literal per bucket the takeoff may fall in."""
    flying: dict[str | None, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    wanted = set(buckets)
    for s in v.by_aircraft[ac_id]:
        if not any(s.earliest_takeoff < b and s.latest_takeoff + s.block_min > a for a, b in windows):
            continue
        out = s.shape.out_min
        name = f"takeoff_in[{s.shape.request},{ac_id},{s.shape.base},{s.slot}]"
        takeoffs = _domain_pieces(s.on_domain, grid, out)
        pieces = grid.place(v.model, v.on[s.shape.request], s.present, name, takeoffs, shift=out, complete=True)
        by_bucket = flying[v.prep.instance.base(s.shape.base).sector]
        for lo, hi, lit in pieces:
            for j in grid.buckets(lo, hi + s.block_min):  # those the block can touch at all
                if j not in wanted:
                    continue
                # the block's overlap with the bucket is concave in the takeoff: least at an end
                sure = min(grid.overlap(lo, lo + s.block_min, j), grid.overlap(hi, hi + s.block_min, j))
                if sure:
                    by_bucket[j].append(sure * lit)
    return flying


def _domain_pieces(domain: Domain, grid: TimeGrid, shift: int) -> list[tuple[int, int]]:
    """The domain's values less `shift`, cut at the bucket edges, each piece as its first and last value."""
    pieces = []
    for lo, hi in grid.pieces(domain.min() - shift, domain.max() - shift):
        part = domain.intersection_with(Domain(lo + shift, hi + shift))
        if not part.is_empty():
            pieces.append((part.min() - shift, part.max() - shift))
    return pieces


def add_fairness(v: Variables) -> None:
    """SPEC 5: value served below an agency's floor `ceil(share * requested)` costs `fairness_weight` each."""
    inst = v.prep.instance
    if inst.policy.agency_min_share is None or inst.policy.fairness_weight == 0:
        return
    by_agency: dict[str, list] = defaultdict(list)
    for req in inst.requests:
        by_agency[req.agency].append(req)
    for agency, reqs in by_agency.items():
        requested = sum(inst.value(r) for r in reqs)
        floor = fairness_floor(inst.policy.share(agency), requested)
        if floor <= 0:
            continue
        deficit = v.model.new_int_var(0, floor, f"fairness_deficit[{agency}]")
        v.model.add(deficit >= floor - sum(inst.value(r) * v.served[r.id] for r in reqs))
        v.fairness_deficit[agency] = deficit


def add_patterns(v: Variables, patterns: dict[str, tuple[int, list[frozenset[str]]]]) -> None:
    """Relaxation: each relaxed aircraft flies the requests of at most one of its maximal patterns (see
    `patterns.py`); `count` identical aircraft share one set of patterns, each chosen by as many of them
    as `pattern[...]` says, and `flies[r,...]` of them count towards request `r`'s aircraft."""
    m = v.model
    for name, (count, sets) in patterns.items():
        chosen = [m.new_int_var(0, count, f"pattern[{name},{i}]") for i in range(len(sets))]
        m.add(sum(chosen) <= count)
        for rid in sorted(set().union(*sets)):
            flies = m.new_int_var(0, count, f"flies[{rid},{name}]")
            m.add(flies <= sum(n for n, p in zip(chosen, sets, strict=True) if rid in p))
            v.pattern_cover.setdefault(rid, []).append(flies)


def add_redundant_cumulatives(v: Variables) -> None:
    """Redundant: requests that only a set E of aircraft can fly never need more than |E| at once."""
    if v.pattern_cover:
        return  # a relaxation: relaxed aircraft fly requests too, outside any cumulative
    inst = v.prep.instance
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for req in inst.requests:
        eligible = frozenset(s.shape.aircraft for s in v.sorties[req.id])
        if len(eligible) >= req.aircraft_count:
            groups[eligible].append(req.id)
    sets = sorted(groups, key=lambda e: (-len(groups[e]), sorted(e)))[:25]
    for pool in sets:
        members = [r for e, rs in groups.items() if e <= pool for r in rs]
        if len(members) < 2:
            continue
        intervals, demands = [], []
        for rid in members:
            sorties = v.sorties[rid]
            lead = min(s.shape.out_min for s in sorties)
            tail = min(s.shape.duration_min + s.shape.back_min + s.turnaround_min for s in sorties)
            intervals.append(
                v.model.new_optional_fixed_size_interval_var(
                    v.on[rid] - lead, lead + tail, v.served[rid], f"demand[{rid}]"
                )
            )
            demands.append(inst.request(rid).aircraft_count)
        v.model.add_cumulative(intervals, demands, len(pool))


def _fits_before(a: SortieVar, b: SortieVar) -> bool:
    """Whether sortie `a`, at its earliest, can end (with turnaround) before `b` takes off at its latest."""
    return a.earliest_block_end <= b.latest_takeoff


def _compatible(a: SortieVar, b: SortieVar) -> bool:
    """Whether one aircraft could fly both candidates (relocation slots fix their order)."""
    if a.shape.request == b.shape.request:
        return False
    if a.slot != b.slot:
        first, second = (a, b) if a.slot < b.slot else (b, a)
        return _fits_before(first, second)
    return _fits_before(a, b) or _fits_before(b, a)


def add_incompatibility_cliques(v: Variables) -> None:
    """Redundant: candidate sorties of one aircraft that pairwise cannot both be flown form cliques of
    which at most one is chosen (a much tighter linear relaxation than NoOverlap alone). Only
    candidates whose possible spans overlap are compared; the rest are ordered by time anyway."""
    for sorties in v.by_aircraft.values():
        ordered = sorted(sorties, key=lambda s: (s.earliest_takeoff, s.latest_takeoff))
        conflicts: dict[int, set[int]] = {i: set() for i in range(len(ordered))}
        for i, a in enumerate(ordered):
            reach = a.latest_takeoff + a.block_min
            for j in range(i + 1, len(ordered)):
                b = ordered[j]
                if b.earliest_takeoff >= reach:
                    break
                if not _compatible(a, b):
                    conflicts[i].add(j)
                    conflicts[j].add(i)
        seen: set[frozenset[int]] = set()
        for i in range(len(ordered)):
            clique = [i]
            common = set(conflicts[i])  # candidates in conflict with every member so far
            for j in sorted(conflicts[i]):
                if j in common:
                    clique.append(j)
                    common &= conflicts[j]
            key = frozenset(clique)
            if len(clique) >= 2 and key not in seen:
                seen.add(key)
                v.model.add_at_most_one([ordered[c].present for c in clique])


def add_symmetry_breaking(v: Variables) -> None:
    """Identical aircraft (same type, base, availability, maintenance, hours) are used in order of
    flight minutes: any plan can be relabelled to satisfy this, so no service is lost."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for ac in v.prep.instance.aircraft:
        groups[identity_key(v.prep, ac)].append(ac.id)
    for members in groups.values():
        for a, b in itertools.pairwise(members):
            if not (isinstance(v.flight_minutes[a], int) and isinstance(v.flight_minutes[b], int)):
                v.model.add(v.flight_minutes[a] >= v.flight_minutes[b])


def identity_key(prep: Prepared, ac: Aircraft) -> tuple:
    """Aircraft with equal keys are interchangeable in every rule and in the objective."""
    return (
        ac.type,
        ac.home_base,
        prep.available_from(ac),
        tuple(prep.maintenance(ac)),
        prep.hours_min(ac),
        prep.max_relocations(ac),
    )


def add_frozen(v: Variables, anchor: Anchor) -> None:
    """SPEC 9: baseline flights that took off before `now` are kept exactly as flown."""
    m = v.model
    for s in v.frozen:
        m.add(s.present == 1)
        m.add(v.on[s.shape.request] == s.on_domain.min())
    for ac_id, slots in v.slots.items():
        flown = [r for r in anchor.frozen_relocations if r.aircraft == ac_id]
        for slot, r in zip(slots, sorted(flown), strict=False):
            route = slot.routes.get((r.origin, r.dest))
            if route is None:
                m.add_bool_or([])  # this relocation cannot be flown again: no plan keeps it
                continue
            m.add(route == 1)
            m.add(slot.start == r.takeoff)


def add_not_before(v: Variables, anchor: Anchor) -> None:
    """SPEC 9: nothing new takes off before `now` (sorties are cut by their on-station domains)."""
    if anchor.not_before is None:
        return
    for ac_id, slots in v.slots.items():
        frozen = sum(1 for r in anchor.frozen_relocations if r.aircraft == ac_id)
        for slot in slots[frozen:]:
            v.model.add(slot.start >= anchor.not_before).only_enforce_if(slot.present)


def add_required(v: Variables, anchor: Anchor) -> None:
    """Requests named as required are served."""
    for rid in sorted(anchor.require):
        v.model.add(v.served[rid] == 1)


def add_stability(v: Variables, anchor: Anchor) -> None:
    """SPEC 9 / issue 4: `kept[b]` only if baseline sortie `b` is flown unchanged (same aircraft, request,
    base, on-station minute; the duration fixes off-station); likewise for each baseline relocation."""
    if anchor.baseline is None:
        return
    m = v.model
    for b in sorted(anchor.baseline.sorties):
        same = [
            s
            for s in v.sorties.get(b.request, [])
            if s.shape.aircraft == b.aircraft
            and s.shape.base == b.base
            and s.shape.duration_min == b.off_station - b.on_station
            and s.on_domain.contains(b.on_station)
        ]
        if not same:
            continue  # cannot be kept: a change whatever the plan
        kept = m.new_bool_var(f"kept[{b.request},{b.aircraft}]")
        m.add_bool_or([s.present for s in same]).only_enforce_if(kept)
        m.add(v.on[b.request] == b.on_station).only_enforce_if(kept)
        v.kept.append(kept)
    for ac_id, slots in v.slots.items():
        for slot, r in zip(slots, anchor.baseline_relocations(ac_id), strict=False):
            add_relocation_stability(v, slot, r)


def add_relocation_stability(v: Variables, slot: RelocationSlot, r: RelocationMin) -> None:
    """SPEC 9 / issue 4: `kept_relocation` only if the aircraft's baseline relocation `r`, its k-th, is its
    k-th again, on the same route at the same takeoff minute (the ferry time fixes the landing)."""
    route = slot.routes.get((r.origin, r.dest))
    if route is None:
        return  # cannot be kept: a change whatever the plan
    kept = v.model.new_bool_var(f"kept_relocation[{r.aircraft},{slot.k},{r.origin}->{r.dest}]")
    v.model.add_implication(kept, route)
    v.model.add(slot.start == r.takeoff).only_enforce_if(kept)
    v.kept_relocations.append(kept)
