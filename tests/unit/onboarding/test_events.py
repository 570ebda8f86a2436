"""Onboarding events: their CloudEvents shape, stable ids, JSON Schemas, and nothing secret in them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from airflow_provider_chimera.contract.load import parse_intent
from airflow_provider_chimera.onboarding import event_schemas
from airflow_provider_chimera.onboarding.events import (
    KINDS,
    STEPS,
    OnboardingEventData,
    build_event,
    event_data,
    event_id,
    publish_onboarding_event,
    to_json,
    topic_of,
)
from tests.helpers import intent_with

REPO = Path(__file__).resolve().parents[3]
CANONICAL = REPO / "tests" / "fixtures" / "intents" / "sales_crm.json"
AT = dt.datetime(2026, 11, 25, 12, 0, 30, tzinfo=dt.UTC)
HASH = "0123456789abcdef" + "f" * 48


def canonical():
    raw = CANONICAL.read_bytes()
    return parse_intent(raw, str(CANONICAL)), hashlib.sha256(raw).hexdigest()


def sample(**changes) -> OnboardingEventData:
    values = {
        "intent": "sales_crm",
        "intent_hash": HASH,
        "team": "sales-analytics",
        "project": "sales",
        "sources": [{"name": "crm", "type": "postgres", "objects": ["public.customers"]}],
        "targets": ["sales.customers"],
        "datahub_urns": {"sales.customers": "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.sales.customers,PROD)"},
    }
    return OnboardingEventData(**{**values, **changes})


def test_event_is_cloudevents_1_0_json():
    assert to_json(build_event("onboarding-completion", sample(), time=AT)) == {
        "specversion": "1.0",
        "type": "io.chimera.onboarding-completion",
        "source": "chimera/intents/sales_crm",
        "id": "sales_crm-0123456789abcdef-onboarding-completion",
        "time": "2026-11-25T12:00:30Z",
        "subject": "sales_crm",
        "datacontenttype": "application/json",
        "data": {
            "intent": "sales_crm",
            "intent_hash": HASH,
            "team": "sales-analytics",
            "project": "sales",
            "sources": [{"name": "crm", "type": "postgres", "objects": ["public.customers"]}],
            "targets": ["sales.customers"],
            "datahub_urns": {"sales.customers": "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.sales.customers,PROD)"},
            "superset": {},
        },
    }


def test_the_cloudevents_library_reads_the_message_back():
    from cloudevents.core.bindings.kafka import from_structured_event, to_structured_event

    event = build_event("datasource-onboarding", sample(), time=AT)
    message = to_structured_event(event, key_mapper=lambda _e: "sales_crm")
    assert message.headers == {"content-type": b"application/cloudevents+json"}
    back = from_structured_event(message)
    assert (back.get_id(), back.get_type(), back.get_time(), back.get_data()) == (
        "sales_crm-0123456789abcdef-datasource-onboarding", "io.chimera.datasource-onboarding", AT, sample().model_dump(),
    )


def test_id_is_stable_per_intent_version_and_step():
    first, later = build_event("onboarding-completion", sample(), time=AT), build_event("onboarding-completion", sample())
    assert first.get_id() == later.get_id() == "sales_crm-0123456789abcdef-onboarding-completion"
    other_version = sample(intent_hash="fedcba9876543210" + "0" * 48)
    ids = {event_id(kind, data) for kind in KINDS for data in (sample(), other_version)}
    assert len(ids) == 6


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown onboarding event kind 'onboarded'; one of datasource-onboarding, "):
        build_event("onboarded", sample())


def test_topics_come_from_settings(monkeypatch):
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__ONBOARDING_COMPLETION_TOPIC", "lake.done")
    settings = load_settings()
    assert {kind: topic_of(kind, settings) for kind in KINDS} == {
        "datasource-onboarding": "chimera.datasource-onboarding",
        "onboarding-completion": "lake.done",
        "data-discovery-available": "chimera.data-discovery-available",
    }
    assert set(STEPS.values()) == {"datasource_onboarding_topic", "onboarding_completion_topic", "data_discovery_topic"}


def test_data_of_the_canonical_intent():
    intent, digest = canonical()
    data = event_data(intent, digest)
    assert data.model_dump() == {
        "intent": "sales_crm",
        "intent_hash": digest,
        "team": "sales-analytics",
        "project": "sales",
        "sources": [
            {"name": "crm", "type": "postgres", "objects": ["public.customers", "public.orders"]},
            {"name": "clicks", "type": "kafka", "objects": ["web.clicks"]},
            {"name": "contracts", "type": "pdf", "objects": ["signed"]},
        ],
        "targets": ["sales.customers", "sales.orders", "sales.clicks", "sales.contract_pages"],
        "datahub_urns": {},
        "superset": {},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_built_events_match_the_shipped_schemas(kind):
    intent, digest = canonical()
    urns = {"sales.customers": "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.sales.customers,PROD)"}
    event = to_json(build_event(kind, event_data(intent, digest, datahub_urns=urns)))
    event_schemas.validate_event(event)


def test_schemas_refuse_what_is_not_an_onboarding_event():
    event = to_json(build_event("data-discovery-available", sample(), time=AT))
    for broken, message in [
        ({**event, "type": "io.chimera.other"}, "'io.chimera.other' is not one of"),
        ({**event, "specversion": "0.3"}, "'1.0' was expected"),
        ({**event, "id": "sales_crm-1"}, "does not match"),
        ({**event, "data": {**event["data"], "datahub_urns": {}}}, "{} should be non-empty"),
        ({**event, "data": {**event["data"], "connection": {"conn_id": "crm"}}}, "Additional properties are not allowed"),
    ]:
        with pytest.raises(jsonschema.ValidationError, match=message):
            event_schemas.validate_event(broken)


def test_shipped_schema_files_are_the_generated_ones():
    shipped = {path.name: json.loads(path.read_text()) for path in event_schemas.FOLDER.glob("*.json")}
    assert shipped == event_schemas.generated()
    assert sorted(shipped) == [
        "data-discovery-available.data.schema.json",
        "datasource-onboarding.data.schema.json",
        "envelope.schema.json",
        "onboarding-completion.data.schema.json",
    ]


def test_no_connection_detail_reaches_an_event():
    source = {
        "name": "crm",
        "type": "postgres",
        "connection": {"uri": "postgresql://reader:${secret:crm_password}@crm-db.internal:5432/crmdb?sslmode=require"},
        "objects": [{"name": "public.customers", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "customers"}}}],
    }
    other = {"name": "shop", "type": "mysql", "connection": {"conn_id": "shop_mysql_conn"}, "objects": "all"}
    raw = json.dumps(intent_with(source, other, name="qa_secret")).encode()
    intent = parse_intent(raw, "qa_secret.json")
    data = event_data(intent, hashlib.sha256(raw).hexdigest(), objects={"shop": ["shop.items"]})
    text = json.dumps(to_json(build_event("onboarding-completion", data)))
    for leak in ("reader", "crm_password", "${secret", "crm-db.internal", ":5432", "crmdb", "sslmode", "shop_mysql_conn", "conn_id", "uri", "connection"):
        assert leak not in text
    assert data.sources[1].objects == ["shop.items"]


def test_data_refuses_credentials_and_connections():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        sample(connection={"conn_id": "crm_postgres"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        sample(sources=[{"name": "crm", "type": "postgres", "objects": [], "uri": "postgresql://crm"}])
    with pytest.raises(ValidationError, match="must not carry credentials"):
        sample(sources=[{"name": "crm", "type": "postgres", "objects": ["postgresql://u:hunter2@crm/db"]}])
    with pytest.raises(ValidationError, match="must be an http"):
        sample(superset={"dashboard": "https://admin:hunter2@superset.example.com/d/1"})
    with pytest.raises(ValidationError, match="is not a DataHub URN"):
        sample(datahub_urns={"sales.customers": "sales.customers"})


class _FakeKafka:
    def __init__(self):
        self.ensured: list[tuple[str, list[str]]] = []
        self.published: list[tuple] = []

    def ensure_topics(self, conn_id, topics):
        self.ensured.append((conn_id, list(topics)))
        return []

    def publish(self, conn_id, topic, key, value, *, headers=None):
        self.published.append((conn_id, topic, key, json.loads(value), headers))


def test_published_once_per_id_and_audited(tmp_path, monkeypatch):
    from airflow_provider_chimera.notify import kafka
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", "qa_events")
    fake = _FakeKafka()
    monkeypatch.setattr(kafka, "ensure_topics", fake.ensure_topics)
    monkeypatch.setattr(kafka, "publish", fake.publish)
    settings = load_settings()
    registry = open_registry(settings)

    expected = "sales_crm-0123456789abcdef-onboarding-completion"
    assert publish_onboarding_event("onboarding-completion", sample(), registry=registry, settings=settings, actor="qa") == expected
    assert publish_onboarding_event("onboarding-completion", sample(), registry=registry, settings=settings, actor="qa") is None
    assert publish_onboarding_event("data-discovery-available", sample(), registry=registry, settings=settings, actor="qa") is not None

    assert fake.ensured == [("qa_events", ["chimera.onboarding-completion"]), ("qa_events", ["chimera.data-discovery-available"])]
    assert [(c, t, k, v["id"], h) for c, t, k, v, h in fake.published] == [
        ("qa_events", "chimera.onboarding-completion", "sales_crm", expected, {"content-type": b"application/cloudevents+json"}),
        ("qa_events", "chimera.data-discovery-available", "sales_crm", "sales_crm-0123456789abcdef-data-discovery-available", {"content-type": b"application/cloudevents+json"}),
    ]
    with registry.session() as session:
        audited = [(e.actor, e.intent, e.intent_hash, e.details) for e in entries(session, action="event.published")]
    assert audited == [
        ("qa", "sales_crm", HASH, {"id": "sales_crm-0123456789abcdef-data-discovery-available", "topic": "chimera.data-discovery-available", "kind": "data-discovery-available"}),
        ("qa", "sales_crm", HASH, {"id": expected, "topic": "chimera.onboarding-completion", "kind": "onboarding-completion"}),
    ]


def test_nothing_recorded_when_kafka_refuses(tmp_path, monkeypatch):
    from airflow_provider_chimera.notify import kafka
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    fake = _FakeKafka()

    def refuse(*_args, **_kwargs):
        raise kafka.KafkaNotDelivered("message not delivered to Kafka topic 'chimera.onboarding-completion' within 15 s")

    monkeypatch.setattr(kafka, "ensure_topics", fake.ensure_topics)
    monkeypatch.setattr(kafka, "publish", refuse)
    settings = load_settings()
    registry = open_registry(settings)
    with pytest.raises(kafka.KafkaNotDelivered, match="within 15 s"):
        publish_onboarding_event("onboarding-completion", sample(), registry=registry, settings=settings)
    with registry.session() as session:
        assert entries(session, action="event.published") == []
    # A later attempt publishes it.
    monkeypatch.setattr(kafka, "publish", fake.publish)
    assert publish_onboarding_event("onboarding-completion", sample(), registry=registry, settings=settings) is not None
    assert len(fake.published) == 1


def test_the_examples_in_the_docs_match_the_schemas():
    import re

    text = (REPO / "docs" / "events.md").read_text()
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]
    assert [e["type"] for e in examples] == [f"io.chimera.{kind}" for kind in KINDS]
    for example in examples:
        event_schemas.validate_event(example)
