"""Kafka topics and messages through an Airflow Kafka connection (the Kafka provider's hooks).

:func:`ensure_topics` creates the topics that do not exist yet (with the cluster's default
partition count and replication factor), and does nothing for those that do — it may run any
number of times, and at the same time as another process creating the same topic.
:func:`publish` produces one message and waits until the cluster acknowledged it. Both raise
:class:`KafkaNotDelivered` with a message naming the connection and topic, never its config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TIMEOUT_SECONDS = 15.0


class KafkaNotDelivered(RuntimeError):
    """A topic could not be created or a message was not acknowledged in time."""


def ensure_topics(conn_id: str, topics: Iterable[str], *, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """Create each of ``topics`` missing on the cluster of connection ``conn_id``; returns those created."""
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    wanted = list(dict.fromkeys(topics))
    admin = KafkaAdminClientHook(kafka_config_id=conn_id).get_conn
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise KafkaNotDelivered(f"Kafka cluster of connection {conn_id!r} did not answer: {_reason(exc)}") from None
    missing = [topic for topic in wanted if topic not in existing]
    if not missing:
        return []
    # -1: the broker's num.partitions and default.replication.factor.
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=-1, replication_factor=-1) for topic in missing], request_timeout=timeout
    )
    created: list[str] = []
    for topic, future in futures.items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            if exc.args and isinstance(exc.args[0], KafkaError) and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # created meanwhile by someone else
            raise KafkaNotDelivered(
                f"Kafka topic {topic!r} could not be created on connection {conn_id!r}: {_reason(exc)}"
            ) from None
        except TimeoutError:
            raise KafkaNotDelivered(
                f"Kafka topic {topic!r} was not created on connection {conn_id!r} within {timeout:.0f} s"
            ) from None
        created.append(topic)
    return created


def publish(
    conn_id: str,
    topic: str,
    key: str | bytes | None,
    value: bytes,
    *,
    headers: Mapping[str, bytes] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """Produce one message on ``topic`` of connection ``conn_id`` and wait (up to ``timeout``) for its delivery."""
    from airflow.providers.apache.kafka.hooks.produce import KafkaProducerHook

    producer = KafkaProducerHook(kafka_config_id=conn_id).get_producer()
    failures: list[str] = []

    def delivered(error, _message) -> None:
        if error is not None:
            failures.append(error.str() if hasattr(error, "str") else str(error))

    producer.produce(
        topic,
        key=key.encode() if isinstance(key, str) else key,
        value=value,
        headers=dict(headers or {}),
        on_delivery=delivered,
    )
    if producer.flush(timeout) > 0:
        producer.purge()  # not delivered now: never delivered later behind the caller's back
        producer.flush(0)
        raise KafkaNotDelivered(f"message not delivered to Kafka topic {topic!r} within {timeout:.0f} s")
    if failures:
        raise KafkaNotDelivered(f"Kafka topic {topic!r} refused the message: {failures[0]}")


def _reason(exc: Exception) -> str:
    error = exc.args[0] if exc.args else exc
    return error.str() if hasattr(error, "str") else str(error)
