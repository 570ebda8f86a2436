"""An intent's metadata as DataHub aspects, harvested into DataHub Lite (file sources: no services)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.pipelines import pipelines_of
from airflow_provider_chimera.metadata.destination import select_destination
from airflow_provider_chimera.metadata.harvest import harvest_intent
from tests.helpers import intent_with, record_schema

SOURCE_URN = "urn:li:dataset:(urn:li:dataPlatform:file,/data/crm/customers/*.csv,PROD)"
TARGET_URN = "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa.customers,PROD)"


@pytest.fixture
def lite(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")  # the harvest's queue
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    return tmp_path / "lite.duckdb"


def _write_queued() -> int:
    """What the chimera_metadata DAG's writer task does: the queued proposals into DataHub Lite."""
    from airflow_provider_chimera.metadata.queue import write_queued
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry:
        return write_queued(registry, select_destination()).written


def _intent(*extra_sources: dict):
    files = {
        "name": "crm",
        "type": "file",
        "connection": {"uri": "file:///data/crm"},
        "objects": [
            {
                "name": "customers",
                "path": "customers/*.csv",
                "format": "csv",
                "columns": ["id", "email", "name"],
                "schema": record_schema(["id"], id="long", email="string", name="string", notes="string"),
                "ingestion": {
                    "trigger": {"type": "adhoc"},
                    "mode": {"type": "incremental"},
                    "target": {"namespace": "qa", "table": "customers"},
                    "classification": {"email": "pii", "name": "secret"},
                },
            },
            {"name": "onboarded_only", "path": "other/*.csv", "format": "csv", "schema": record_schema(x="string")},
        ],
    }
    raw = json.dumps(intent_with(files, *extra_sources, project="crm_project")).encode()
    intent = parse_intent(raw, "qa_intent.json")
    return intent, pipelines_of(intent, "qa_intent.json", "hash")


def _get(urn: str) -> dict:
    aspects = select_destination().get(urn)
    assert aspects, f"{urn} not in DataHub Lite"
    return aspects


def test_source_and_target_datasets_with_fields_owner_domain_tags_and_docs(lite):
    intent, pipelines = _intent()
    report = harvest_intent(intent, "qa_intent.json", pipelines)
    assert report.problems == []
    assert report.datasets == {
        ("crm", "customers"): SOURCE_URN,
        ("crm", "onboarded_only"): "urn:li:dataset:(urn:li:dataPlatform:file,/data/crm/other/*.csv,PROD)",
    }
    assert report.targets == {("crm", "customers"): TARGET_URN}  # only objects with a pipeline have a target
    # Queued in the registry: the harvest never opened DataHub Lite's file; its writer task does.
    assert report.queued and report.emitted > 0 and not lite.exists()
    assert _write_queued() == report.emitted and lite.exists()
    for urn in (SOURCE_URN, TARGET_URN):
        aspects = _get(urn)
        fields = aspects["schemaMetadata"]["fields"]
        assert [(f["fieldPath"], f["nullable"]) for f in fields] == [("id", False), ("email", True), ("name", True)]
        assert fields[0]["type"]["type"] == {"com.linkedin.schema.NumberType": {}}
        assert aspects["ownership"]["owners"] == [{"owner": "urn:li:corpGroup:qa", "type": "TECHNICAL_OWNER"}]
        assert aspects["domains"]["domains"] == ["urn:li:domain:crm_project"]
        assert aspects["datasetProperties"]["description"] == "test data"
        assert aspects["datasetProperties"]["customProperties"]["chimera.intent"] == "qa_intent"
        tagged = {i["fieldPath"]: [t["tag"] for t in i["globalTags"]["tags"]] for i in aspects["editableSchemaMetadata"]["editableSchemaFieldInfo"]}
        assert tagged == {"email": ["urn:li:tag:pii"], "name": ["urn:li:tag:secret"]}
        assert [t["tag"] for t in aspects["globalTags"]["tags"]] == ["urn:li:tag:pii", "urn:li:tag:secret"]
    assert _get(TARGET_URN)["datasetProperties"]["customProperties"]["chimera.pipeline"] == "qa_intent_crm_customers"
    assert _get("urn:li:domain:crm_project")["domainProperties"]["name"] == "crm_project"
    assert _get("urn:li:tag:pii")["tagProperties"]["name"] == "pii"


def test_an_object_that_cannot_be_described_is_reported_and_the_others_are_harvested(lite):
    unreachable = {
        "name": "db",
        "type": "postgres",
        "connection": {"uri": "postgresql://qa@127.0.0.1:1/crm"},
        "objects": [{"name": "public.orders"}],
    }
    intent, pipelines = _intent(unreachable)
    report = harvest_intent(intent, "qa_intent.json", pipelines)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("qa_intent.json: /sources/1/objects/0: not described: ")
    assert ("db", "public.orders") not in report.datasets
    _write_queued()
    assert _get(SOURCE_URN)["schemaMetadata"]["fields"]


def test_objects_all_are_not_harvested(lite):
    everything = {"name": "db", "type": "postgres", "connection": {"uri": "postgresql://qa@127.0.0.1:1/crm"}, "objects": "all"}
    intent, pipelines = _intent(everything)
    report = harvest_intent(intent, "qa_intent.json", pipelines)
    assert report.problems == []
    assert {source for source, _ in report.datasets} == {"crm"}


def test_with_a_datahub_server_nothing_is_queued_and_a_failure_is_reported(lite, monkeypatch):
    from airflow_provider_chimera.metadata.queue import queued_count
    from airflow_provider_chimera.registry.db import open_registry

    monkeypatch.setenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", json.dumps({"conn_type": "datahub-rest", "host": "127.0.0.1", "port": 1}))
    intent, pipelines = _intent()
    report = harvest_intent(intent, "qa_intent.json", pipelines)
    assert not report.queued and report.emitted == 0
    assert len(report.problems) == 1
    assert report.problems[0].startswith("qa_intent.json: metadata not written to DataHub http://127.0.0.1:1: ")
    with open_registry() as registry:
        assert queued_count(registry) == 0
    assert not lite.exists()


def test_a_registry_that_cannot_take_the_queue_is_reported_not_raised(lite, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://chimera:S3cret@127.0.0.1:1/chimera")
    intent, pipelines = _intent()
    report = harvest_intent(intent, "qa_intent.json", pipelines)
    assert report.datasets and report.queued
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.startswith(f"qa_intent.json: metadata not written to the registry's queue for DataHub Lite {lite}: RegistryUnreachable: ")
    assert "S3cret" not in problem and not lite.exists()
