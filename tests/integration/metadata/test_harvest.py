"""Metadata harvest and run lineage in DataHub Lite, against the services `make services` starts."""

from __future__ import annotations

import json
import logging
import time

import pytest

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.pipelines import pipelines_of
from airflow_provider_chimera.metadata import lineage
from airflow_provider_chimera.metadata.destination import select_destination
from airflow_provider_chimera.metadata.harvest import harvest_intent
from tests.helpers import record_schema, run_task, sales_crm_intent

CUSTOMERS = "urn:li:dataset:(urn:li:dataPlatform:postgres,chimera.qa_md.customers,PROD)"
CUSTOMERS_TARGET = "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa_md.customers,PROD)"
PRODUCTS = "urn:li:dataset:(urn:li:dataPlatform:mongodb,qa_md_shop.products,PROD)"
PII_KEY = "0123456789abcdef0123456789abcdef"


def _ingestion(table: str, mode: dict, **extra) -> dict:
    return {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"namespace": "qa_md", "table": table}, **extra}


@pytest.fixture
def services_ready(pg_schema, mongo_database, kafka_topic, settings, tmp_path, monkeypatch):
    """A customers table, a products collection and a clicks topic; DataHub Lite in ``tmp_path``."""
    pg = pg_schema("qa_md", conn_id="qa_md_pg")
    pg.execute("CREATE TABLE qa_md.customers (id bigint PRIMARY KEY, name text, email text, country text, "
               "internal_note text, updated_at timestamp)")
    pg.execute("INSERT INTO qa_md.customers SELECT g, 'n' || g, g || '@example.com', 'NL', 'x', "
               "timestamp '2026-11-01' + g * interval '1 minute' FROM generate_series(1, 20) g")
    products = mongo_database("qa_md_shop", conn_id="qa_md_mongo")["products"]
    products.insert_one({"sku": "a", "qty": 1})
    mongo_database("qa_md_other", conn_id=None)["not_listed"].insert_one({"x": 1})
    topic = kafka_topic("qa_md.clicks", conn_id="qa_md_kafka")
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", str(tmp_path / "lite.duckdb"))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")  # its own lineage queue
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    monkeypatch.setenv("QA_PII_KEY", PII_KEY)
    monkeypatch.setenv("AIRFLOW__CHIMERA__PII_KEY_SECRET", "${env:QA_PII_KEY}")
    monkeypatch.delenv("AIRFLOW__CHIMERA__POLICIES_CONFIG", raising=False)
    return topic


def _intent(topic: str):
    crm = {
        "name": "crm", "type": "postgres", "connection": {"conn_id": "qa_md_pg"},
        "objects": [{
            "name": "qa_md.customers",
            "columns": ["id", "name", "email", "country", "updated_at"],
            "ingestion": _ingestion("customers", {"type": "incremental", "cursor": "updated_at"},
                                    classification={"email": "pii", "name": "pii"}),
        }],
    }
    shop = {
        "name": "shop", "type": "mongodb", "connection": {"conn_id": "qa_md_mongo"},
        "objects": [{"name": "products", "schema": record_schema(["sku"], sku="string", qty="long")}],
    }
    clicks = {
        "name": "clicks", "type": "kafka", "connection": {"conn_id": "qa_md_kafka"},
        "objects": [{
            "name": topic,
            "schema": record_schema(["user_id"], user_id="string", url="string", ts="timestamptz"),
            "ingestion": _ingestion("clicks", {"type": "incremental"}, classification={"user_id": "pii"}),
        }],
    }
    intent = parse_intent(json.dumps(sales_crm_intent(crm, shop, clicks)).encode(), "sales_crm.json")
    return intent, pipelines_of(intent, "sales_crm.json", "hash")


def _get(urn: str) -> dict:
    aspects = select_destination().get(urn)
    assert aspects, f"{urn} not in DataHub Lite"
    return aspects


def _fields(urn: str) -> list[str]:
    return [f["fieldPath"] for f in _get(urn)["schemaMetadata"]["fields"]]


def _tags(urn: str) -> dict[str, list[str]]:
    info = _get(urn)["editableSchemaMetadata"]["editableSchemaFieldInfo"]
    return {i["fieldPath"]: [t["tag"] for t in i["globalTags"]["tags"]] for i in info}


def test_harvest_then_first_run_leaves_datasets_and_lineage_in_datahub_lite(services_ready, tmp_path):
    topic = services_ready
    intent, pipelines = _intent(topic)
    report = harvest_intent(intent, "sales_crm.json", pipelines)
    assert report.problems == []
    assert report.queued and not (tmp_path / "lite.duckdb").exists()  # nothing opened DataHub Lite's file
    from airflow_provider_chimera.metadata.queue import write_queued
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry:  # DataHub Lite's writer task: DataHub's sources' proposals, then the intent's
        assert write_queued(registry, select_destination()).written == report.emitted
    clicks = f"urn:li:dataset:(urn:li:dataPlatform:kafka,{topic},PROD)"
    assert report.datasets == {("crm", "qa_md.customers"): CUSTOMERS, ("shop", "products"): PRODUCTS, ("clicks", topic): clicks}
    assert set(report.targets.values()) == {CUSTOMERS_TARGET, "urn:li:dataset:(urn:li:dataPlatform:iceberg,qa_md.clicks,PROD)"}

    # Postgres, through Chimera's hook: only the listed columns, with their native types.
    assert _fields(CUSTOMERS) == ["id", "name", "email", "country", "updated_at"]
    native = {f["fieldPath"]: f["nativeDataType"] for f in _get(CUSTOMERS)["schemaMetadata"]["fields"]}
    assert native["id"] == "bigint" and native["updated_at"] == "timestamp without time zone"
    assert _fields(CUSTOMERS_TARGET) == _fields(CUSTOMERS)
    for urn in (CUSTOMERS, CUSTOMERS_TARGET):
        assert _get(urn)["ownership"]["owners"][0]["owner"] == "urn:li:corpGroup:sales"
        assert _get(urn)["domains"]["domains"] == ["urn:li:domain:sales"]
        assert _tags(urn) == {"email": ["urn:li:tag:pii"], "name": ["urn:li:tag:pii"]}
        assert _get(urn)["datasetProperties"]["description"] == "allowed"

    # MongoDB and Kafka, through DataHub's own sources (limited to the intent's objects), then the contract.
    assert _get(PRODUCTS)["container"]["container"].startswith("urn:li:container:")  # DataHub's mongodb source
    assert _get(clicks)["subTypes"]["typeNames"] == ["Topic"]  # DataHub's kafka source
    assert _fields(PRODUCTS) == ["sku", "qty"]
    assert _get(clicks)["ownership"]["owners"][0]["owner"] == "urn:li:corpGroup:sales"
    assert _tags(clicks) == {"user_id": ["urn:li:tag:pii"]}
    assert select_destination().get("urn:li:dataset:(urn:li:dataPlatform:mongodb,qa_md_other.not_listed,PROD)") is None

    # The first ingestion run queues the lineage edge source → Iceberg; DataHub Lite's writer adds it.
    customers = next(p for p in pipelines if p.source.name == "crm")
    assert run_task(customers)["rows"] == 20
    with open_registry() as registry:
        assert write_queued(registry, select_destination()).written > 0
    upstreams = _get(CUSTOMERS_TARGET)["upstreamLineage"]["upstreams"]
    assert [u["dataset"] for u in upstreams] == [CUSTOMERS]
    assert _fields(CUSTOMERS_TARGET) == ["id", "name", "email", "country", "updated_at"]  # the run kept the harvest


def test_with_datahub_unreachable_the_ingestion_succeeds_and_the_failure_is_logged(services_ready, monkeypatch, caplog):
    _, pipelines = _intent(services_ready)
    monkeypatch.setenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", json.dumps({"conn_type": "datahub-rest", "host": "127.0.0.1", "port": 1}))
    customers = next(p for p in pipelines if p.source.name == "crm")
    failures = lineage.FAILURES[customers.id]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=lineage.__name__):
        result = run_task(customers)
    assert result["rows"] == 20 and result["published"] is True
    warnings = [r.getMessage() for r in caplog.records if r.name == lineage.__name__]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{customers.id}: lineage not written to DataHub http://127.0.0.1:1 (the ingestion stands): ")
    assert lineage.FAILURES[customers.id] == failures + 1
    assert time.monotonic() - started < 60  # the run itself; the emission is bounded by the 5 s timeout (unit tests)
