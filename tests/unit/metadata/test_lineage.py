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
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    return tmp_path / "lite.duckdb"


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


def test_emitted_into_datahub_lite(pipeline, lite):
    assert lineage.emit_run_lineage(pipeline, 7, load_settings(), run_id="r1") is True
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
