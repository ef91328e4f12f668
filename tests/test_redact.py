"""Per-agency export: own requests in full, nothing of another agency's target or mission in any format."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator import SolveOptions, solve
from allocator.cli import app
from allocator.errors import InputError
from allocator.io import write_instance, write_plan
from allocator.redact import export_for_agency, render_export
from allocator.result import Relocation
from factory import aircraft, make, request

TEXT_MARKERS = ["SECRETID", "TARGETMARKER", "MISSIONMARKER", "CAPMARKER"]
VISIBLE_OTHER = {"ref", "agency", "unit", "sector", "area", "window", "flown", "on_station", "off_station"}


def planted():
    """One aircraft; CBP's marked P1 request wins it from ICE's nearby P3, which is OUTCOMPETED."""
    fleet = [aircraft("L1")]
    types_cap = "CAPMARKER"
    reqs = [
        request(
            "CBP-SECRETID-1",
            agency="CBP",
            unit="Border Patrol Visible Unit",
            north=30,
            end="09:00",
            priority=1,
            target="TARGETMARKER vessel",
            mission="MISSIONMARKER interdiction",
            caps=["eo_ir", types_cap],
        ),
        request("CBP-SECRETID-2", agency="CBP", near="B", caps=["hoist"], target="TARGETMARKER-2", mission="x"),
        request("ICE-1", agency="ICE", unit="HSI Tucson", north=31, end="09:00", target="own case 42"),
    ]
    inst = make(fleet, reqs)
    # the type must have the planted capability for the CBP request to fly
    kinds = [k.model_copy(update={"capabilities": [*k.capabilities, types_cap]}) for k in inst.aircraft_types]
    inst = type(inst).model_validate({**inst.model_dump(), "aircraft_types": [k.model_dump() for k in kinds]})
    plan = solve(inst, SolveOptions(time_limit_s=5, workers=1)).plan
    return inst, plan


def markers(inst) -> list[str]:
    """The planted strings, and the exact place of the marked CBP request (to 4 decimals)."""
    secret = inst.request("CBP-SECRETID-1")
    return [*TEXT_MARKERS, f"{secret.lat:.4f}", f"{secret.lon:.4f}"]


def test_planted_instance_plays_out_as_intended():
    _, plan = planted()
    assert {s.request for s in plan.sorties} == {"CBP-SECRETID-1"}
    (ice,) = [u for u in plan.unserved if u.request == "ICE-1"]
    assert ice.competitors == ["CBP-SECRETID-1"] and "CBP-SECRETID-1" in ice.detail  # the raw plan names it


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".csv"])
def test_no_marker_of_another_agency_leaks_in_any_format(suffix: str):
    inst, plan = planted()
    text = render_export(export_for_agency(inst, plan, "ICE"), suffix)
    for marker in markers(inst):
        assert marker not in text, f"{marker} leaked into the {suffix} export"
    assert "Border Patrol Visible Unit" in text  # whom to contact is shown
    assert "own case 42" in text and "ICE-1" in text  # own requests in full


def test_a_static_reasons_detail_is_rebuilt_not_copied_from_the_plan_file():
    # a plan from another tool may say anything in a detail; here it names ICE's case
    inst, plan = planted()
    doctored = plan.model_copy(
        update={
            "unserved": [
                u.model_copy(update={"detail": "held for ICE-1, own case 42"}) if u.request == "CBP-SECRETID-2" else u
                for u in plan.unserved
            ]
        }
    )
    (entry,) = [r for r in export_for_agency(inst, doctored, "CBP")["requests"] if r["id"] == "CBP-SECRETID-2"]
    assert entry["reason"] == "NO_CAPABLE_TYPE" and "own case 42" not in entry["detail"]
    assert "hoist" in entry["detail"]  # the instance's own reading


def test_other_agencies_show_only_whitelisted_fields_and_a_rounded_place():
    inst, plan = planted()
    doc = export_for_agency(inst, plan, "ICE")
    assert [r["id"] for r in doc["requests"]] == ["ICE-1"]
    for other in doc["other_operations"]:
        assert set(other) <= VISIBLE_OTHER
        assert other["area"]["lat"] == round(other["area"]["lat"], 1)
    flown = [o for o in doc["other_operations"] if o["flown"]]
    assert len(flown) == 1 and flown[0]["on_station"]


def test_an_aircraft_flying_only_for_another_agency_keeps_its_relocations_out_of_the_export():
    inst, plan = planted()
    (sortie,) = plan.sorties
    move = Relocation.model_validate(
        {"aircraft": "L1", "from": sortie.base, "to": "B", "takeoff": sortie.landing, "landing": sortie.landing}
    )
    plan = plan.model_copy(update={"relocations": [move]})
    assert export_for_agency(inst, plan, "ICE")["relocations"] == []
    assert [r["aircraft"] for r in export_for_agency(inst, plan, "CBP")["relocations"]] == ["L1"]


def test_own_unserved_request_names_its_competitor_by_reference_only():
    inst, plan = planted()
    (ice,) = export_for_agency(inst, plan, "ICE")["requests"]
    assert ice["reason"] == "OUTCOMPETED"
    assert ice["competitors"] == ["OTHER-001"] and "Border Patrol Visible Unit" in ice["detail"]


def test_a_competitor_without_a_unit_is_named_by_reference_and_agency_without_an_empty_unit():
    inst, plan = planted()
    blank = inst.model_copy(
        update={"requests": [r.model_copy(update={"unit": ""}) if r.agency == "CBP" else r for r in inst.requests]}
    )
    (ice,) = export_for_agency(blank, plan, "ICE")["requests"]
    assert ice["detail"] == "its aircraft went to OTHER-001 (CBP)"  # was "OTHER-001 (CBP, )"


def test_conflicts_reach_the_export_with_the_other_side_redacted():
    inst, plan = planted()
    (conflict,) = export_for_agency(inst, plan, "ICE")["conflicts"]
    assert conflict["request"] == "ICE-1" and conflict["other"] == "OTHER-001"
    assert conflict["other_unit"] == "Border Patrol Visible Unit"
    # only a 5 nm band: an exact distance from the reader's own exact place would pin the other down
    assert "distance_nm" not in conflict and conflict["distance_nm_at_most"] % 5 == 0


def test_the_owner_sees_its_own_target_and_mission():
    inst, plan = planted()
    text = render_export(export_for_agency(inst, plan, "CBP"), ".json")
    assert "TARGETMARKER vessel" in text and "MISSIONMARKER" in text
    assert "own case 42" not in text and '"ICE-1"' not in text


def test_agency_is_matched_whatever_its_case():
    inst, plan = planted()
    export = export_for_agency(inst, plan, "ice")
    assert export["for_agency"] == "ICE"
    assert export == export_for_agency(inst, plan, "ICE")


def test_unknown_agency_is_an_input_error():
    inst, plan = planted()
    with pytest.raises(InputError, match="agency 'DEA' has no requests"):
        export_for_agency(inst, plan, "DEA")


# -- through the command line ------------------------------------------------------------------------
runner = CliRunner()


def test_cli_export_writes_every_format_without_leaks(tmp_path: Path):
    inst, plan = planted()
    write_instance(inst, tmp_path / "inst.json")
    write_plan(plan, tmp_path / "plan.json")
    outputs = [tmp_path / f"ice{suffix}" for suffix in (".json", ".yaml", ".yml", ".csv")]
    for target in outputs:
        result = runner.invoke(
            app,
            [
                "export",
                str(tmp_path / "inst.json"),
                str(tmp_path / "plan.json"),
                "--for-agency",
                "ICE",
                "-o",
                str(target),
            ],
        )
        assert result.exit_code == 0, result.output
    stdout = runner.invoke(
        app, ["export", str(tmp_path / "inst.json"), str(tmp_path / "plan.json"), "--for-agency", "ICE"]
    )
    assert stdout.exit_code == 0
    for blob in [stdout.output.encode(), *(p.read_bytes() for p in outputs)]:
        for marker in markers(inst):
            assert marker.encode() not in blob


def test_cli_export_refuses_an_unknown_agency_or_format(tmp_path: Path):
    inst, plan = planted()
    write_instance(inst, tmp_path / "inst.json")
    write_plan(plan, tmp_path / "plan.json")
    base = ["export", str(tmp_path / "inst.json"), str(tmp_path / "plan.json")]
    bad_agency = runner.invoke(app, [*base, "--for-agency", "DEA"])
    assert bad_agency.exit_code == 2 and "agency 'DEA'" in bad_agency.output
    bad_format = runner.invoke(app, [*base, "--for-agency", "ICE", "-o", str(tmp_path / "x.txt")])
    assert bad_format.exit_code == 2 and "unknown export format" in bad_format.output
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("metrics", [{}, {"per_agency": "not a table"}, {"per_agency": {"ICE": {"served": 99}}}])
def test_fulfilment_is_recomputed_whatever_the_plan_files_metrics_say(metrics: dict):
    inst, plan = planted()
    plan = plan.model_copy(update={"metrics": metrics})
    fulfilment = export_for_agency(inst, plan, "ICE")["fulfilment"]
    assert fulfilment == {"requested": 1, "served": 0, "value_requested": 50, "value_served": 0, "pct_met": 0.0}
