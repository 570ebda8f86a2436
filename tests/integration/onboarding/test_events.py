"""Onboarding events on the local Kafka broker: topics created when missing, one message per event
id however often it is published, each a CloudEvents 1.0 JSON message matching the shipped schemas."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace

import pytest

from tests.conftest import require_service
from tests.integration.onboarding.topics import topic_dropper

EVENTS_CONN = "chimera_test_onboarding_events"
HASH = "89abcdef01234567" + "0" * 48


@pytest.fixture
def home(tmp_path, monkeypatch, services, cleanups):
    """Settings naming three topics that do not exist yet (deleted after the test), and a fresh registry."""
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS
    from airflow_provider_chimera.settings import load_settings

    bootstrap = services["CHIMERA_KAFKA_BOOTSTRAP"]
    host, _, port = bootstrap.partition(":")
    require_service("Kafka", host, port)
    monkeypatch.setenv(f"AIRFLOW_CONN_{EVENTS_CONN.upper()}", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap}}))
    suffix = uuid.uuid4().hex[:8]
    topics = {kind: f"chimera.test.{kind}.{suffix}" for kind in STEPS}
    for kind, option in STEPS.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option.upper()}", topics[kind])
    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", EVENTS_CONN)
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cleanups(topic_dropper(admin, topics.values()))
    return SimpleNamespace(settings=load_settings(), topics=topics, admin=admin, bootstrap=bootstrap)


def _data():
    from airflow_provider_chimera.onboarding.events import OnboardingEventData

    return OnboardingEventData(
        intent="qa_onboard",
        intent_hash=HASH,
        team="qa",
        project="qa",
        sources=[{"name": "crm", "type": "postgres", "objects": ["public.customers"]}],
        targets=["qa.customers"],
        datahub_urns={"qa.customers": "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.qa.customers,PROD)"},
    )


def _messages(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list:
    """The first ``count`` messages of ``topic``; fails if one more arrives."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and not message.error():
                found.append(message)
        extra = consumer.poll(3.0)
        assert extra is None or extra.error(), f"unexpected message on {topic}: {extra.value()!r}"
    finally:
        consumer.close()
    return found


def test_ensure_topics_creates_only_missing_ones(home):
    from airflow_provider_chimera.notify.kafka import ensure_topics

    wanted = sorted(home.topics.values())
    assert not set(wanted) & set(home.admin.list_topics(timeout=10).topics)
    assert sorted(ensure_topics(EVENTS_CONN, wanted)) == wanted
    deadline = time.monotonic() + 10  # the broker's metadata may lag the creation by a moment
    while not set(wanted) <= set(home.admin.list_topics(timeout=10).topics) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(wanted) <= set(home.admin.list_topics(timeout=10).topics)
    assert ensure_topics(EVENTS_CONN, [*wanted, wanted[0]]) == []  # idempotent


def test_each_event_is_published_once_as_cloudevents_json(home):
    from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event

    from airflow_provider_chimera.onboarding.event_schemas import validate_event
    from airflow_provider_chimera.onboarding.events import KINDS, publish_onboarding_event
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    registry = open_registry(home.settings)
    published = {kind: publish_onboarding_event(kind, _data(), registry=registry, settings=home.settings) for kind in KINDS}
    assert published == {kind: f"qa_onboard-89abcdef01234567-{kind}" for kind in KINDS}
    # Onboarding the unchanged intent again (even through a registry opened anew) emits nothing.
    again = open_registry(home.settings)
    assert [publish_onboarding_event(kind, _data(), registry=again, settings=home.settings) for kind in KINDS] == [None] * 3

    for kind, topic in home.topics.items():
        (message,) = _messages(home.bootstrap, topic, 1)
        assert message.key() == b"qa_onboard"
        assert dict(message.headers()) == {"content-type": b"application/cloudevents+json"}
        body = json.loads(message.value())
        validate_event(body)
        assert (body["specversion"], body["type"], body["id"], body["source"]) == (
            "1.0", f"io.chimera.{kind}", published[kind], "chimera/intents/qa_onboard",
        )
        assert body["data"] == _data().model_dump()
        event = from_structured_event(KafkaMessage(headers=dict(message.headers()), key=message.key(), value=message.value()))
        assert (event.get_id(), event.get_type(), event.get_extension("partitionkey")) == (published[kind], f"io.chimera.{kind}", "qa_onboard")

    with registry.session() as session:
        audited = sorted((e.intent, e.details["kind"], e.details["topic"], e.details["id"]) for e in entries(session, action="event.published"))
    assert audited == sorted(("qa_onboard", kind, home.topics[kind], published[kind]) for kind in KINDS)
