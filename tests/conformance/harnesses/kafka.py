"""Kafka: a topic of JSON messages read with a declared schema; the position is the offsets."""

from __future__ import annotations

import json
from typing import Any

from tests.conformance import declared
from tests.conformance.harness import SourceHarness
from tests.mailbox import free_port


class KafkaHarness(SourceHarness):
    source_type = "kafka"
    incremental_mode = {"type": "incremental"}  # past the committed offsets, not a cursor

    def prepare(self) -> None:
        self.topic = self.fixture("kafka_topic")("qa.conf", conn_id="qa_conf_kafka", partitions=3)

    def connection(self) -> dict[str, Any]:
        return {"conn_id": "qa_conf_kafka"}

    @property
    def object_name(self) -> str:
        return self.topic

    def object_fields(self) -> dict[str, Any]:
        return {"schema": declared.SCHEMA}

    def _produce(self, values: list[bytes]) -> None:
        from confluent_kafka import Producer

        producer = Producer({"bootstrap.servers": self.fixture("services")["CHIMERA_KAFKA_BOOTSTRAP"]})
        for value in values:
            producer.produce(self.topic, value=value)
        assert producer.flush(30) == 0, "messages not delivered"

    def create_object(self, rows: int) -> None:
        self.append_rows(1, rows)  # the topic exists from prepare(): it is empty until now

    def append_rows(self, first: int, last: int) -> None:
        self._produce([json.dumps(declared.record(n)).encode() for n in range(first, last + 1)])

    def add_bad_record(self) -> str:
        self._produce([b"not json"])
        return "not valid JSON"

    def expected_types(self) -> dict[str, str]:
        return declared.ICEBERG_TYPES

    def expected_row(self, n: int) -> dict[str, Any]:
        return declared.expected_row(n)

    def missing_object_source(self) -> tuple[dict[str, Any], str]:
        name = f"{self.topic}.missing"
        return self.source({"type": "full"}, object_name=name), name

    def unreachable_connection(self) -> tuple[dict[str, Any], str]:
        return {"uri": f"kafka://127.0.0.1:{free_port()}"}, ""  # a plaintext broker address holds no secret
