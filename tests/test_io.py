"""Reading and writing instances and plans: the bad-input corpus and the round trips.

`tests/bad_inputs/expected.yaml` maps each bad file (or CSV folder) to the exact
message `load_instance` must give; `{dir}` in it stands for the corpus folder.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from collections.abc import Callable
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
from allocator.scenario import load_scenario

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
    "csv_missing_requests",
    "csv_ragged_row",
    "csv_first_row_too_long",
    "csv_table_is_folder",
    "deep_nesting.json",
    "deep_nesting.yaml",
    "huge_number.json",
    "huge_number.yaml",
    "impossible_date.yaml",
    "csv_misspelt_table",
    "json_raw_tab_in_string.json",
    "json_unterminated_string.json",
    "two_documents.yaml",
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


def _message(path: Path, load: Callable[[Path], object] = load_instance) -> str:
    """The one sentence that loading `path` (an instance, or what `load` reads) fails with."""
    with pytest.raises(InputError) as caught:
        load(path)
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
    assert _message(path, load_plan) == f"{path}: {expected}"


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


# -- documents: merge keys, byte-order marks, nesting ------------------------------------------------


def _tiny_with_merged_aircraft(tmp_path: Path, merged: str) -> Path:
    text = TINY.read_text().replace(
        "  - {id: N125AZ, type: H125, home_base: TUS, hours_available: 8}",
        f"  - &h {{id: N125AZ, type: H125, home_base: TUS, hours_available: 8}}\n  - {merged}",
    )
    path = tmp_path / "merged.yaml"
    path.write_text(text)
    return path


def test_a_key_written_beside_a_yaml_merge_key_overrides_the_merged_one(tmp_path: Path) -> None:
    inst = load_instance(_tiny_with_merged_aircraft(tmp_path, "{<<: *h, id: N126AZ, hours_available: 3}"))
    copy_ = inst.aircraft_by_id("N126AZ")
    assert (copy_.type, copy_.home_base, copy_.hours_available) == ("H125", "TUS", 3)
    assert inst.aircraft_by_id("N125AZ").hours_available == 8


def test_a_key_written_twice_beside_a_yaml_merge_key_is_an_input_error(tmp_path: Path) -> None:
    path = _tiny_with_merged_aircraft(tmp_path, "{<<: *h, id: N126AZ, id: N127AZ}")
    assert _message(path) == f"{path}: not valid YAML at line 18, column 26: the key 'id' appears twice in one mapping."


def test_a_json_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    instance = tmp_path / "tiny.json"
    instance.write_text("\ufeff" + json.dumps(_tiny_data(), default=str), encoding="utf-8")
    assert load_instance(instance) == load_instance(TINY)
    plan = tmp_path / "plan.json"
    plan.write_text("\ufeff" + _plan().to_json(), encoding="utf-8")
    assert load_plan(plan) == _plan()


@pytest.mark.parametrize("loader", [load_plan, load_scenario], ids=["plan", "scenario"])
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_deeply_nested_plan_or_scenario_is_an_input_error(tmp_path: Path, loader: Any, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text('{"changes": ' + "[" * 100000)
    assert _message(path, loader) == f"{path}: cannot be read: its lists and mappings are nested too deeply."


def test_a_whole_number_too_long_to_read_is_an_input_error_naming_its_place(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(_plan().to_json().replace('"service": 1250', '"service": ' + "1" * 5000))
    assert _message(path, load_plan) == (
        f"{path}: not valid JSON at line 5, column 16: a whole number has 5000 digits (at most 4300 are allowed)."
    )


# -- CSV folders: folders for tables, columns the loader builds, line numbers -------------------------


def test_a_csv_table_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    (folder / "policy.csv").unlink()
    (folder / "policy.csv").mkdir()
    assert _message(folder) == f"{folder / 'policy.csv'}: is a folder, expected a CSV file."


def test_an_empty_column_the_loader_builds_is_not_an_error(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    aircraft = pd.read_csv(folder / "aircraft.csv", dtype=str, keep_default_na=False)
    aircraft["maintenance"] = ""
    aircraft.to_csv(folder / "aircraft.csv", index=False)
    assert load_instance(folder) == load_instance(TINY)


def test_csv_line_numbers_count_every_line_of_a_quoted_cell(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    bases = (folder / "bases.csv").read_text().replace("Tucson Air Branch", '"Tucson\nAir\nBranch"')
    (folder / "bases.csv").write_text(bases + "NYL,Yuma,TUC,32.6,-114.6,America/Phoenix,extra\n")
    assert _message(folder) == f"{folder / 'bases.csv'}: line 6 has 7 cells but the header has 6 columns."
    (folder / "bases.csv").write_text(bases)
    policy = (folder / "policy.csv").read_text()
    (folder / "policy.csv").write_text(
        policy.replace("fairness_weight,1", '"fairness_weight","1\n\n"') + "fairness_weight,2\n"
    )
    assert (
        _message(folder) == f"{folder / 'policy.csv'}: policy, field 'fairness_weight': given twice (again on line 8)."
    )


def test_a_repeated_key_in_a_json_policy_value_is_an_input_error(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    policy = (folder / "policy.csv").read_text()
    (folder / "policy.csv").write_text(policy + 'agency_min_share,"{""CBP"": 0.2, ""CBP"": 0.5}"\n')
    assert _message(folder) == (
        f"{folder / 'policy.csv'}: policy on line 6, field 'agency_min_share': in the value, "
        "the key 'CBP' appears twice."
    )


# -- plan files: the keys SPEC section 3 requires ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "empty"),
    [("bound", '{"service": null}'), ("sorties", "[]"), ("relocations", "[]"), ("unserved", "[]")],
)
def test_a_plan_file_without_a_key_spec_requires_is_an_input_error(tmp_path: Path, key: str, empty: str) -> None:
    doc = json.loads(_plan().to_json())
    del doc[key]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    assert _message(path, load_plan) == (
        f"{path}: plan for instance 'tiny', field '{key}': required field is missing; give {empty} if there is none."
    )


def test_a_plan_file_without_any_of_its_lists_names_them_all(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    doc = {"instance": "tiny", "status": "INFEASIBLE", "objective": {"service": 0, "cost": 0}, "bound": {}}
    path.write_text(json.dumps(doc))
    assert _message(path, load_plan) == (
        f"{path}: plan for instance 'tiny', field 'sorties': required field is missing (and 'relocations', "
        "'unserved'); give [] if there is none."
    )


def test_a_plan_file_with_empty_lists_and_no_bound_value_loads(tmp_path: Path) -> None:
    doc = {"instance": "tiny", "status": "INFEASIBLE", "objective": {"service": 0, "cost": 0}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({**doc, "bound": {"service": None}, "sorties": [], "relocations": [], "unserved": []}))
    plan = load_plan(path)
    assert (plan.sorties, plan.relocations, plan.unserved, plan.bound.service) == ([], [], [], None)


def test_atomic_write_writes_a_pipe_in_place_instead_of_replacing_it(tmp_path: Path):
    import os
    import stat
    import threading

    from allocator.io import atomic_write_text

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()))
    reader.start()
    atomic_write_text(pipe, "plan")
    reader.join(timeout=10)
    assert got == ["plan"] and stat.S_ISFIFO(pipe.stat().st_mode)


def test_atomic_write_leaves_no_temporary_file_and_ignores_a_stale_temporary_folder(tmp_path: Path):
    from allocator.io import atomic_write_text

    (tmp_path / ".plan.json.tmp").mkdir()  # the fixed temporary name of earlier versions
    atomic_write_text(tmp_path / "plan.json", "{}")
    assert (tmp_path / "plan.json").read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".plan.json.tmp", "plan.json"]


# -- fuzz findings: misread tables, base-60 numbers, list separators, file shapes ----------------------


def test_every_csv_file_in_an_instance_folder_must_be_a_known_table(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    (folder / "README.md").write_text("notes")  # other files, and hidden ones, are ignored
    (folder / ".DS_Store").write_bytes(b"\0\1")
    (folder / "._aircraft.csv").write_bytes(b"\0\1")
    assert load_instance(folder) == load_instance(TINY)
    (folder / "requests.csv").rename(folder / "request.csv")
    assert _message(folder) == (
        f"{folder / 'request.csv'}: unknown table (did you mean requests.csv?); the known tables are instance.csv, "
        "bases.csv, sectors.csv, coverage.csv, aircraft_types.csv, aircraft.csv, maintenance.csv, requests.csv, "
        "policy.csv."
    )
    (folder / "request.csv").rename(folder / "requests.csv")
    (folder / "aircrafts.csv").write_text((folder / "aircraft.csv").read_text())
    (folder / "sorties.csv").write_text("aircraft\n")
    assert _message(folder).startswith(f"{folder / 'aircrafts.csv'}: unknown table (did you mean aircraft.csv?); ")
    assert _message(folder).endswith("policy.csv (also unknown: sorties.csv).")
    (folder / "aircrafts.csv").unlink()
    assert _message(folder).startswith(f"{folder / 'sorties.csv'}: unknown table; the known tables are ")


@pytest.mark.parametrize(
    ("written", "read"),
    [("7:30", "'7:30'"), ("1:30:00", "'1:30:00'"), ("-1:30", "'-1:30'"), ("1:30.5", "'1:30.5'")],
)
def test_yaml_base_60_numbers_stay_text(tmp_path: Path, written: str, read: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TINY.read_text().replace("hours_available: 8}", f"hours_available: {written}}}"))
    assert _message(path) == f"{path}: aircraft 'N125AZ', field 'hours_available': {read} is not a number."


def test_yaml_numbers_booleans_and_timestamps_read_as_before(tmp_path: Path) -> None:
    from allocator.io.instance_files import read_document

    path = tmp_path / "values.yaml"
    path.write_text(
        "a: 7\nb: -7.5\nc: 1_000\nd: 0x1F\ne: 1.5e+3\nf: .inf\ng: true\nh: off\n"
        "i: 2026-12-01T06:00:00-07:00\nj: 2026-12-01\nk: 7:30\nl: '7'\nm: 12:30:45.5\n"
    )
    doc = read_document(path)
    assert doc == yaml.safe_load(path.read_text()) | {"k": "7:30", "m": "12:30:45.5"}
    assert [type(doc[key]) for key in "abcdefgh"] == [int, float, int, int, float, float, bool, bool]
    assert isinstance(doc["i"], datetime) and doc["l"] == "7"


def test_a_base_60_scenario_value_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("changes:\n  - {kind: aircraft_down, aircraft: N60AZ, hours: 1:30}\n")
    from allocator.io.instance_files import read_document

    assert read_document(path)["changes"][0]["hours"] == "1:30"


def test_a_nul_byte_in_yaml_names_its_place(tmp_path: Path) -> None:
    path = tmp_path / "nul.yaml"
    path.write_text(TINY.read_text().replace("name: Tucson Sector", "name: Tucson\0Sector"))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "\0" in text)
    column = path.read_text().splitlines()[line - 1].index("\0") + 1
    assert _message(path) == (
        f"{path}: not valid YAML at line {line}, column {column}: the character U+0000 (a NUL byte) "
        "is not allowed in YAML text."
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text("instance: tiny\nstatus: \x07\n")
    assert _message(plan, load_plan) == (
        f"{plan}: not valid YAML at line 2, column 9: the character U+0007 is not allowed in YAML text."
    )


@pytest.mark.parametrize("text", ["", "\n  \n", "\ufeff"])
def test_an_empty_json_file_is_said_to_be_empty(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.json"
    path.write_text(text, encoding="utf-8")
    assert (
        _message(path)
        == f"{path}: expected a mapping of instance keys at the top level, found nothing (the file is empty)."
    )
    assert _message(path, load_plan) == (
        f"{path}: expected a plan object at the top level, found nothing (the file is empty)."
    )
    assert _message(path, load_scenario) == (
        f"{path}: expected a scenario mapping (name, changes) at the top level, found nothing (the file is empty)."
    )


@pytest.mark.parametrize("name", ["plan.csv", "plan.txt", "plan", "plan.json.bak"])
def test_a_plan_file_must_be_json_or_yaml(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(_plan().to_json())
    assert _message(path, load_plan) == f"{path}: unknown plan format (expected .json, .yaml or .yml)."
    assert _message(tmp_path / f"missing_{name}", load_plan) == f"{tmp_path / f'missing_{name}'}: no such file."
    for suffix in (".json", ".yaml", ".YML"):
        assert load_plan(path.rename(path.with_name(f"plan{suffix}"))) == _plan()
        path = path.with_name(f"plan{suffix}")


@pytest.mark.parametrize(
    ("cell", "held", "fixed"),
    [
        ('"eo_ir,night_vision"', "','", "eo_ir;night_vision"),
        ("eo_ir|night_vision", "'|'", "eo_ir;night_vision"),
        ('"[""eo_ir"", ""night_vision""]"', "'['", "eo_ir;night_vision"),
        ("\"'eo_ir'\"", "a quote", "eo_ir"),
    ],
)
def test_a_csv_list_written_with_another_separator_is_refused(tmp_path: Path, cell: str, held: str, fixed: str):
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    types = folder / "aircraft_types.csv"
    types.write_text(types.read_text().replace("eo_ir;night_vision;surveillance", cell))
    assert _message(folder).endswith(f"holds {held}; the items of a list are separated by ';' (write {fixed}).")
    assert _message(folder).startswith(f"{types}: aircraft type 'H125' on line 2, field 'capabilities': the item ")


def test_a_csv_unclosed_quote_names_the_line_and_column(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    bases = folder / "bases.csv"
    text = bases.read_text()
    bases.write_text(text.replace("Tucson Air Branch", '"Tucson\nAir Branch"').replace("\nFHU,", '\n"FHU,'))
    assert _message(folder) == (
        f"{bases}: base on line 4, field 'id': a quoted cell is never closed (its opening '\"' has no closing "
        "'\"' before the end of the file)."
    )
    bases.write_text(text.replace("Sierra Vista", '"Sierra Vista'))
    assert _message(folder).startswith(f"{bases}: base 'FHU' on line 3, field 'name': a quoted cell is never closed")


def test_a_csv_column_given_twice_is_named(tmp_path: Path) -> None:
    folder = write_instance(load_instance(TINY), tmp_path / "inst")
    instance = folder / "instance.csv"
    lines = instance.read_text().splitlines()
    instance.write_text(f"{lines[0]}, name \n{lines[1]},other\n")
    assert (
        _message(folder) == f"{instance}: header on line 1, field 'name': the column is given twice (columns 1 and 4)."
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("where", ["file", "table"])
def test_a_named_pipe_is_refused_not_read_forever(tmp_path: Path, where: str):
    if where == "file":
        target = tmp_path / "instance.json"
        os.mkfifo(target)
    else:
        target = tmp_path / "csv"
        shutil.copytree(Path(__file__).resolve().parent.parent / "instances" / "tiny-csv", target)
        (target / "policy.csv").unlink()
        os.mkfifo(target / "policy.csv")
    with pytest.raises(InputError, match="not a regular file"):
        load_instance(target)


def test_an_unknown_key_with_an_empty_name_is_named(tmp_path: Path) -> None:
    data = _tiny_data()
    data["requests"][3][""] = "x"
    path = tmp_path / "blank_key.yaml"
    path.write_text(yaml.safe_dump(data))
    assert _message(path).startswith(f"{path}: request 'R4', field '': unknown field (the known ones are id, agency,")


def test_a_csv_cell_in_a_column_without_a_name_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "unnamed"
    shutil.copytree(ROOT / "instances" / "tiny-csv", folder)
    table = folder / "aircraft.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    lines[0] += ","  # a trailing comma: a seventh column without a name, empty in every row but the second
    lines[1] += ","
    lines[2] += ",spare"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _message(folder) == (
        f"{table}: aircraft 'N60AZ' on line 3, column 7: the cell 'spare' is in a column that the header on line 1 "
        "gives no name."
    )
    lines[2] = lines[2].removesuffix("spare")  # empty cells under a header without a name are fine
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [a.id for a in load_instance(folder).aircraft] == ["N125AZ", "N60AZ"]


def test_a_plan_error_with_a_line_break_in_a_name_stays_on_one_line(tmp_path: Path) -> None:
    plan = json.loads(Path(write_plan(_plan(), tmp_path / "p.json")).read_text())
    plan["instance"] = "tiny\nsecond line"
    del plan["objective"]["cost"]
    path = tmp_path / "line_break.json"
    path.write_text(json.dumps(plan))
    assert _message(path, load_plan) == (
        f"{path}: plan for instance 'tiny\\nsecond line', field 'objective.cost': required field is missing."
    )
