"""CloudEvents 1.0 JSON messages on Kafka, in the Kafka binding's structured mode.

The one builder of the events Chimera publishes as plain dictionaries (timeliness notices,
failure alerts): :func:`cloud_event` gives the envelope, :func:`publish_cloud_event` sends it as
the message value with the header ``content-type: application/cloudevents+json``, keyed as asked
(the pipeline id, so one pipeline's events keep their order within a partition).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from airflow_provider_chimera.notify import kafka

SPEC_VERSION = "1.0"
CONTENT_TYPE = b"application/cloudevents+json"  # CloudEvents' structured mode


def cloud_event(*, type: str, source: str, id: str, subject: str, time: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The event's envelope around ``data``; ``time`` in UTC, RFC 3339 (``...Z``)."""
    return {
        "specversion": SPEC_VERSION,
        "type": type,
        "source": source,
        "id": id,
        "time": iso(time),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def publish_cloud_event(conn_id: str, topic: str, key: str, event: dict[str, Any], *, timeout: float = kafka.TIMEOUT_SECONDS) -> str:
    """Produce ``event`` on ``topic`` of the Kafka connection ``conn_id``; returns the topic once delivered."""
    kafka.publish(
        conn_id, topic, key=key, value=json.dumps(event).encode(), headers={"content-type": CONTENT_TYPE}, timeout=timeout
    )
    return topic


def iso(moment: dt.datetime) -> str:
    """``2026-12-07T01:30:00Z``: UTC, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
