"""Scenarios (SPEC section 9): each change applied, bad scenario files, and minimal-disruption re-planning."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import allocator
from allocator.diff import diff
from allocator.domain import Instance
from allocator.errors import InputError
from allocator.io import load_instance
from allocator.scenario import Scenario, ScenarioError, apply_scenario, check_frozen, load_scenario, replan, replan_all
from allocator.solver import SolveOptions
from factory import aircraft, make, request, t

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
BAD = Path(__file__).resolve().parent / "bad_scenarios"
EXPECTED: dict[str, str] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))


def when(hhmm: str) -> datetime:
    return datetime.fromisoformat(t(hhmm))


def base_instance() -> Instance:
    return make(
        [aircraft("N1"), aircraft("N2", "MEDIUM", home="B")],
        [request("R1"), request("R2", near="B", priority=1, caps=["hoist"])],
        coverage={"S2": [{"start": t("06:00"), "end": t("18:00"), "capability": "hoist", "penalty_per_hour": 60}]},
    )


def applied(*changes: dict[str, Any], name: str = "what-if") -> Instance:
    return apply_scenario(base_instance(), Scenario.model_validate({"name": name, "changes": list(changes)}))


# -- each change, allowed ---------------------------------------------------------------------------


def test_aircraft_down_without_until_lasts_to_the_end_of_the_horizon():
    inst = applied({"aircraft_down": {"aircraft": "N1", "from": t("10:00")}})
    (window,) = inst.aircraft_by_id("N1").maintenance
    assert (window.start, window.end) == (when("10:00"), inst.horizon.end)


def test_aircraft_down_with_until_adds_that_window_to_the_existing_ones():
    inst = applied(
        {"aircraft_down": {"aircraft": "N1", "from": t("10:00"), "until": t("12:00")}},
        {"aircraft_down": {"aircraft": "N1", "from": t("14:00"), "until": t("15:00")}},
    )
    assert [(m.start, m.end) for m in inst.aircraft_by_id("N1").maintenance] == [
        (when("10:00"), when("12:00")),
        (when("14:00"), when("15:00")),
    ]


def test_aircraft_add_and_remove():
    inst = applied(
        {"aircraft_add": aircraft("N3", "MEDIUM", home="A2", hours=4)}, {"aircraft_remove": {"aircraft": "N1"}}
    )
    assert [a.id for a in inst.aircraft] == ["N2", "N3"]
    assert inst.aircraft_by_id("N3").home_base == "A2" and inst.aircraft_by_id("N3").hours_available == 4


def test_transfer_moves_the_home_base_for_the_whole_horizon():
    inst = applied({"transfer": {"aircraft": "N2", "base": "A"}})
    assert inst.aircraft_by_id("N2").home_base == "A"


def test_hours_update_sets_the_hours():
    assert (
        applied({"hours_update": {"aircraft": "N1", "hours_available": 2.5}}).aircraft_by_id("N1").hours_available
        == 2.5
    )


def test_request_add_cancel_and_update_apply_in_order():
    inst = applied(
        {"request_add": request("R3", priority=4)},
        {"request_update": {"request": "R3", "priority": 1, "window": {"start": t("09:00"), "end": t("11:00")}}},
        {"request_cancel": {"request": "R1"}},
    )
    assert [r.id for r in inst.requests] == ["R2", "R3"]
    r3 = inst.request("R3")
    assert r3.priority == 1 and (r3.window.start, r3.window.end) == (when("09:00"), when("11:00"))
    assert r3.duration_min == 60 and r3.capabilities == ["eo_ir"]  # the fields not given are kept


def test_request_update_null_removes_an_optional_field():
    inst = applied({"request_update": {"request": "R1", "value": 700}})
    assert inst.value(inst.request("R1")) == 700
    inst = apply_scenario(
        inst, Scenario.model_validate({"changes": [{"request_update": {"request": "R1", "value": None}}]})
    )
    assert inst.request("R1").value is None and inst.value(inst.request("R1")) == 50
    # a field with a default (not None) goes back to it too
    unit = {"request_update": {"request": "R1", "unit": None, "aircraft_count": None}}
    request = apply_scenario(inst, Scenario.model_validate({"changes": [unit]})).request("R1")
    assert request.unit == "" and request.aircraft_count == 1


def test_policy_update_merges_weights_and_replaces_a_sectors_coverage():
    rule = {"start": t("08:00"), "end": t("12:00"), "capability": "eo_ir", "count": 2, "penalty_per_hour": 5}
    inst = applied(
        {
            "policy_update": {
                "priority_weights": {1: 5000},
                "max_relocations_per_aircraft": 0,
                "coverage": {"S1": [rule], "S2": []},
            }
        }
    )
    assert inst.policy.priority_weights == {1: 5000, 2: 200, 3: 50, 4: 10, 5: 1}
    assert inst.policy.max_relocations_per_aircraft == 0
    assert [(c.capability, c.count) for c in inst.sector("S1").coverage] == [("eo_ir", 2)]
    assert inst.sector("S2").coverage == []


def test_applying_leaves_the_original_instance_alone_and_renames_the_copy():
    original = base_instance()
    scenario = Scenario.model_validate({"name": "n1-down", "changes": [{"aircraft_remove": {"aircraft": "N1"}}]})
    changed = apply_scenario(original, scenario)
    assert [a.id for a in original.aircraft] == ["N1", "N2"] and original.name == "test"
    assert changed.name == "test+n1-down"


def test_an_empty_scenario_returns_the_same_instance():
    inst = base_instance()
    assert apply_scenario(inst, Scenario.model_validate({"changes": []})) == inst


def test_a_scenario_file_is_named_after_its_file_when_it_has_no_name(tmp_path: Path):
    path = tmp_path / "n60-down.yaml"
    path.write_text("changes:\n  - aircraft_down: {aircraft: N60AZ, from: '2026-12-01T10:00:00-07:00'}\n")
    scenario = load_scenario(path)
    assert scenario.name == "n60-down" and scenario.changes[0].kind == "aircraft_down"
    assert apply_scenario(load_instance(TINY), scenario).name == "tiny+n60-down"


def test_the_example_scenarios_apply_to_arizona_surge():
    surge = load_instance(ROOT / "instances" / "arizona-surge.yaml")
    for path in sorted((ROOT / "instances" / "scenarios").glob("*.yaml")):
        assert apply_scenario(surge, load_scenario(path)).name.startswith("arizona-surge+")


# -- bad changes and bad files ----------------------------------------------------------------------


def test_a_change_on_an_unknown_aircraft_names_the_change_and_the_field():
    scenario = Scenario.model_validate(
        {"name": "x", "changes": [{"hours_update": {"aircraft": "N9", "hours_available": 1}}]}
    )
    with pytest.raises(
        InputError, match=r"^scenario 'x': change 1 \(hours_update\), field 'aircraft': unknown aircraft 'N9'"
    ):
        apply_scenario(base_instance(), scenario)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_scenario_file_gives_its_exact_message(name: str):
    with pytest.raises(InputError) as caught:
        apply_scenario(load_instance(TINY), load_scenario(BAD / name))
    assert str(caught.value) == EXPECTED[name].replace("{dir}", str(BAD))


def test_every_bad_scenario_file_has_an_expected_message():
    files = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert files <= set(EXPECTED)


# -- re-planning with minimal disruption ------------------------------------------------------------


def options() -> SolveOptions:
    return SolveOptions(time_limit_s=5, workers=1, seed=0)


def fixed(id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """A request whose window is exactly its duration: its sortie can only be at one time."""
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    return request(id, start=start, end=end, duration=(h2 * 60 + m2) - (h1 * 60 + m1), **extra)


def test_replanning_with_an_empty_scenario_returns_the_baseline_unchanged():
    inst = load_instance(TINY)
    baseline = allocator.solve(inst, options()).plan
    same = apply_scenario(inst, Scenario.model_validate({"changes": []}))
    result = replan(same, baseline, options=options())
    assert result.plan.run["changes"] == 0 and diff(baseline, result.plan, same).changes == 0
    assert sorted(map(repr, result.plan.sorties)) == sorted(map(repr, baseline.sorties))
    assert sorted(map(repr, result.plan.relocations)) == sorted(map(repr, baseline.relocations))
    assert result.plan.run["relocation_changes"] == 0
    assert result.service == baseline.objective.service


def test_an_aircraft_down_scenario_changes_only_what_it_must():
    # two aircraft, two requests in the morning and two equal ones in the afternoon, all at fixed times
    inst = make(
        [aircraft("N1"), aircraft("N2")],
        [
            fixed("R1", "08:00", "09:00"),
            fixed("R2", "08:00", "09:00"),
            fixed("R3", "13:00", "14:00"),
            fixed("R4", "13:00", "14:00"),
        ],
    )
    baseline = allocator.solve(inst, options()).plan
    assert len(baseline.sorties) == 4
    down = Scenario.model_validate({"changes": [{"aircraft_down": {"aircraft": "N2", "from": t("11:00")}}]})
    changed = apply_scenario(inst, down)
    result = replan(changed, baseline, options=options())
    d = diff(baseline, result.plan, changed)
    # N2's afternoon sortie cannot be flown and nobody else is free then: that one sortie, nothing else
    assert [(s.kind, s.aircraft) for s in d.sorties] == [("cancelled", "N2")]
    assert d.changes == result.plan.run["changes"] == 1
    assert result.service == baseline.objective.service - 50


def test_replanning_without_now_may_move_any_baseline_sortie():
    inst = make([aircraft("N1")], [request("R1", start="08:00", end="09:15")])
    baseline = allocator.solve(inst, options()).plan
    changed = apply_scenario(inst, URGENT)
    result = replan(changed, baseline, options=options())
    assert {s.request for s in result.plan.sorties} == {"R1", "R2"}  # R1 moved to make room for the P1
    assert result.plan.run["changes"] == 1


URGENT = Scenario.model_validate(
    {
        "changes": [
            {"request_update": {"request": "R1", "window": {"start": t("08:00"), "end": t("12:00")}}},
            {"request_add": request("R2", start="08:00", end="09:30", priority=1)},
        ]
    }
)


def test_frozen_flights_are_never_moved():
    inst = make([aircraft("N1")], [request("R1", start="08:00", end="09:15")])
    baseline = allocator.solve(inst, options()).plan
    (flown,) = baseline.sorties
    assert flown.takeoff < when("08:10")
    changed = apply_scenario(inst, URGENT)
    result = replan(changed, baseline, now=when("08:10"), options=options())
    assert flown in result.plan.sorties  # exactly as flown, though moving it would serve the P1 request
    assert {u.request for u in result.plan.unserved} == {"R2"}
    assert all(s.takeoff >= when("08:10") for s in result.plan.sorties if s != flown)
    assert result.plan.run["changes"] == 0


def test_a_frozen_flight_of_a_removed_aircraft_is_an_input_error():
    inst = make([aircraft("N1"), aircraft("N2", "MEDIUM")], [request("R1", start="08:00", end="09:15", caps=["hoist"])])
    baseline = allocator.solve(inst, options()).plan
    gone = apply_scenario(inst, Scenario.model_validate({"changes": [{"aircraft_remove": {"aircraft": "N2"}}]}))
    with pytest.raises(InputError, match="N2"):
        replan(gone, baseline, now=when("08:30"), options=options())


def test_a_changed_instance_keeps_a_name_that_can_be_read_back():
    inst = base_instance().model_copy(update={"name": "d" * 190})
    scenario = Scenario.model_validate({"name": "s" * 30, "changes": [{"aircraft_remove": {"aircraft": "N2"}}]})
    changed = apply_scenario(inst, scenario)
    assert changed.name == ("d" * 190 + "+" + "s" * 30)[:200]
    Instance.model_validate(changed.model_dump())  # valid as written by --instance-out


def test_check_frozen_blames_the_scenario_that_breaks_a_flown_sortie():
    inst = make([aircraft("N1"), aircraft("N2", "MEDIUM")], [request("R1", start="08:00", end="09:15", caps=["hoist"])])
    baseline = allocator.solve(inst, options()).plan
    keep = Scenario.model_validate(
        {"name": "keep", "changes": [{"hours_update": {"aircraft": "N1", "hours_available": 5}}]}
    )
    remove = Scenario.model_validate({"name": "remove", "changes": [{"aircraft_remove": {"aircraft": "N2"}}]})
    changed = [apply_scenario(inst, keep), apply_scenario(inst, remove)]
    check_frozen(inst, changed[:1], [keep], baseline, when("08:30"))  # still flyable: no error
    with pytest.raises(ScenarioError, match="N2") as caught:
        check_frozen(inst, changed, [keep, remove], baseline, when("08:30"))
    assert caught.value.scenario is remove


def test_check_frozen_blames_the_baseline_when_the_unchanged_instance_cannot_keep_it_either():
    inst = make([aircraft("N1"), aircraft("N2", "MEDIUM")], [request("R1", start="08:00", end="09:15", caps=["hoist"])])
    baseline = allocator.solve(inst, options()).plan
    odd = baseline.model_copy(update={"sorties": [s.model_copy(update={"request": "NOPE"}) for s in baseline.sorties]})
    keep = Scenario.model_validate(
        {"name": "keep", "changes": [{"hours_update": {"aircraft": "N1", "hours_available": 5}}]}
    )
    with pytest.raises(ScenarioError, match="NOPE") as caught:
        check_frozen(inst, [apply_scenario(inst, keep)], [keep], odd, when("08:30"))
    assert caught.value.scenario is None


def test_replan_all_names_the_scenario_whose_re_plan_failed():
    inst = make([aircraft("N1"), aircraft("N2", "MEDIUM")], [request("R1", start="08:00", end="09:15", caps=["hoist"])])
    baseline = allocator.solve(inst, options()).plan
    keep = Scenario.model_validate({"name": "keep", "changes": []})
    remove = Scenario.model_validate({"name": "remove", "changes": [{"aircraft_remove": {"aircraft": "N2"}}]})
    changed = [apply_scenario(inst, keep), apply_scenario(inst, remove)]
    with pytest.raises(ScenarioError) as caught:
        replan_all(changed, [keep, remove], baseline, when("08:30"), options())
    assert caught.value.scenario is remove
    (result,) = replan_all(changed[:1], [keep], baseline, when("08:30"), options())
    assert result.plan.run["changes"] == 0


def _count_changed(inst: Instance, count: int) -> Instance:
    return apply_scenario(
        inst, Scenario.model_validate({"changes": [{"request_update": {"request": "R1", "aircraft_count": count}}]})
    )


def test_fewer_aircraft_for_a_request_whose_sorties_took_off_is_a_clear_input_error():
    # both sorties of R1 are flying at 08:20 when it is changed to need one aircraft: this used to be
    # "the flights that took off before --now cannot all be kept", naming neither the flights nor the reason
    inst = make([aircraft("H1"), aircraft("H2")], [fixed("R1", "08:00", "09:00", aircraft_count=2)])
    baseline = allocator.solve(inst, options()).plan
    with pytest.raises(InputError, match=r"sorties of H1, H2 for R1 took off .* R1 needs only 1 aircraft\."):
        replan(_count_changed(inst, 1), baseline, now=when("08:20"), options=options())


def test_more_aircraft_for_a_request_whose_sorties_took_off_is_a_clear_input_error_when_none_can_join():
    inst = make([aircraft("H1"), aircraft("H2"), aircraft("H3")], [fixed("R1", "08:00", "09:00", aircraft_count=2)])
    baseline = allocator.solve(inst, options()).plan
    with pytest.raises(InputError, match=r"R1 needs 3 aircraft on station together from .*08:00.* no other"):
        replan(_count_changed(inst, 3), baseline, now=when("08:20"), options=options())


def test_more_aircraft_for_a_request_whose_sorties_took_off_is_re_planned_when_one_can_still_join():
    # H1 and H2 flew from A2 (30 minutes out); H3 at A (15 minutes out) can still take off after 07:40
    fleet = [aircraft("H1", home="A2"), aircraft("H2", home="A2"), aircraft("H3", "MEDIUM")]
    inst = make(fleet, [fixed("R1", "08:00", "09:00", aircraft_count=2)], policy={"max_relocations_per_aircraft": 0})
    baseline = allocator.solve(inst, options()).plan
    assert {(s.aircraft, s.base) for s in baseline.sorties} == {("H1", "A2"), ("H2", "A2")}
    assert all(s.takeoff < when("07:40") for s in baseline.sorties)
    changed = _count_changed(inst, 3)
    result = replan(changed, baseline, now=when("07:40"), options=options())
    assert all(s in result.plan.sorties for s in baseline.sorties)
    assert {s.aircraft for s in result.plan.sorties} == {"H1", "H2", "H3"}
    assert allocator.check(changed, result.plan).ok


def test_aircraft_down_merges_with_the_maintenance_it_overlaps():
    inst = make(
        [
            aircraft(
                "N1", maintenance=[{"start": t("07:00"), "end": t("13:00")}, {"start": t("20:00"), "end": t("21:00")}]
            )
        ],
        [request("R1")],
    )
    scenario = Scenario.model_validate({"changes": [{"aircraft_down": {"aircraft": "N1", "from": t("12:00")}}]})
    windows = apply_scenario(inst, scenario).aircraft_by_id("N1").maintenance
    assert [(m.start, m.end) for m in windows] == [(when("07:00"), inst.horizon.end)]


SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "instances" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_bundled_scenario_applies_to_arizona_surge(path: Path):
    surge = load_instance(path.parent.parent / "arizona-surge.yaml")
    scenario = load_scenario(path)
    changed = apply_scenario(surge, scenario)
    assert scenario.changes and changed.name == f"{surge.name}+{scenario.name}"


def test_a_change_is_described_with_the_new_values_it_sets():
    scenario = Scenario.model_validate(
        {
            "changes": [
                {"request_update": {"request": "R1", "priority": 1, "capabilities": ["hoist", "night_vision"]}},
                {"request_update": {"request": "R2", "value": None}},
                {"policy_update": {"max_relocations_per_aircraft": 2, "agency_min_share": 0.25}},
            ]
        }
    )
    assert [c.describe() for c in scenario.changes] == [
        "update request R1: capabilities [hoist; night_vision], priority 1",
        "update request R2: value null",
        "policy update: agency_min_share 0.25, max_relocations_per_aircraft 2",
    ]


def test_an_unknown_top_level_key_is_the_problem_named_first(tmp_path: Path) -> None:
    path = tmp_path / "blank.yaml"
    path.write_text('"": 1\nchanges:\n  - {transfer: {aircraft: N60AZ, base: TUS}, x: 1}\n')
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}: scenario, field '': unknown field (the known ones are name, changes) (1 more problem after this one)."
    )
