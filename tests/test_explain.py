"""Explanations (issue 5): every reason code with its evidence, what it would take, served requests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator import SolveOptions, SolveStatus, solve
from allocator.cli import app
from allocator.errors import InputError
from allocator.explain import ExplainOptions, explain, explanations_frame, explanations_json
from allocator.io import write_instance, write_plan
from allocator.result import Plan, Reason
from allocator.solver.prepare import Prepared
from factory import aircraft, make, relocating_candidate, request, t

QUICK = SolveOptions(time_limit_s=5, workers=1)
FAST = ExplainOptions(time_limit_s=3, workers=1)


def one(explanations, rid: str):
    (found,) = [e for e in explanations if e.request == rid]
    return found


def every_code():
    """One non-relocatable light helicopter at A, in maintenance 14:00-18:00, and a request per reason."""
    inst = make(
        [aircraft("L1", relocatable=False, maintenance=[{"start": t("14:00"), "end": t("18:00")}])],
        [
            request("R-WIN", start="08:00", end="09:00", priority=1),
            request("R-LOST", start="08:00", end="09:00", priority=3),
            request("R-NOCAP", caps=["hoist"]),
            request("R-FAR", near="B", start="12:00", end="18:00"),
            request("R-MAINT", start="14:30", end="17:00"),
        ],
    )
    return inst, solve(inst, QUICK).plan


# -- every reason code with its evidence -----------------------------------------------------------------
def test_every_unserved_request_gets_its_reason_code():
    inst, plan = every_code()
    assert plan.status == SolveStatus.OPTIMAL
    reasons = {e.request: e.reason for e in explain(inst, plan, options=FAST)}
    assert reasons == {
        "R-LOST": Reason.OUTCOMPETED,
        "R-NOCAP": Reason.NO_CAPABLE_TYPE,
        "R-FAR": Reason.OUT_OF_RANGE,
        "R-MAINT": Reason.UNAVAILABLE,
    }


def test_a_recorded_reason_the_instance_contradicts_is_decided_again():
    # a plan from another tool swaps two codes: R-LOST is flyable alone, R-NOCAP is not flyable at all
    inst, plan = every_code()
    swapped = {"R-LOST": Reason.NO_CAPABLE_TYPE, "R-NOCAP": Reason.OUTCOMPETED}
    lying = plan.model_copy(
        update={
            "unserved": [
                u.model_copy(update={"reason": swapped[u.request]}) if u.request in swapped else u
                for u in plan.unserved
            ]
        }
    )
    found = {e.request: e for e in explain(inst, lying, ["R-LOST", "R-NOCAP", "R-FAR"], FAST)}
    assert found["R-LOST"].reason == Reason.OUTCOMPETED and found["R-NOCAP"].reason == Reason.NO_CAPABLE_TYPE
    assert "the plan records NO_CAPABLE_TYPE" in found["R-LOST"].detail
    assert found["R-FAR"].reason == Reason.OUT_OF_RANGE and "the plan records" not in found["R-FAR"].detail


def test_no_capable_type_says_what_each_type_lacks():
    inst, plan = every_code()
    e = one(explain(inst, plan, ["R-NOCAP"], FAST), "R-NOCAP")
    assert e.aircraft == []  # no eligible aircraft
    assert e.fleet_types == {"LIGHT": "lacks hoist", "MEDIUM": ""}  # MEDIUM would do, but none is in the fleet


def test_out_of_range_names_the_aircraft_its_base_and_flight():
    inst, plan = every_code()
    (ev,) = one(explain(inst, plan, ["R-FAR"], FAST), "R-FAR").aircraft
    assert (ev.aircraft, ev.status, ev.bases_in_range, ev.base) == ("L1", "out_of_range", [], "A")
    assert ev.flight_min > ev.endurance_min and "not relocatable" in ev.note


def test_unavailable_names_the_maintenance_window():
    inst, plan = every_code()
    (ev,) = one(explain(inst, plan, ["R-MAINT"], FAST), "R-MAINT").aircraft
    assert ev.status == "down" and ev.bases_in_range == ["A"] and ev.note == "is in maintenance Dec 01 14:00–18:00 UTC"


def test_unavailable_for_lack_of_hours_says_so():
    inst = make([aircraft("L1", hours=1)], [request("R1")])  # a 90-minute sortie, 60 minutes of hours
    plan = solve(inst, QUICK).plan
    e = one(explain(inst, plan, options=FAST), "R1")
    assert e.reason == Reason.UNAVAILABLE
    assert e.aircraft[0].status == "out_of_hours" and "60 flight min" in e.aircraft[0].note


def test_outcompeted_names_the_aircraft_and_the_request_holding_it():
    inst, plan = every_code()
    e = one(explain(inst, plan, ["R-LOST"], FAST), "R-LOST")
    assert e.competitors == ["R-WIN"]
    (ev,) = e.aircraft
    assert ev.status == "busy" and ev.busy_with == ["R-WIN"]
    assert ev.cost == 1800  # 15 + 60 + 15 minutes at $1,200 an hour


def test_not_proven_when_the_plan_is_not_proven_optimal():
    inst, plan = every_code()
    unproven = plan.model_copy(update={"status": SolveStatus.FEASIBLE, "unserved": [], "run": {}})
    e = one(explain(inst, unproven, ["R-LOST"], FAST), "R-LOST")
    assert e.reason == Reason.NOT_PROVEN and e.competitors == ["R-WIN"]
    assert e.what_it_would_take is not None and e.what_it_would_take.served


# -- what it would take -----------------------------------------------------------------------------------
def test_what_it_would_take_drops_the_winner_exactly():
    inst, plan = every_code()
    wit = one(explain(inst, plan, ["R-LOST"], FAST), "R-LOST").what_it_would_take
    assert wit.proven and wit.served and wit.flown_by == ["L1"]
    assert [(c.request, c.agency, c.priority) for c in wit.dropped] == [("R-WIN", "CBP", 1)]
    assert wit.moved == [] and wit.added == []
    assert (wit.service_change, wit.cost_change) == (50 - 1000, 0)  # same 90-minute sortie


def test_ctrl_c_in_a_what_it_would_take_re_plan_stops_the_explanations(monkeypatch: pytest.MonkeyPatch):
    # one Ctrl-C must stop `explain`, not only the re-plan it interrupts (and show that re-plan as an answer)
    from allocator import solver

    inst, plan = every_code()
    real = solver.solve
    monkeypatch.setattr(solver, "solve", lambda *a, **k: real(*a, **k).model_copy(update={"interrupted": True}))
    with pytest.raises(KeyboardInterrupt):
        explain(inst, plan, ["R-LOST"], FAST)


def test_what_it_would_take_agrees_with_an_independent_re_solve():
    # a third request the aircraft can fly either way; force R-LOST in by making it worth a fortune instead
    inst, _ = every_code()
    extra = request("R-LATE", start="10:00", end="13:00", priority=4)
    inst = make(
        [aircraft("L1", relocatable=False, maintenance=[{"start": t("14:00"), "end": t("18:00")}])],
        [*[r.model_dump(mode="json", exclude_none=True) for r in inst.requests], extra],
    )
    plan = solve(inst, QUICK).plan
    wit = one(explain(inst, plan, ["R-LOST"], FAST), "R-LOST").what_it_would_take
    rich = [r.model_copy(update={"value": 10**6}) if r.id == "R-LOST" else r for r in inst.requests]
    independent = solve(inst.model_copy(update={"requests": rich}), QUICK).plan
    assert wit.proven
    assert plan.objective.service + wit.service_change == independent.objective.service - 10**6 + 50
    assert plan.objective.cost + wit.cost_change == independent.objective.cost


def hours_bound():
    """L1 has 2 h: R-A (P1) at 08:00 or R-B (P3) at 12:00, each a 90-minute sortie, not both."""
    inst = make(
        [aircraft("L1", hours=2)],
        [
            request("R-A", start="08:00", end="09:00", priority=1),
            request("R-B", start="12:00", end="13:00", priority=3, agency="ICE"),
        ],
    )
    return inst, solve(inst, QUICK).plan


def test_one_extra_hour_would_have_done_it_and_a_relocation_would_not():
    inst, plan = hours_bound()
    e = one(explain(inst, plan, options=FAST), "R-B")
    assert e.reason == Reason.OUTCOMPETED
    assert e.aircraft[0].status == "out_of_hours"
    wit = e.what_it_would_take
    assert [c.request for c in wit.dropped] == ["R-A"] and wit.service_change == 50 - 1000
    remedies = {r.kind: r for r in wit.remedies}
    hour = remedies["extra_hour"]
    assert hour.aircraft == "L1" and hour.works is True
    assert (hour.service_change, hour.cost_change) == (50, 1800)  # one more 90-minute sortie at $1,200/h
    assert remedies["extra_relocation"].works is False
    assert "one more flight hour for L1" in wit.summary


def coverage_bound():
    """Flying R1 (P3, 50) takes L1 off alert at A for 120 minutes (sortie and turnaround), 1,200 of penalty."""
    rule = {"start": t("00:00"), "end": t("23:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 600}
    inst = make([aircraft("L1")], [request("R1")], coverage={"S1": [rule]})
    return inst, solve(inst, QUICK).plan


def test_what_it_would_take_shows_the_service_lost_in_alert_coverage():
    inst, plan = coverage_bound()
    e = one(explain(inst, plan, options=FAST), "R1")
    wit = e.what_it_would_take
    assert e.reason == Reason.OUTCOMPETED and wit.dropped == wit.moved == wit.added == []
    assert (wit.service_change, wit.served_value_change, wit.coverage_service_change) == (-1150, 50, -1200)
    assert wit.fairness_service_change == 0
    (rule,) = wit.coverage
    assert (rule.sector, rule.rule, rule.capability) == ("S1", 0, "eo_ir")
    assert (rule.shortfall_min_before, rule.shortfall_min_after, rule.service_change) == (0, 120, -1200)
    assert "service -1150 (served value +50; alert coverage -1200: S1 eo_ir 0 -> 120 shortfall min)" in wit.summary
    for remedy in wit.remedies:  # each only relaxes: never worse than the plain re-plan, and traceable the same way
        assert remedy.service_change is not None and remedy.service_change >= wit.service_change
        assert remedy.service_change == (
            remedy.served_value_change + remedy.coverage_service_change + remedy.fairness_service_change
        )


def test_explain_command_shows_the_coverage_a_re_plan_would_lose(tmp_path: Path):
    inst, plan = coverage_bound()
    write_instance(inst, tmp_path / "i.json")
    write_plan(plan, tmp_path / "p.json")
    args = ["explain", str(tmp_path / "i.json"), str(tmp_path / "p.json"), "R1", "--time-limit", "2", "--workers", "1"]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0
    row = next(line for line in result.output.splitlines() if line.startswith("│ coverage"))
    assert "S1 eo_ir (rule 0)" in row and "-1200" in row and "0 min short" in row and "120 min short" in row


def spoil_remedy_searches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[SolveOptions, Plan]]:
    """Every re-plan after the first (the plain one) comes back UNKNOWN with the FCFS plan, as a too-short time
    limit would make the remedies' own searches fail; each call's options and real plan are recorded."""
    from allocator import solver

    real = solver.solve
    calls: list[tuple[SolveOptions, Plan]] = []

    def spoiled(instance, options):
        result = real(instance, options)
        calls.append((options, result.plan))
        if len(calls) == 1:  # the plain re-plan
            return result
        return result.model_copy(update={"plan": result.baseline.model_copy(update={"status": SolveStatus.UNKNOWN})})

    monkeypatch.setattr(solver, "solve", spoiled)
    return calls


def test_a_remedy_starts_from_the_plain_re_plan_and_never_reports_less(monkeypatch: pytest.MonkeyPatch):
    # the remedies' own searches are made to fail (as a too-short time limit would): the plain re-plan's plan,
    # valid with more hours or relocations and given to them as their start, is what they report
    inst, plan = coverage_bound()
    calls = spoil_remedy_searches(monkeypatch)
    wit = one(explain(inst, plan, ["R1"], FAST), "R1").what_it_would_take
    plain = calls[0][1]
    assert wit.remedies and len(calls) == 1 + len(wit.remedies)
    for (options, _), remedy in zip(calls[1:], wit.remedies, strict=True):
        assert options.hint is not None and options.hint.sorties == plain.sorties
        assert remedy.status == SolveStatus.FEASIBLE and remedy.works is None and remedy.note
        assert (remedy.service_change, remedy.cost_change) == (wit.service_change, wit.cost_change)
        assert remedy.coverage_service_change == -1200


def test_no_what_it_would_take_when_not_asked():
    inst, plan = every_code()
    e = one(explain(inst, plan, ["R-LOST"], ExplainOptions(what_it_would_take=False)), "R-LOST")
    assert e.what_it_would_take is None


# -- evidence and reason agree -----------------------------------------------------------------------------
FAR = {"near": "B", "start": "12:00", "end": "18:00"}  # base B is ~650 nm from A: a relocation away


def test_reason_and_evidence_name_the_same_cause_and_base():
    # the ferry to B and the sortie fit in the day but not in 6 hours: both say hours, about flying from B
    inst = make([aircraft("L1", hours=6)], [request("R1", **FAR)])
    e = one(explain(inst, solve(inst, QUICK).plan, options=FAST), "R1")
    assert e.reason == Reason.UNAVAILABLE
    (ev,) = e.aircraft
    ferry = Prepared(inst).ferry(inst.aircraft_by_id("L1"), "A", "B")
    assert (ev.status, ev.base, ev.home_base, ev.relocate_from) == ("out_of_hours", "B", "A", "A")
    assert (ev.ferry_min, ev.flight_min) == (ferry, ferry + 90)  # the minutes count the ferry
    assert f"L1 {ev.note}" in e.detail and "in time" not in e.detail


def test_maintenance_after_the_window_is_explained_by_the_home_base_rule():
    # down 23:00-23:30, long after the window: it could only go to B and come back, and it may relocate once
    maintenance = [{"start": t("23:00"), "end": t("23:30")}]
    inst = make([aircraft("L1", hours=20, maintenance=maintenance)], [request("R1", **FAR)])
    e = one(explain(inst, solve(inst, QUICK).plan, options=FAST), "R1")
    (ev,) = e.aircraft
    assert ev.status == "down" and ev.base == "B" and ev.relocate_from == "A"
    assert "home base A for maintenance from Dec 01 23:00 UTC (SPEC 4.6)" in ev.note
    assert "around the window" not in ev.note and f"L1 {ev.note}" in e.detail


def test_a_free_aircraft_that_must_relocate_shows_the_destination_and_the_ferry_in_minutes_and_cost():
    # alert coverage at A is worth more than R1 near B: L1 stays, free, but it would fly R1 from B only
    rule = {"start": t("00:00"), "end": t("23:00"), "capability": "eo_ir", "count": 1, "penalty_per_hour": 600}
    inst = make([aircraft("L1")], [request("R1", **FAR)], coverage={"S1": [rule]})
    plan = solve(inst, QUICK).plan
    (ev,) = one(explain(inst, plan, options=ExplainOptions(what_it_would_take=False)), "R1").aircraft
    ferry = Prepared(inst).ferry(inst.aircraft_by_id("L1"), "A", "B")
    assert (ev.status, ev.base, ev.home_base, ev.relocate_from) == ("free", "B", "A", "A")
    assert (ev.flight_min, ev.ferry_min, ev.cost) == (ferry + 90, ferry, 20 * (ferry + 90))  # $1,200 an hour
    assert f"from B after relocating A->B ({ferry} min)" in ev.note


def test_a_recorded_detail_is_rewritten_and_its_code_kept():
    inst, plan = every_code()
    stale = plan.model_copy(
        update={"unserved": [u.model_copy(update={"detail": "old words, 02:00"}) for u in plan.unserved]}
    )
    found = {e.request: e for e in explain(inst, stale, options=ExplainOptions(what_it_would_take=False))}
    assert {rid: e.reason for rid, e in found.items()} == {u.request: u.reason for u in plan.unserved}
    assert all("old words" not in e.detail for e in found.values())
    assert "L1 is in maintenance Dec 01 14:00–18:00 UTC" in found["R-MAINT"].detail


# -- served requests ----------------------------------------------------------------------------------------
def test_served_request_shows_the_flyer_and_what_each_alternative_would_cost():
    inst = make(
        [
            aircraft("L1"),
            aircraft("M1", "MEDIUM"),
            aircraft("M2", "MEDIUM", home="B", relocatable=False),
            aircraft("M3", "MEDIUM", maintenance=[{"start": t("07:00"), "end": t("10:00")}]),
        ],
        [
            request("R1", start="08:00", end="09:00"),
            request("R2", start="08:00", end="09:00", caps=["hoist"]),
        ],
    )
    plan = solve(inst, QUICK).plan
    e = one(explain(inst, plan, ["R1"], FAST), "R1")
    assert e.served and e.reason is None
    status = {a.aircraft: a.status for a in e.aircraft}
    assert status == {"L1": "flies it", "M1": "busy", "M2": "out_of_range", "M3": "down"}
    assert one(explain(inst, plan, ["R1"], FAST), "R1").aircraft[1].busy_with == ["R2"]
    assert "no other eligible aircraft was free" in e.summary


def test_an_alternative_out_of_range_from_its_base_but_not_from_another_is_judged_by_the_relocation():
    # L2 at B flies both; L1 at A is out of range from A but in range from B after the ferry: R1 (08:00) leaves
    # time to ferry it there, R2 (02:00) does not. Neither is "out_of_range" while B is in range.
    inst = make(
        [aircraft("L2", home="B", relocatable=False), aircraft("L1")],
        [
            request("R1", near="B", start="08:00", end="12:00", priority=1),
            request("R2", near="B", start="02:00", end="04:00", priority=1),
        ],
    )
    plan = solve(inst, QUICK).plan
    assert {s.aircraft for s in plan.sorties} == {"L2"}
    found = {e.request: e for e in explain(inst, plan, ["R1", "R2"], FAST)}
    ferry = Prepared(inst).ferry(inst.aircraft_by_id("L1"), "A", "B")
    late = next(a for a in found["R1"].aircraft if a.aircraft == "L1")
    assert (late.status, late.base, late.relocate_from, late.bases_in_range) == ("free", "B", "A", ["B"])
    assert (late.flight_min, late.cost) == (ferry + 90, 20 * (ferry + 90))
    assert "L1 from B (relocating from A)" in found["R1"].summary
    early = next(a for a in found["R2"].aircraft if a.aircraft == "L1")
    assert (early.status, early.base) == ("unavailable", "B") and "before the horizon starts" in early.note


def test_served_request_prices_a_free_alternative():
    inst = make([aircraft("L1"), aircraft("M1", "MEDIUM")], [request("R1")])
    plan = solve(inst, QUICK).plan
    e = one(explain(inst, plan, ["R1"], FAST), "R1")
    flyer, alternative = e.aircraft
    assert (flyer.aircraft, flyer.cost) == ("L1", 1800)
    assert (alternative.aircraft, alternative.status, alternative.cost) == ("M1", "free", math.floor(6000 * 1.5))
    assert "M1" in e.summary and "$9,000" in e.summary


# -- API shapes and errors -------------------------------------------------------------------------------------
def test_unknown_request_is_an_input_error():
    inst, plan = every_code()
    with pytest.raises(InputError, match="request 'R-NOPE' is not in instance test"):
        explain(inst, plan, ["R-NOPE"], FAST)


def test_frame_and_json_views():
    inst, plan = every_code()
    explanations = explain(inst, plan, options=ExplainOptions(what_it_would_take=False))
    frame = explanations_frame(explanations)
    assert list(frame.columns) == ["request", "agency", "priority", "served", "reason", "summary"]
    assert len(frame) == 4
    assert {d["request"] for d in json.loads(explanations_json(explanations))} == set(frame["request"])


# -- command line ----------------------------------------------------------------------------------------------
runner = CliRunner()


def files(tmp_path: Path, inst, plan) -> tuple[str, str]:
    write_instance(inst, tmp_path / "inst.json")
    write_plan(plan, tmp_path / "plan.json")
    return str(tmp_path / "inst.json"), str(tmp_path / "plan.json")


def test_cli_explain_prints_the_reasons_and_json(tmp_path: Path):
    inst_path, plan_path = files(tmp_path, *every_code())
    table = runner.invoke(app, ["explain", inst_path, plan_path])
    assert table.exit_code == 0, table.output
    for code in ("OUTCOMPETED", "NO_CAPABLE_TYPE", "OUT_OF_RANGE", "UNAVAILABLE"):
        assert code in table.output
    named = runner.invoke(app, ["explain", inst_path, plan_path, "R-LOST", "--json", "--time-limit", "3"])
    assert named.exit_code == 0, named.output
    (doc,) = json.loads(named.output)
    assert doc["what_it_would_take"]["dropped"][0]["request"] == "R-WIN"


def test_cli_explain_of_an_invalid_plan_is_one_sentence_with_the_first_violation(tmp_path: Path):
    inst, plan = every_code()
    wrong = plan.model_copy(update={"objective": plan.objective.model_copy(update={"service": 1})})
    inst_path, plan_path = files(tmp_path, inst, wrong)
    result = runner.invoke(app, ["explain", inst_path, plan_path], terminal_width=400)
    message = result.output.strip()
    assert result.exit_code == 2 and "[5-objective] The plan reports service 1" in message
    assert message.endswith("; 1 violation, see allocator check).") and ".;" not in message


def test_cli_explain_unknown_request_exits_2_with_one_sentence(tmp_path: Path):
    inst_path, plan_path = files(tmp_path, *every_code())
    result = runner.invoke(app, ["explain", inst_path, plan_path, "R-NOPE"])
    assert result.exit_code == 2
    assert result.output.strip() == "request 'R-NOPE' is not in instance test."


def test_cli_refuses_a_plan_of_another_instance(tmp_path: Path):
    _, plan = every_code()
    other, _ = hours_bound()
    inst_path, plan_path = files(tmp_path, other, plan)
    for command in (["explain", inst_path, plan_path], ["deconflict", inst_path, plan_path]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "not a valid plan" in result.output
        assert "Traceback" not in result.output


def test_cli_deconflict_json_and_table(tmp_path: Path):
    inst = make(
        [aircraft("L1"), aircraft("L2")],
        [
            request("C", agency="CBP", north=30, start="08:00", end="09:00", target="vessel 9"),
            request("I", agency="ICE", north=31, start="08:00", end="09:00", target="vessel 9"),
        ],
    )
    inst_path, plan_path = files(tmp_path, inst, solve(inst, QUICK).plan)
    (record,) = json.loads(runner.invoke(app, ["deconflict", inst_path, "--json"]).output)
    assert record["kinds"] == ["same_target", "nearby"] and record["scheduled"] is False
    with_plan = runner.invoke(app, ["deconflict", inst_path, plan_path])
    assert with_plan.exit_code == 0 and "1 scheduled in the plan" in with_plan.output


def _out_of_range_without_relocations():
    """R1 is 80 nm north of A2: out of H1's endurance from home A, in range after relocating to A2, which
    the policy forbids."""
    fleet, far = [aircraft("H1")], [request("R1", near="A2", north=80, start="10:00", end="14:00", duration=100)]
    inst = make(fleet, far, policy={"max_relocations_per_aircraft": 0})
    relaxed = make(fleet, far, policy={"max_relocations_per_aircraft": 1})
    return inst, relaxed, solve(inst, QUICK).plan


def test_a_plan_whose_recorded_reason_is_stale_for_a_remedy_still_starts_it():
    # the remedy "one more relocation" makes R1 reachable: the plan's OUT_OF_RANGE no longer holds there,
    # but its flights do, so it is a valid start (and floor) for the remedy's re-plan
    from allocator.check import check
    from allocator.explain import _valid_for

    _, relaxed, plan = _out_of_range_without_relocations()
    assert [(u.request, u.reason) for u in plan.unserved] == [("R1", Reason.OUT_OF_RANGE)]
    assert {v.rule for v in check(relaxed, plan).violations} == {"6"}
    assert _valid_for(relaxed, plan, set())
    assert not _valid_for(relaxed, plan, {"R1"})


def test_an_aircraft_the_policy_keeps_home_is_not_called_not_relocatable():
    inst, _, plan = _out_of_range_without_relocations()
    (evidence,) = one(explain(inst, plan, options=FAST), "R1").aircraft
    assert evidence.status == "out_of_range"
    assert "the policy allows no relocation" in evidence.note and "not relocatable" not in evidence.note


# -- what holds an aircraft, and what the re-plans showed ------------------------------------------------------
def planned(inst, schedule, status: SolveStatus = SolveStatus.FEASIBLE):
    """A plan file for a hand-built schedule, with its objective and the solver's reasons."""
    from allocator.result import Objective
    from allocator.solver.reasons import explain_unserved
    from allocator.solver.scoring import score

    prep = Prepared(inst)
    scored = score(prep, schedule)
    unserved = explain_unserved(prep, schedule, proven=status == SolveStatus.OPTIMAL)
    objective = Objective(service=scored.service, cost=scored.cost)
    return schedule.to_plan(inst.name, prep.timeline, status, objective, None, unserved)


def test_an_aircraft_the_plan_relocates_away_is_not_called_free():
    # L1 flies no sortie, but the plan has ferried it to B, 650 nm away, long before R1's window
    from allocator.check import check
    from allocator.solver.schedule import RelocationMin, Schedule

    inst = make([aircraft("L1")], [request("R1", start="14:00", end="16:00")])
    away = RelocationMin(120, "L1", "A", "B", 120 + Prepared(inst).ferry(inst.aircraft[0], "A", "B"))
    plan = planned(inst, Schedule(relocations=[away]))
    assert check(inst, plan).ok
    e = one(explain(inst, plan, options=ExplainOptions(what_it_would_take=False)), "R1")
    (ev,) = e.aircraft
    assert ev.status == "busy" and "the plan relocates L1 A->B at Dec 01 02:00 UTC" in ev.note
    assert "the plan relocates L1 A->B" in e.detail


def test_the_detail_names_every_request_the_evidence_shows_holding_an_aircraft():
    # L2 would relocate B->A to fly R-LOST: the request keeping it busy is a competitor too
    inst, schedule = relocating_candidate()
    plan = planned(inst, schedule)
    e = one(explain(inst, plan, ["R-LOST"], ExplainOptions(what_it_would_take=False)), "R-LOST")
    busy = {rid for ev in e.aircraft if ev.status == "busy" for rid in ev.busy_with}
    assert busy == {"R-WIN", "R-BWIN"} and set(e.competitors) == busy


def test_remedies_whose_re_plans_all_stopped_are_not_reported_as_useless(monkeypatch: pytest.MonkeyPatch):
    # every remedy's own search fails (as a too-short time limit would): nothing shows they would not do
    inst, plan = coverage_bound()
    spoil_remedy_searches(monkeypatch)
    wit = one(explain(inst, plan, ["R1"], FAST), "R1").what_it_would_take
    assert wit.remedies and all(r.works is None for r in wit.remedies)
    assert "neither" not in wit.summary
    assert "whether one extra flight hour or one more relocation would do is not known" in wit.summary


def test_every_unknown_request_id_is_named():
    inst, plan = every_code()
    with pytest.raises(InputError, match="requests 'R-NOPE', 'R-GONE' are not in instance test"):
        explain(inst, plan, ["R-LOST", "R-NOPE", "R-GONE", "R-NOPE"], FAST)


def test_evidence_cost_rounds_half_dollars_up_as_the_plans_cost_does():
    # $1,230/h for an 89-minute sortie is $1,824.50: the plan's cost says $1,825, so must the evidence
    inst = make(
        [aircraft("H1")],
        [
            request("R1", duration=59, priority=1, start="08:00", end="09:30"),
            request("R2", duration=59, priority=3, start="08:00", end="09:30"),
        ],
    )
    types = [{**kind, "cost_per_hour": 1230} for kind in inst.model_dump()["aircraft_types"]]
    inst = inst.model_validate({**inst.model_dump(), "aircraft_types": types})
    plan = solve(inst, SolveOptions(time_limit_s=2, workers=1)).plan
    (sortie,) = plan.sorties
    minutes = (sortie.landing - sortie.takeoff).total_seconds() / 60
    assert plan.objective.cost == math.floor(1230 * minutes / 60 + 0.5) and 1230 * minutes / 60 % 1 == 0.5
    (unserved,) = explain(inst, plan)
    (evidence,) = [a for a in unserved.aircraft if a.aircraft == "H1"]
    assert evidence.flight_min == minutes and evidence.cost == plan.objective.cost
