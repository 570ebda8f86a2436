"""A pipeline's ``trigger`` as an Airflow schedule.

``timed``: the cron expression or preset, or an ISO-8601 duration as a ``timedelta``.
``event``: data-aware scheduling on an Asset when ``on`` is an asset URI; when ``on`` names a
Kafka topic, event-driven scheduling: an Asset whose AssetWatcher runs Kafka's message-queue
trigger in the triggerer, so each message batch on the topic starts a run.
``adhoc``: no schedule; runs start from the REST API or the UI.

A timed ``partitioned`` pipeline gets a data-interval timetable (:func:`timetable_of`), in UTC:
each scheduled run covers the period that has just ended, ``[previous fire, this fire)``, so the
run at midnight loads the day before (decision 0051, docs/run-windows.md). Other modes keep
Airflow's default, whose scheduled runs have no interval (they read from their own position).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset

from airflow_provider_chimera.contract.model import AdhocTrigger, EventTrigger, PartitionedMode, TimedTrigger
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.pipelines.uris import topic_conn_id, topic_uri


def accept_message(message: Any) -> bool:
    """Kafka trigger filter: every message on the watched topic is an event."""
    return True


def duration(value: str) -> timedelta:
    import pendulum

    parsed = pendulum.parse(value)
    return timedelta(seconds=parsed.total_seconds())  # type: ignore[union-attr]


def topic_asset(pipeline: Pipeline, topic: str, events_conn_id: str) -> Asset:
    """An Asset fed by a watcher on a Kafka topic."""
    from airflow.providers.apache.kafka.triggers.msg_queue import KafkaMessageQueueTrigger
    from airflow.sdk import AssetWatcher

    conn_id = topic_conn_id(pipeline, events_conn_id)
    trigger = KafkaMessageQueueTrigger(
        topics=[topic],
        kafka_config_id=conn_id,
        apply_function=f"{__name__}.accept_message",
    )
    uri = topic_uri(pipeline, topic, events_conn_id)
    # Named and grouped like the pipeline's source asset (factory.assets): when the topic is the
    # pipeline's own source, inlet and schedule are one asset, as Airflow requires.
    return Asset(
        uri=uri,
        name=uri,
        group="chimera-source",
        watchers=[AssetWatcher(name=f"chimera_{conn_id}_{topic}".replace(".", "_"), trigger=trigger)],
    )


def schedule_of(pipeline: Pipeline, events_conn_id: str = "kafka_default") -> str | timedelta | list[Asset] | None:
    trigger = pipeline.ingestion.trigger
    if isinstance(trigger, TimedTrigger):
        return duration(trigger.schedule) if trigger.schedule.startswith("P") else trigger.schedule
    if isinstance(trigger, EventTrigger):
        if "://" in trigger.on:
            return [Asset(uri=trigger.on)]
        return [topic_asset(pipeline, trigger.on, events_conn_id)]
    assert isinstance(trigger, AdhocTrigger)
    return None


def timetable_of(pipeline: Pipeline, events_conn_id: str = "kafka_default") -> Any:
    """The DAG's ``schedule``: :func:`schedule_of`, or for a timed ``partitioned`` pipeline the
    data-interval timetable of its cron expression or duration (in UTC)."""
    from airflow.sdk import CronDataIntervalTimetable, DeltaDataIntervalTimetable

    schedule = schedule_of(pipeline, events_conn_id)
    if not isinstance(pipeline.ingestion.mode, PartitionedMode) or schedule in (None, "@once", "@continuous"):
        return schedule
    if isinstance(schedule, timedelta):
        return DeltaDataIntervalTimetable(schedule)
    if isinstance(schedule, str):
        return CronDataIntervalTimetable(schedule, timezone="UTC")
    return schedule
