"""Kafka read in blocks (sources.kafkafetch): the happy path looks at no message one by one, and
each fallback keeps the run exact: a value spanning lines, a tombstone, a bad message among many,
messages that arrived after the run started, transaction markers."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources import source_reader
from tests.helpers import pipeline_for, record_schema, single_object_source

SCHEMA = record_schema(["n"], n="long", text="string")
BLOCK = 1_000  # batch_rows: blocks of that many messages, several per test


def _value(n: int) -> bytes:
    return json.dumps({"n": n, "text": f"message {n}"}).encode()


def _produce(services, topic: str, values: dict[int, bytes | None], partitions: int = 3) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"], "linger.ms": 50})
    for n, value in values.items():
        producer.produce(topic, value=value, partition=n % partitions)
    assert producer.flush(30) == 0


def _extract(services, topic: str, since=None):
    source = single_object_source("kafka", {"uri": f"kafka://{services['CHIMERA_KAFKA_BOOTSTRAP']}"}, topic,
                                  {"type": "incremental"}, "blocks", schema=SCHEMA)
    pipeline = pipeline_for(source)
    return source_reader(pipeline.source, BLOCK).extract(pipeline.object, since)


def _read(extract) -> pa.Table:
    batches = list(extract.batches())
    assert all(b.num_rows <= BLOCK for b in batches)
    return pa.Table.from_batches(batches, schema=extract.schema)


def _ns(table: pa.Table) -> list[int]:
    return sorted(table.column("n").to_pylist())


@pytest.fixture
def topic(kafka_topic):
    return kafka_topic("qa.blocks", partitions=3)


def test_plain_messages_are_never_looked_at_one_by_one(topic, services):
    _produce(services, topic, {n: _value(n) for n in range(5_000)})
    extract = _extract(services, topic)
    assert _ns(_read(extract)) == list(range(5_000))
    assert (extract.exact_calls, extract.tombstones, extract.rejected) == (0, 0, [])
    assert extract.position().offsets == {str(p): len(range(p, 5_000, 3)) for p in range(3)}


def test_a_value_spanning_lines_reads_as_one_record(topic, services):
    values = {n: _value(n) for n in range(3_000)}
    values[1_234] = b'{\n  "n": 1234,\r\n  "text": "two\\nlines"\n}'
    _produce(services, topic, values)
    extract = _extract(services, topic)
    table = _read(extract)
    assert _ns(table) == list(range(3_000))
    assert table.filter(pa.compute.equal(table.column("n"), 1_234)).column("text").to_pylist() == ["two\nlines"]
    assert extract.rejected == []


def test_tombstones_are_counted_and_skipped(topic, services):
    values: dict[int, bytes | None] = {n: _value(n) for n in range(3_000)}
    values[7] = values[2_500] = None
    _produce(services, topic, values)
    extract = _extract(services, topic)
    assert _ns(_read(extract)) == [n for n in range(3_000) if n not in (7, 2_500)]
    assert extract.tombstones == 2
    assert extract.exact_calls >= 1
    assert extract.position().offsets == {str(p): 1_000 for p in range(3)}  # tombstones are read past


def test_a_bad_message_among_many_is_rejected_with_its_offset(topic, services):
    values = {n: _value(n) for n in range(3_000)}
    values[1_501] = b'{"n": "not a number", "text": "x"}'
    values[1_502] = b"not json"
    _produce(services, topic, values)
    extract = _extract(services, topic)
    assert _ns(_read(extract)) == [n for n in range(3_000) if n not in (1_501, 1_502)]
    rejected = sorted((r.position, r.raw, r.reason) for r in extract.rejected)
    assert [(position, raw) for position, raw, _ in rejected] == [
        ("1/500", '{"n": "not a number", "text": "x"}'), ("2/500", "not json")]  # n % 3 is the partition, n // 3 the offset
    assert "'n'" in rejected[0][2] and rejected[1][2].startswith("not valid JSON")


def test_messages_produced_after_the_plan_are_left_to_the_next_run(topic, services):
    _produce(services, topic, {n: _value(n) for n in range(3_000)})
    extract = _extract(services, topic)  # plans the ends now
    _produce(services, topic, {n: _value(n) for n in range(3_000, 4_500)})
    assert _ns(_read(extract)) == list(range(3_000))
    assert extract.position().offsets == {str(p): 1_000 for p in range(3)}
    after = _extract(services, topic, since=extract.position())
    assert _ns(_read(after)) == list(range(3_000, 4_500))


def test_transaction_markers_leave_gaps_the_run_reads_past(topic, services):
    """Each committed transaction ends with a control record: an offset with no message."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"], "transactional.id": topic})
    producer.init_transactions(30)
    for first in range(0, 3_000, 500):
        producer.begin_transaction()
        for n in range(first, first + 500):
            producer.produce(topic, value=_value(n), partition=n % 3)
        producer.commit_transaction(30)
    extract = _extract(services, topic)
    assert _ns(_read(extract)) == list(range(3_000))
    assert extract.position().offsets == {str(p): 1_000 + 6 for p in range(3)}  # past the 6 markers


class _Recording:
    """The real consumer, with the size of every consume() call it was asked for written down."""

    def __init__(self, consumer, asked: list[tuple[int, int]]):
        self._consumer, self._asked = consumer, asked

    def consume(self, num_messages: int = 1, timeout: float = -1):
        messages = self._consumer.consume(num_messages=num_messages, timeout=timeout)
        self._asked.append((num_messages, len(messages)))
        return messages

    def __getattr__(self, name):
        return getattr(self._consumer, name)


def test_no_consume_call_asks_for_more_than_the_plan_has_left(topic, services, monkeypatch):
    # consume() waits until it has as many messages as it asked for, or its timeout: a call asking
    # for more than is left would make the run's last call wait out the timeout.
    from airflow_provider_chimera.sources.kafka import KafkaReader

    asked: list[tuple[int, int]] = []
    real = KafkaReader.consumer
    monkeypatch.setattr(KafkaReader, "consumer", lambda self, group=None: _Recording(real(self, group), asked))
    _produce(services, topic, {n: _value(n) for n in range(2_500)})
    extract = _extract(services, topic)
    assert _ns(_read(extract)) == list(range(2_500))
    left = 2_500
    for want, got in asked:
        assert 0 < want <= left, asked
        left -= got
    assert left == 0
