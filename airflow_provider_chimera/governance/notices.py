"""Telling a team that a pipeline's timeliness changed: an email and an event on a Kafka topic.

The email goes to the intent's ``team.support_email`` through Airflow's SMTP provider (the
connection ``[chimera] smtp_conn_id``); the event is a CloudEvents-style JSON message on
``[chimera] events_topic`` of the Kafka connection ``[chimera] events_kafka_conn_id``, keyed by
the pipeline id. Both go through :mod:`airflow_provider_chimera.notify`; each sender raises on
failure, and the caller records the outcome.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from airflow_provider_chimera.governance.timeliness import LABELS
from airflow_provider_chimera.notify import cloudevents, email, kafka

EVENT_TYPE = "chimera.sla.changed"
EVENT_SOURCE = "chimera/timeliness"
KAFKA_FLUSH_SECONDS = kafka.TIMEOUT_SECONDS
_iso = cloudevents.iso


@dataclass(frozen=True)
class SlaChange:
    """One recorded change of a pipeline's timeliness state, with what a notice needs to say."""

    event_id: int
    pipeline: str
    intent: str
    team: str
    support_email: str
    target_table: str
    from_state: str | None
    to_state: str
    at: dt.datetime
    last_published_at: dt.datetime | None
    fresh_within: str
    warn_after: str | None


def label(state: str | None) -> str:
    return LABELS.get(state, state) if state else "not checked before"


# "<pipeline> is ..." in a subject line.
_IS = {"on_time": "on time", "warning": "in early warning", "late": "late", "unknown": "of unknown timeliness",
       "error": "in error (its sla cannot be assessed)"}


def subject(change: SlaChange) -> str:
    """``Chimera: sales_crm_crm_public_customers is late (was in early warning)``."""
    was = f" (was {_IS.get(change.from_state, change.from_state)})" if change.from_state else ""
    return f"Chimera: {change.pipeline} is {_IS.get(change.to_state, change.to_state)}{was}"


def html_body(change: SlaChange) -> str:
    published = _iso(change.last_published_at) if change.last_published_at else "never"
    rows = [
        ("Pipeline", change.pipeline),
        ("Intent", change.intent),
        ("Target table", change.target_table),
        ("State", label(change.to_state)),
        ("Previous state", label(change.from_state)),
        ("Changed at", _iso(change.at)),
        ("Last published", published),
        ("Fresh within", change.fresh_within),
        ("Early warning after", change.warn_after or "-"),
    ]
    return (
        f"<p>The timeliness of pipeline <b>{html.escape(change.pipeline)}</b> of team "
        f"{html.escape(change.team)} changed to <b>{html.escape(label(change.to_state))}</b>.</p>"
        + email.facts_table(rows)
        + "<p>The board of every pipeline: <code>chimera status</code>.</p>"
    )


def cloud_event(change: SlaChange) -> dict[str, Any]:
    """The event for ``change``; its ``id`` is stable, so a resent event can be recognised."""
    return cloudevents.cloud_event(
        type=EVENT_TYPE,
        source=EVENT_SOURCE,
        id=f"chimera-sla-{change.event_id}",
        time=change.at,
        subject=change.pipeline,
        data={
            "pipeline": change.pipeline,
            "intent": change.intent,
            "team": change.team,
            "target_table": change.target_table,
            "from": change.from_state,
            "to": change.to_state,
            "last_published_at": _iso(change.last_published_at) if change.last_published_at else None,
            "fresh_within": change.fresh_within,
            "warn_after": change.warn_after,
        },
    )


def send_email(conn_id: str, change: SlaChange) -> str:
    """Mail ``change`` to the team's support address; returns the recipient."""
    email.send_email(conn_id, change.support_email, subject(change), html_body(change))
    return change.support_email


def publish_event(conn_id: str, topic: str, change: SlaChange) -> str:
    """Produce ``change`` as a CloudEvents JSON message on ``topic``; returns the topic once delivered."""
    return cloudevents.publish_cloud_event(conn_id, topic, change.pipeline, cloud_event(change), timeout=KAFKA_FLUSH_SECONDS)
