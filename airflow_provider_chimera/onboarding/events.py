"""Onboarding events: CloudEvents 1.0 JSON messages on three Kafka topics.

- ``datasource-onboarding`` (type ``io.chimera.datasource-onboarding``, topic option
  ``datasource_onboarding_topic``): an intent version's sources and objects are being onboarded;
- ``onboarding-completion`` (``io.chimera.onboarding-completion``, ``onboarding_completion_topic``):
  the intent version is onboarded, its pipelines and target tables exist;
- ``data-discovery-available`` (``io.chimera.data-discovery-available``, ``data_discovery_topic``):
  its datasets are described in DataHub.

Each event's ``source`` is ``chimera/intents/<intent>``, its ``subject`` the intent name, and its
``id`` ``<intent>-<first 16 hex digits of the intent version's hash>-<kind>``: the same intent
version and step always give the same id. :func:`publish_onboarding_event` publishes an id once
(the registry's audit log keeps an ``event.published`` entry per id), so onboarding an unchanged
intent again emits nothing new. Messages are in CloudEvents' Kafka structured mode (header
``content-type: application/cloudevents+json``), keyed by the intent name, on the cluster of the
Airflow connection ``[chimera] events_kafka_conn_id``; topics are created when missing.

The data (:class:`OnboardingEventData`) names the intent, team, project, sources and objects,
target tables, DataHub URNs and optional Superset links — never a connection, URI or credential.
Its JSON Schemas ship in ``onboarding/schemas`` (:mod:`.event_schemas`; see docs/events.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from airflow_provider_chimera.secrets import Scrubber

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

    from airflow_provider_chimera.contract.model import Intent
    from airflow_provider_chimera.registry.db import Registry
    from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)

Kind = Literal["datasource-onboarding", "onboarding-completion", "data-discovery-available"]
KINDS: tuple[str, ...] = get_args(Kind)
# Each kind of event -> the [chimera] option naming its topic.
STEPS: dict[str, str] = {
    "datasource-onboarding": "datasource_onboarding_topic",
    "onboarding-completion": "onboarding_completion_topic",
    "data-discovery-available": "data_discovery_topic",
}
TYPE_PREFIX = "io.chimera."
SOURCE_PREFIX = "chimera/intents/"
DATA_CONTENT_TYPE = "application/json"
AUDIT_ACTION = "event.published"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
HASH_DIGITS = 16


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceObjects(_Model):
    """A data source of the intent and the objects of it the event concerns."""

    name: str = Field(pattern=NAME_PATTERN, description="the source's name in the intent")
    type: str = Field(description="the source type: postgres, mysql, snowflake, mongodb, kafka, file or pdf")
    objects: list[str] = Field(
        default_factory=list,
        description="object names (schema.table, collection, topic, logical file name); empty for a source "
        "declaring `all` whose objects are not listed yet",
    )


class OnboardingEventData(_Model):
    """The ``data`` of every onboarding event."""

    intent: str = Field(pattern=NAME_PATTERN, description="the intent's name (its file stem)")
    intent_hash: str = Field(pattern=r"^[0-9a-f]{16,64}$", description="SHA-256 of the intent version's file")
    team: str = Field(min_length=1, description="the producing team's name")
    project: str = Field(min_length=1, description="the team's project (default Iceberg namespace)")
    sources: list[SourceObjects] = Field(min_length=1, description="the sources and objects concerned")
    targets: list[str] = Field(default_factory=list, description="Iceberg target tables, `namespace.table`")
    datahub_urns: dict[str, str] = Field(
        default_factory=dict,
        description="DataHub URN of each thing described, keyed by what it is: a target table "
        "(`sales.customers`), a source object (`crm/public.customers`) or a pipeline id",
    )
    superset: dict[str, str] = Field(
        default_factory=dict, description="optional Superset links (dataset, chart or dashboard URLs), keyed by label"
    )

    @field_validator("datahub_urns")
    @classmethod
    def _urns(cls, urns: dict[str, str]) -> dict[str, str]:
        for name, urn in urns.items():
            if not urn.startswith("urn:li:"):
                raise ValueError(f"datahub_urns[{name!r}] is not a DataHub URN (urn:li:...): {urn!r}")
        return urns

    @field_validator("superset")
    @classmethod
    def _links(cls, links: dict[str, str]) -> dict[str, str]:
        for label, url in links.items():
            if not url.startswith(("http://", "https://")) or "@" in url.split("/")[2]:
                raise ValueError(f"superset[{label!r}] must be an http(s) URL without user or password")
        return links

    @model_validator(mode="after")
    def _nothing_secret(self) -> OnboardingEventData:
        scrub = Scrubber()
        for text in _strings(self.model_dump()):
            if scrub(text) != text:
                raise ValueError("onboarding event data must not carry credentials (a URI password or a key=value secret)")
        return self


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def event_data(
    intent: Intent,
    intent_hash: str,
    *,
    objects: Mapping[str, list[str]] | None = None,
    datahub_urns: Mapping[str, str] | None = None,
    superset: Mapping[str, str] | None = None,
) -> OnboardingEventData:
    """The data of ``intent``'s events: every source with its objects (``objects`` lists those of a
    source declaring ``all``, once known), and the target tables of its pipelines. Connections are
    left out: only names and types are taken from a source."""
    from airflow_provider_chimera.pipelines import pipelines_of

    listed = dict(objects or {})
    sources = [
        SourceObjects(
            name=source.name,
            type=source.type,
            objects=list(listed.get(source.name, [])) if source.objects == "all" else [o.name for o in source.objects],
        )
        for source in intent.sources
    ]
    targets = list(dict.fromkeys(p.target_table for p in pipelines_of(intent, f"{intent.name}.json", intent_hash)))
    return OnboardingEventData(
        intent=intent.name,
        intent_hash=intent_hash,
        team=intent.team.name,
        project=intent.project,
        sources=sources,
        targets=targets,
        datahub_urns=dict(datahub_urns or {}),
        superset=dict(superset or {}),
    )


def event_type(kind: str) -> str:
    return TYPE_PREFIX + _known(kind)


def event_id(kind: str, data: OnboardingEventData) -> str:
    """Stable per intent version and step: ``sales_crm-0123456789abcdef-onboarding-completion``."""
    return f"{data.intent}-{data.intent_hash[:HASH_DIGITS]}-{_known(kind)}"


def build_event(kind: str, data: OnboardingEventData, *, time: dt.datetime | None = None) -> CloudEvent:
    """The CloudEvents 1.0 event of ``kind`` about ``data`` (``time`` defaults to now, UTC)."""
    from cloudevents.core.v1.event import CloudEvent

    attributes = {
        "specversion": "1.0",
        "type": event_type(kind),
        "source": SOURCE_PREFIX + data.intent,
        "id": event_id(kind, data),
        "time": (time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0),
        "subject": data.intent,
        "datacontenttype": DATA_CONTENT_TYPE,
    }
    return CloudEvent(attributes, data.model_dump(mode="json"))


def to_json(event: CloudEvent) -> dict[str, Any]:
    """The event as its structured-mode JSON object (what a consumer reads from the message value)."""
    from cloudevents.core.formats.json import JSONFormat

    return json.loads(JSONFormat().write(event))


def topic_of(kind: str, settings: ChimeraSettings) -> str:
    return getattr(settings, STEPS[_known(kind)])


def publish_onboarding_event(
    kind: str,
    data: OnboardingEventData,
    *,
    registry: Registry,
    settings: ChimeraSettings | None = None,
    actor: str | None = None,
) -> str | None:
    """Publish the ``kind`` event of ``data`` once: returns its id, or ``None`` when an event with
    that id was already published (an unchanged intent onboarded again). The topic is created if
    missing; the publication is recorded in the audit log (``event.published``: id, topic, kind).
    Raises :class:`~airflow_provider_chimera.notify.kafka.KafkaNotDelivered` when Kafka does not
    take it (then nothing is recorded, and a later attempt publishes it)."""
    from cloudevents.core.bindings.kafka import to_structured_event

    from airflow_provider_chimera.notify import kafka
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.settings import load_settings

    settings = settings or load_settings()
    event = build_event(kind, data)
    identifier, topic = event.get_id(), topic_of(kind, settings)
    with registry.exclusive("onboarding-events"):
        if was_published(registry, data.intent, identifier):
            log.info("event %s was already published; not sent again", identifier)
            return None
        kafka.ensure_topics(settings.events_kafka_conn_id, [topic])
        message = to_structured_event(event, key_mapper=lambda _event: data.intent)
        kafka.publish(settings.events_kafka_conn_id, topic, message.key, message.value, headers=message.headers)
        record(
            registry,
            actor,
            AUDIT_ACTION,
            intent=data.intent,
            intent_hash=data.intent_hash,
            details={"id": identifier, "topic": topic, "kind": kind},
        )
    log.info("published %s on Kafka topic %s", identifier, topic)
    return identifier


def was_published(registry: Registry, intent: str, identifier: str) -> bool:
    """Whether the audit log records the publication of the event ``identifier`` of ``intent``."""
    from airflow_provider_chimera.registry.audit import entries

    with registry.session() as session:
        return any(e.details.get("id") == identifier for e in entries(session, intent=intent, action=AUDIT_ACTION, limit=None))


def _known(kind: str) -> str:
    if kind not in STEPS:
        raise ValueError(f"unknown onboarding event kind {kind!r}; one of {', '.join(KINDS)}")
    return kind
