"""Kafka → Iceberg over TCP against the KRaft broker `make services` starts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

SCHEMA = record_schema(["user_id", "ts"], user_id="string", url="string", n="long", ts="timestamptz")


@pytest.fixture
def kafka(kafka_topic):
    return kafka_topic("qa.clicks", conn_id="qa_kafka", partitions=3)


def _produce(services, topic: str, first: int, last: int, raw: dict[int, bytes] | None = None) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"]})
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    for n in range(first, last + 1):
        value = (raw or {}).get(n) or json.dumps(
            {"user_id": f"u{n % 7}", "url": f"/p/{n}", "n": n, "ts": (start + dt.timedelta(seconds=n)).isoformat(), "extra": 1}
        ).encode()
        producer.produce(topic, key=str(n).encode(), value=value)
    assert producer.flush(30) == 0


def _source(topic: str, mode: dict, connection: dict | None = None) -> dict:
    return single_object_source("kafka", connection or {"conn_id": "qa_kafka"}, topic, mode, "clicks", schema=SCHEMA)


def test_avro_values_with_and_without_the_confluent_header(kafka, services, catalog):
    import io
    import struct

    import fastavro
    from confluent_kafka import Producer

    from airflow_provider_chimera.contract.arrow import avro_schema
    from airflow_provider_chimera.contract.model import ObjectSchema

    avro = fastavro.parse_schema(avro_schema(ObjectSchema.model_validate(SCHEMA)))
    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"]})
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    for n in range(1, 21):
        out = io.BytesIO()
        if n % 2:  # Confluent wire format: magic byte 0, then the registry's 4-byte schema id
            out.write(b"\x00" + struct.pack(">I", 7))
        fastavro.schemaless_writer(out, avro, {"user_id": f"u{n}", "url": None, "n": n, "ts": start + dt.timedelta(seconds=n)})
        producer.produce(kafka, value=out.getvalue())
    assert producer.flush(30) == 0
    source = _source(kafka, {"type": "incremental"})
    source["objects"][0]["format"] = "avro"
    assert run_pipeline(pipeline_for(source))["rows"] == 20
    table = read_table(catalog, "qa.clicks").sort_by("n")
    assert table.slice(1, 1).to_pylist()[0] == {"user_id": "u2", "url": None, "n": 2, "ts": start + dt.timedelta(seconds=2)}
    producer.produce(kafka, value=b"\x02\xff\xfe")
    assert producer.flush(30) == 0
    with pytest.raises(QuarantineThresholdError, match=r"1 of 1 records read \(100.0%\) went to quarantine table qa.clicks__quarantine"):
        run_pipeline(pipeline_for(source))
    (row,) = read_table(catalog, "qa.clicks__quarantine").to_pylist()
    assert row["reason"].startswith("not an Avro record of the declared schema (")
    assert row["raw"] == "base64:Av/+"  # not UTF-8: kept as base64


def test_stream_mode_commits_micro_batches_until_caught_up(kafka, services, catalog, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__STREAM_BATCH_ROWS", "40")
    source = _source(kafka, {"type": "stream"})
    _produce(services, kafka, 1, 100)
    result = run_pipeline(pipeline_for(source))
    assert (result["rows"], result["micro_batches"]) == (100, 3)  # 40 + 40 + 20
    table = catalog.load_table("qa.clicks")
    assert sorted(table.scan().to_arrow().column("n").to_pylist()) == list(range(1, 101))
    assert len([s for s in table.snapshots() if s.summary.get("chimera.pipeline")]) == 3
    again = run_pipeline(pipeline_for(source))
    assert (again["rows"], again["micro_batches"], again["committed"]) == (0, 0, False)
    _produce(services, kafka, 101, 110)
    assert run_pipeline(pipeline_for(source))["rows"] == 10
