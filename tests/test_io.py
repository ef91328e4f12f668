"""Reading and writing instances and plans: the bad-input corpus and the round trips.

`tests/bad_inputs/expected.yaml` maps each bad file (or CSV folder) to the exact
message `load_instance` must give; `{dir}` in it stands for the corpus folder.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from allocator.domain import Instance
from allocator.errors import InputError
from allocator.io import load_instance, load_plan, write_instance, write_plan, write_sorties_csv
from allocator.result import Bound, Objective, Plan, Reason, Relocation, SolveStatus, Sortie, Unserved

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.yaml"
BAD = Path(__file__).resolve().parent / "bad_inputs"
EXPECTED: dict[str, str] = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))

# Messages about the document as a whole (syntax, shape, a missing file): no record or field to name.
WHOLE_FILE = {
    "malformed.json",
    "malformed.yaml",
    "duplicate_key.yaml",
    "top_level_list.yaml",
    "empty_file.yaml",
    "wrong_suffix.txt",
    "does_not_exist.yaml",
    "csv_missing_aircraft",
    "csv_ragged_row",
    "csv_first_row_too_long",
}
# The cases the corpus must cover (a subset of its names).
REQUIRED_CASES = {
    "unknown_home_base.yaml",
    "unknown_aircraft_type.yaml",
    "unknown_request_sector.yaml",
    "unknown_base_sector.yaml",
    "duplicate_aircraft_id.yaml",
    "duplicate_request_id.json",
    "naive_horizon_start.yaml",
    "naive_request_window.yaml",
    "naive_maintenance.json",
    "naive_submitted_at.yaml",
    "window_ends_before_start.yaml",
    "maintenance_ends_before_start.yaml",
    "duration_longer_than_window.yaml",
    "negative_hours_available.yaml",
    "negative_cruise.yaml",
    "zero_endurance.json",
    "empty_fleet.yaml",
    "aircraft_extra_key.json",
    "missing_duration.yaml",
    "priority_7.yaml",
    "aircraft_count_0.json",
    "lat_123.yaml",
    "allow_list_unknown_type.yaml",
    "malformed.json",
    "malformed.yaml",
    "top_level_list.yaml",
    "csv_missing_aircraft",
    "csv_maintenance_unknown_aircraft",
    "csv_bad_number",
    "unknown_policy_key.yaml",
    "coverage_count_0.yaml",
    "unknown_timezone.yaml",
    "does_not_exist.yaml",
}


def _message(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_instance(path)
    return str(caught.value)


# -- the bad-input corpus --------------------------------------------------------------------------


def test_corpus_is_complete() -> None:
    on_disk = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert set(EXPECTED) - {"does_not_exist.yaml"} == on_disk
    assert not (BAD / "does_not_exist.yaml").exists()
    assert set(EXPECTED) >= REQUIRED_CASES
    assert len(EXPECTED) >= 24
    assert sum(1 for p in BAD.iterdir() if p.is_dir()) >= 3


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_message(name: str) -> None:
    path = BAD / name
    message = _message(path)
    assert message == EXPECTED[name].replace("{dir}", str(BAD))
    # One sentence on one line, starting with the file it is about.
    assert "\n" not in message
    assert message.endswith(".") and not message.endswith("..")
    if path.is_dir():
        assert re.match(rf"{re.escape(str(path))}/\w+\.csv: ", message), "a CSV error names the table, not the folder"
    else:
        assert message.startswith(f"{path}: ")
    if name not in WHOLE_FILE:
        # `<file>: <record kind> '<id>' ..., field '<field>': <problem>.` (or a record named by its number)
        assert re.match(r"^\S+: [a-z][a-z ]*( '[^']+'| number \d+)?[^:]*, field '[^']+': .+\.$", message), message


def test_naive_instants_are_rejected_everywhere() -> None:
    for name in ("naive_horizon_start.yaml", "naive_request_window.yaml", "naive_maintenance.json"):
        assert "has no UTC offset" in _message(BAD / name)
    assert "field 'submitted_at'" in _message(BAD / "naive_submitted_at.yaml")


def test_union_field_gives_one_problem() -> None:
    message = _message(BAD / "agency_share_out_of_range.yaml")
    assert "more problem" not in message
    assert "valid dictionary" not in message


def test_the_first_problem_is_reported_with_a_count_of_the_rest(tmp_path: Path) -> None:
    data = _tiny_data()
    data["requests"][0]["priority"] = 9
    data["requests"][1]["lat"] = 100
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data))
    assert _message(path) == (
        f"{path}: request 'R1', field 'priority': must be less than or equal to 5, got 9"
        " (1 more problem after this one)."
    )


def test_records_without_an_id_are_named_by_position(tmp_path: Path) -> None:
    data = _tiny_data()
    del data["aircraft"][1]["id"]
    path = tmp_path / "noid.yaml"
    path.write_text(yaml.safe_dump(data))
    assert _message(path) == f"{path}: aircraft number 2, field 'id': required field is missing."


# -- loading and round trips ---------------------------------------------------------------------


def _tiny_data() -> dict[str, Any]:
    return yaml.safe_load(TINY.read_text(encoding="utf-8"))


def _rich_instance() -> Instance:
    """tiny, plus every optional field the formats must carry."""
    data = _tiny_data()
    data["format"] = "allocator-instance/1"
    data["sectors"].append({"id": "YUM", "name": "Yuma, AZ", "coverage": []})
    data["sectors"][0]["coverage"] = [
        {
            "start": "2026-12-01T06:00:00-07:00",
            "end": "2026-12-01T12:00:00-07:00",
            "capability": "hoist",
            "count": 1,
            "penalty_per_hour": 120,
        }
    ]
    data["bases"].append({"id": "NYL", "sector": "YUM", "lat": 32.6566, "lon": -114.6060})
    data["aircraft"][0]["maintenance"] = [
        {"start": "2026-12-01T12:00:00-07:00", "end": "2026-12-01T13:30:00-07:00"},
        {"start": "2026-12-01T16:00:00Z", "end": "2026-12-01T17:00:00Z"},
    ]
    data["aircraft"][1].update(available_from="2026-12-01T07:15:00-07:00", relocatable=False, hours_available=5.5)
    data["requests"][0].update(value=700, target="vessel PANGA-7", aircraft_types=["H125", "UH-60"])
    data["requests"][1].update(unit="Border Patrol, Tucson", capabilities=["hoist", "night_vision"])
    del data["requests"][2]["submitted_at"]
    data["policy"] = {
        "priority_weights": {1: 900, 2: 300, 3: 40, 4: 8, 5: 1},
        "max_relocations_per_aircraft": 2,
        "agency_min_share": {"CBP": 0.25, "ICE": 0.5},
        "fairness_weight": 3,
        "deconfliction_radius_nm": 7.5,
    }
    return Instance.model_validate(data)


def test_tiny_loads() -> None:
    inst = load_instance(TINY)
    assert inst.name == "tiny"
    assert [a.id for a in inst.aircraft] == ["N125AZ", "N60AZ"]
    assert [r.id for r in inst.requests] == ["R1", "R2", "R3", "R4"]
    assert inst.request("R4").aircraft_count == 2
    assert inst.horizon.start == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert inst.type_of(inst.aircraft_by_id("N60AZ")).cruise_kt == 145


@pytest.mark.parametrize("target", ["copy.json", "copy.yaml", "copy.yml", "csv_folder"])
@pytest.mark.parametrize("make", [lambda: load_instance(TINY), _rich_instance], ids=["tiny", "rich"])
def test_round_trip(tmp_path: Path, target: str, make: Any) -> None:
    original = make()
    written = write_instance(original, tmp_path / target)
    again = load_instance(written)
    assert again == original
    # And once more, so that nothing drifts between generations.
    assert load_instance(write_instance(again, tmp_path / f"second_{target}")) == original


def test_csv_folder_layout(tmp_path: Path) -> None:
    folder = write_instance(_rich_instance(), tmp_path / "inst")
    names = {p.name for p in folder.iterdir()}
    assert {"instance.csv", "bases.csv", "sectors.csv", "aircraft_types.csv", "aircraft.csv", "requests.csv"} <= names
    requests = pd.read_csv(folder / "requests.csv", dtype=str, keep_default_na=False)
    # Integer columns with gaps stay integers (no "700.0"), list fields are ';'-joined.
    assert list(requests["value"]) == ["700", "", "", ""]
    assert requests.loc[0, "aircraft_types"] == "H125;UH-60"
    assert requests.loc[1, "capabilities"] == "hoist;night_vision"
    maintenance = pd.read_csv(folder / "maintenance.csv", dtype=str)
    assert list(maintenance["aircraft"]) == ["N125AZ", "N125AZ"]


def test_csv_list_fields_split_on_semicolons(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    types = (folder / "aircraft_types.csv").read_text()
    (folder / "aircraft_types.csv").write_text(
        types.replace("eo_ir;night_vision;surveillance", '" eo_ir ; night_vision;;surveillance "')
    )
    requests = pd.read_csv(folder / "requests.csv", dtype=str, keep_default_na=False)
    requests.loc[0, "aircraft_types"] = "H125; UH-60"
    requests.loc[1, "capabilities"] = "hoist;medium_lift"
    requests.to_csv(folder / "requests.csv", index=False)
    inst = load_instance(folder)
    assert inst.aircraft_types[0].capabilities == ["eo_ir", "night_vision", "surveillance"]
    assert inst.request("R1").aircraft_types == ["H125", "UH-60"]
    assert inst.request("R2").capabilities == ["hoist", "medium_lift"]
    assert inst.request("R3").aircraft_types is None  # an empty cell is "not given"


def test_csv_optional_tables_may_be_absent_or_empty(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    (folder / "policy.csv").unlink()
    (folder / "coverage.csv").unlink()
    (folder / "maintenance.csv").write_text("")
    inst = load_instance(folder)
    assert inst.policy.weight(1) == 1000
    assert all(not a.maintenance for a in inst.aircraft)


def test_yaml_unquoted_timestamps_and_numeric_ids(tmp_path: Path) -> None:
    text = TINY.read_text().replace('"2026-12-01T06:00:00-07:00"', "2026-12-01T06:00:00-07:00")
    text = text.replace("{id: R1,", "{id: 1001,")
    path = tmp_path / "t.yaml"
    path.write_text(text)
    inst = load_instance(path)
    assert inst.horizon.start == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert inst.requests[0].id == "1001"


# -- plans -------------------------------------------------------------------------------------------


def _plan() -> Plan:
    def at(hhmm: str) -> datetime:
        return datetime.fromisoformat(f"2026-12-01T{hhmm}:00-07:00")

    return Plan(
        instance="tiny",
        status=SolveStatus.FEASIBLE,
        objective=Objective(service=1250, cost=9875),
        bound=Bound(service=1300),
        sorties=[
            Sortie(
                aircraft="N125AZ",
                request="R1",
                base="TUS",
                takeoff=at("07:40"),
                on_station=at("08:00"),
                off_station=at("09:30"),
                landing=at("09:50"),
            )
        ],
        relocations=[
            Relocation.model_validate(
                {"aircraft": "N60AZ", "from": "FHU", "to": "TUS", "takeoff": at("11:00"), "landing": at("11:20")}
            )
        ],
        unserved=[Unserved(request="R2", reason=Reason.OUTCOMPETED, detail="N60AZ flew R4", competitors=["R4"])],
        metrics={"served": 1},
        run={"method": "cp", "seed": 7},
    )


def test_plan_round_trip(tmp_path: Path) -> None:
    plan = _plan()
    path = write_plan(plan, tmp_path / "plan.json")
    doc = json.loads(path.read_text())
    assert doc["relocations"][0]["from"] == "FHU"
    assert doc["sorties"][0]["takeoff"] == "2026-12-01T07:40:00-07:00"
    again = load_plan(path)
    assert again == plan
    assert again.relocations[0].from_ == "FHU"
    csv_path = write_sorties_csv(again, tmp_path / "sorties.csv")
    rows = pd.read_csv(csv_path, dtype=str)
    assert rows.loc[0, "takeoff"] == "2026-12-01T14:40Z"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["sorties"][0].pop("landing"),
            "sortie number 1 (aircraft 'N125AZ', request 'R1'), field 'landing': required field is missing.",
        ),
        (
            lambda d: d["sorties"][0].update(on_station="2026-12-01T08:00:00"),
            "sortie number 1 (aircraft 'N125AZ', request 'R1'), field 'on_station': the instant "
            "'2026-12-01T08:00:00' has no UTC offset (naive instants are not allowed; add one such as -07:00 or Z).",
        ),
        (
            lambda d: d["unserved"][0].update(reason="BUSY"),
            "unserved request 'R2', field 'reason': must be 'NO_CAPABLE_TYPE', 'OUT_OF_RANGE', 'UNAVAILABLE', "
            "'OUTCOMPETED' or 'NOT_PROVEN', got 'BUSY'.",
        ),
        (
            lambda d: d.update(status="DONE"),
            "plan for instance 'tiny', field 'status': must be 'OPTIMAL', 'FEASIBLE', 'INFEASIBLE' or 'UNKNOWN', "
            "got 'DONE'.",
        ),
        (
            lambda d: d["objective"].update(cost="cheap"),
            "plan for instance 'tiny', field 'objective.cost': 'cheap' is not a whole number.",
        ),
    ],
)
def test_malformed_plan_names_the_field(tmp_path: Path, change: Any, expected: str) -> None:
    doc = json.loads(_plan().to_json())
    bad = copy.deepcopy(doc)
    change(bad)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError) as caught:
        load_plan(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_plan_file_that_is_not_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"expected a plan object at the top level, found a list\.$"):
        load_plan(path)
    path.write_text('{"instance": "tiny",')
    with pytest.raises(InputError, match=r"plan\.json: not valid JSON at line 1"):
        load_plan(path)
    with pytest.raises(InputError, match=r"missing\.json: no such file\.$"):
        load_plan(tmp_path / "missing.json")


def test_csv_with_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    aircraft = (folder / "aircraft.csv").read_text()
    (folder / "aircraft.csv").write_text("\ufeff" + aircraft.replace("\n", "\n\n", 1), encoding="utf-8")
    assert load_instance(folder) == load_instance(TINY)
    # Line numbers in messages count the blank line.
    (folder / "aircraft.csv").write_text(aircraft.replace("\n", "\n\n", 1) + "N60AZ,H125,TUS,,3,true\n")
    assert _message(folder) == (
        f"{folder / 'aircraft.csv'}: aircraft 'N60AZ' on line 5, field 'id': duplicate id 'N60AZ' (first on line 4)."
    )


def test_json_duplicate_key_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    text = json.dumps(_tiny_data()).replace('"hours_available": 6', '"hours_available": 6, "hours_available": 7')
    path.write_text(text)
    assert (
        _message(path)
        == f"{path}: not valid JSON: the key 'hours_available' appears twice in the object with id 'N60AZ'."
    )
