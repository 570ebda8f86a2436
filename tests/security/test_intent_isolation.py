"""One intent can never hide another's DAGs, read a file outside the intents folder, or grow the
parse cache without bound; whatever validate accepts at Airflow's limits, the factory builds."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.contract import load
from airflow_provider_chimera.contract.validate import validate_paths
from tests.security.corpus import hostile_base

COVERS = ("3", "11")
GOOD = {"good_files_customers"}


def _validate_paths(paths: list[Path]):
    """Validate as ``chimera intent validate`` does: with the factory's check of what Airflow refuses."""
    from airflow_provider_chimera.factory.dags import build_problems

    return validate_paths(paths, build=build_problems)


def _validate(folder: Path) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(app, ["intent", "validate", "--format", "json", str(folder)], prog_name="chimera")
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("target", ["/proc/self/environ", "outside/hostile.json"])
def test_a_symlink_leading_out_of_the_intents_folder_is_never_read(intents_folder, tmp_path, target):
    if target.startswith("outside"):
        outside = tmp_path / target
        outside.parent.mkdir()
        outside.write_text(json.dumps(hostile_base()))
        target = str(outside)
    link = intents_folder / "b" / "hostile.json"
    os.symlink(target, link)
    code, problems = _validate(intents_folder)
    assert code == 2
    assert [(p["file"], p["path"]) for p in problems] == [(str(link), "/")]
    assert "symbolic link leading out of the intents folder" in problems[0]["message"]

    from airflow_provider_chimera.factory import build_dags
    from airflow_provider_chimera.pipelines import discover

    found = discover(intents_folder)
    assert {p.id for p in found.pipelines} == GOOD
    assert [str(e.problems[0].file) for e in found.errors] == [str(link)]
    assert set(build_dags(intents_folder)) == GOOD


def test_a_symlink_inside_the_folder_is_read(intents_folder):
    real = intents_folder / "b" / "real" / "hostile.json"
    real.parent.mkdir()
    real.write_text(json.dumps(hostile_base()))
    os.symlink(real, intents_folder / "b" / "linked.json")
    assert sorted(p.name for p in load.intent_files(intents_folder)) == ["good.json", "hostile.json", "linked.json"]


def test_a_failure_while_building_one_intents_dags_is_that_intents_import_error(intents_folder, monkeypatch):
    """Fault injection: the hostile intent is valid but building its DAG raises (an unknown bug)."""
    from airflow_provider_chimera.factory import dags

    hostile = intents_folder / "b" / "hostile.json"
    hostile.write_text(json.dumps(hostile_base()))
    real = dags.build_dag

    def failing(pipeline, settings, register=True):
        if pipeline.intent == "hostile":
            raise RuntimeError("injected failure")
        return real(pipeline, settings, register)

    monkeypatch.setattr(dags, "build_dag", failing)
    assert set(dags.build_dags(intents_folder)) == GOOD
    with pytest.raises(dags.RejectedIntentsError) as raised:  # the error DAG file names it
        dags.report_rejected_intents(intents_folder)
    assert f"{hostile}: /: cannot be used: RuntimeError: injected failure" in str(raised.value)
    # validate builds the whole DAG too, and names the object whose DAG fails
    [problem] = _validate_paths([intents_folder]).problems
    assert (problem.file, problem.path) == (str(hostile), "/sources/0/objects/0")
    assert problem.message == "Airflow refuses the pipeline hostile_files_customers: injected failure"


def test_the_parse_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(load, "CACHE_ENTRIES", 3)
    monkeypatch.setattr(load, "_CACHE", load.OrderedDict())
    monkeypatch.setattr(load, "_VALID", load.OrderedDict())
    for index in range(5):
        data = hostile_base()
        data["declaration"]["statement"] = f"version {index}"
        load.parse_intent(json.dumps(data).encode(), "hostile.json", stem="hostile")
    assert len(load._CACHE) == 3
    assert [key.split(":")[0] for key in load._CACHE] == ["hostile.json"] * 3
    assert len(load._VALID) == 3


def _at_the_limits() -> dict:
    """An intent with every name at its limit: factory and Airflow must take it as validate does."""
    data = hostile_base("h")
    data["team"]["name"] = "t" * 100  # a tag
    data["project"] = "p" * 100
    source = data["sources"][0]
    source["name"] = "s"
    obj = source["objects"][0]
    obj["name"] = "o" * (250 - len("h_s_"))  # the DAG id: exactly 250
    obj["ingestion"]["target"]["table"] = "x" * 200
    obj["ingestion"]["trigger"] = {"type": "timed", "schedule": "*/5 * * * *"}
    obj["ingestion"]["sla"] = {"fresh_within": "P366D"}
    return data


def test_what_validate_accepts_at_the_limits_the_factory_builds(intents_folder):
    (intents_folder / "b" / "h.json").write_text(json.dumps(_at_the_limits()))
    assert _validate_paths([intents_folder]).problems == []
    from airflow_provider_chimera.factory.dags import _build_all

    dags, errors = _build_all(intents_folder, register=False)
    assert errors == []
    [dag_id] = set(dags) - GOOD
    assert len(dag_id) == 250
    assert max(len(tag) for tag in dags[dag_id].tags) == 100


def test_an_event_asset_uri_validate_accepts_is_one_airflow_accepts(intents_folder):
    data = hostile_base()
    data["sources"][0]["objects"][0]["ingestion"]["trigger"] = {"type": "event", "on": "iceberg://chimera.team_a.customers"}
    (intents_folder / "b" / "hostile.json").write_text(json.dumps(data))
    assert _validate_paths([intents_folder]).problems == []
    from airflow_provider_chimera.factory.dags import _build_all

    dags, errors = _build_all(intents_folder, register=False)
    assert errors == [] and "hostile_files_customers" in dags


def test_the_minimum_schedule_interval_is_the_platforms_option(intents_folder, monkeypatch):
    data = hostile_base()
    data["sources"][0]["objects"][0]["ingestion"]["trigger"] = {"type": "timed", "schedule": "*/10 * * * *"}
    (intents_folder / "b" / "hostile.json").write_text(json.dumps(data))
    assert _validate_paths([intents_folder]).problems == []  # the default, PT5M
    monkeypatch.setenv("AIRFLOW__CHIMERA__MIN_SCHEDULE_INTERVAL", "PT2H")
    [problem] = _validate_paths([intents_folder]).problems
    assert problem.path == "/sources/0/objects/0/ingestion/trigger/schedule"
    assert "fires more often than every 120 minutes, the platform's [chimera] min_schedule_interval" in problem.message
    data["sources"][0]["objects"][0]["ingestion"]["trigger"]["schedule"] = "0 3,4 * * *"  # an hour apart
    (intents_folder / "b" / "hostile.json").write_text(json.dumps(data))
    assert "fires more often" in _validate_paths([intents_folder]).problems[0].message
    data["sources"][0]["objects"][0]["ingestion"]["trigger"]["schedule"] = "0 3,6 * * *"
    (intents_folder / "b" / "hostile.json").write_text(json.dumps(data))
    assert _validate_paths([intents_folder]).problems == []
