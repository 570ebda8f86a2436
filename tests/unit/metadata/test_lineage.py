"""Each published run's lineage: the edge source → Iceberg, the flow and job, and never a failed task."""

from __future__ import annotations

import json
import logging
import time

import pytest

from airflow_provider_chimera.metadata import lineage
from airflow_provider_chimera.metadata.destination import select_destination
from airflow_provider_chimera.settings import load_settings
from tests.helpers import pipeline_for, single_object_source

SOURCE_URN = "urn:li:dataset:(urn:li:dataPlatform:postgres,crm.public.customers,PROD)"
TARGET_URN = "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa.customers,PROD)"
FLOW_URN = "urn:li:dataFlow:(airflow,qa_intent_src_public_customers,prod)"
JOB_URN = f"urn:li:dataJob:({FLOW_URN},ingest)"


@pytest.fixture
def pipeline():
    connection = {"uri": "postgresql://qa@db:5432/crm"}
    return pipeline_for(single_object_source("postgres", connection, "public.customers", {"type": "full"}, "customers"))


@pytest.fixture
def lite(settings, tmp_path, monkeypatch):
    """DataHub Lite in a file of this test's, and a registry of its own for the queue."""
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    return tmp_path / "lite.duckdb"


@pytest.fixture
def registry(lite):
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as opened:
        yield opened


def test_lineage_aspects(pipeline):
    by_entity = {}
    for mcp in lineage.lineage_mcps(pipeline, 42, run_id="r1"):
        by_entity.setdefault(mcp.entityUrn, {})[mcp.aspectName] = mcp.aspect
    upstreams = by_entity[TARGET_URN]["upstreamLineage"].upstreams
    assert [(u.dataset, u.type, u.properties["snapshot_id"]) for u in upstreams] == [(SOURCE_URN, "TRANSFORMED", "42")]
    assert by_entity[FLOW_URN]["dataFlowInfo"].name == "qa_intent_src_public_customers"
    io = by_entity[JOB_URN]["dataJobInputOutput"]
    assert (io.inputDatasets, io.outputDatasets) == ([SOURCE_URN], [TARGET_URN])
    (run,) = [urn for urn in by_entity if urn.startswith("urn:li:dataProcessInstance:")]
    assert by_entity[run]["dataProcessInstanceRelationships"].parentTemplate == JOB_URN


def test_queued_for_datahub_lite_then_written_once_by_the_writer(pipeline, lite, registry):
    from airflow_provider_chimera.metadata.queue import queued_count, write_queued

    assert lineage.emit_run_lineage(pipeline, 7, load_settings(), run_id="r1") is True
    assert not lite.exists()  # the ingest side never opens the DuckDB file
    queued = queued_count(registry)
    assert queued == len(lineage.lineage_mcps(pipeline, 7, "r1"))

    assert (write_queued(registry, select_destination()).written, queued_count(registry)) == (queued, 0)
    assert write_queued(registry, select_destination()).written == 0  # written once: the queue is empty
    upstreams = select_destination().get(TARGET_URN)["upstreamLineage"]["upstreams"]
    assert [u["dataset"] for u in upstreams] == [SOURCE_URN]
    assert select_destination().get(JOB_URN)["dataJobInputOutput"]["outputDatasets"] == [TARGET_URN]


def test_an_unreachable_datahub_is_logged_and_counted_not_raised(pipeline, settings, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", json.dumps({"conn_type": "datahub-rest", "host": "127.0.0.1", "port": 1}))
    before = lineage.FAILURES[pipeline.id]
    with caplog.at_level(logging.WARNING, logger=lineage.__name__):
        assert lineage.emit_run_lineage(pipeline, 7, load_settings()) is False
    assert lineage.FAILURES[pipeline.id] == before + 1
    (message,) = [r.getMessage() for r in caplog.records if r.name == lineage.__name__]
    assert message.startswith("qa_intent_src_public_customers: lineage not written to DataHub http://127.0.0.1:1 (the ingestion stands): ")


def test_a_slow_destination_costs_at_most_the_timeout(pipeline, lite, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_EMIT_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setattr(lineage, "lineage_mcps", lambda *args: time.sleep(3) or [])
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=lineage.__name__):
        assert lineage.emit_run_lineage(pipeline, 7, load_settings()) is False
    assert time.monotonic() - started < 1.5
    assert any("no answer within 0.5 s" in r.getMessage() for r in caplog.records)


def test_openlineage_facets_translate_to_the_same_urns(pipeline):
    from datahub_airflow_plugin._datahub_ol_adapter import translate_ol_to_datahub_urn

    facets = lineage.openlineage_facets(pipeline)
    assert [translate_ol_to_datahub_urn(d) for d in facets.inputs] == [SOURCE_URN]
    assert [translate_ol_to_datahub_urn(d) for d in facets.outputs] == [TARGET_URN]


def test_the_operator_reports_its_lineage_to_openlineage(pipeline):
    from airflow_provider_chimera.operators.ingest import IngestOperator

    facets = IngestOperator(task_id="ingest", pipeline=pipeline).get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in facets.outputs] == [("iceberg://chimera", "qa.customers")]


def test_nothing_is_lost_while_the_writer_cannot_write(pipeline, lite, registry, tmp_path):
    from airflow_provider_chimera.metadata.destination import Destination
    from airflow_provider_chimera.metadata.queue import queued_count, write_queued

    assert lineage.emit_run_lineage(pipeline, 7, load_settings(), run_id="r1") is True
    queued = queued_count(registry)
    (tmp_path / "not-a-file").mkdir()
    with pytest.raises(Exception):  # DuckDB cannot open a folder: the writer fails
        write_queued(registry, Destination("lite", str(tmp_path / "not-a-file")))
    assert queued_count(registry) == queued
    assert write_queued(registry, select_destination()).written == queued  # the next run writes them all
    assert select_destination().get(FLOW_URN)["dataFlowInfo"]["name"] == pipeline.id


def test_a_queue_that_cannot_be_written_is_logged_not_raised(pipeline, lite, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://chimera:Pg5ecret@127.0.0.1:1/chimera")
    with caplog.at_level(logging.WARNING, logger=lineage.__name__):
        assert lineage.emit_run_lineage(pipeline, 7, load_settings()) is False
    (message,) = [r.getMessage() for r in caplog.records if r.name == lineage.__name__ and "not written" in r.getMessage()]
    assert message.startswith(f"{pipeline.id}: lineage not written to the registry's queue for DataHub Lite {lite} (the ingestion stands): ")
    assert "Pg5ecret" not in caplog.text and not lite.exists()


def test_an_ingest_run_never_opens_the_datahub_lite_file(lite, registry, tmp_path, catalog):
    from airflow_provider_chimera.metadata.queue import queued_count
    from tests.helpers import run_task

    data = tmp_path / "drop"
    data.mkdir()
    (data / "a.jsonl").write_text(json.dumps({"id": 1}) + "\n")
    fields = [{"name": "id", "type": "long", "nullable": False}]
    ingestion = {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": "lineage_queue"}}
    obj = {"name": "events", "path": "*.jsonl", "format": "json", "schema": {"fields": fields}, "ingestion": ingestion}
    pipeline = pipeline_for({"name": "drop", "type": "file", "connection": {"uri": data.as_uri()}, "objects": [obj]})

    assert run_task(pipeline, run_id="manual__1")["published"] is True
    assert not lite.exists() and not lite.with_name(lite.name + ".lock").exists()
    assert queued_count(registry) > 0


def test_the_writer_task_writes_the_queue(pipeline, lite, registry):
    from airflow_provider_chimera.operators.metadata import MetadataWriterOperator

    assert MetadataWriterOperator(task_id="write").execute({}) == {"written": 0, "left": 0}
    assert not lite.exists()  # nothing queued: the file is not even opened
    lineage.emit_run_lineage(pipeline, 7, load_settings(), run_id="r1")
    written = MetadataWriterOperator(task_id="write").execute({})
    assert written == {"written": len(lineage.lineage_mcps(pipeline, 7, "r1")), "left": 0}
    assert select_destination().get(JOB_URN)["dataJobInputOutput"]["outputDatasets"] == [TARGET_URN]
