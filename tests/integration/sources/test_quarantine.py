"""Malformed records from files, Kafka and MongoDB go to quarantine with reasons; the threshold decides the run.

Under ``quarantine_threshold`` the good records are committed beside the quarantined ones; above it
the run fails naming share, threshold and quarantine table, and the target is left as it was.
"""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bson import ObjectId

from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from tests.helpers import kafka_uri, mongo_uri, pipeline_for, read_table, record_schema, run_pipeline, single_object_source

SCHEMA = record_schema(["id"], id="long", name="string", amount="decimal(10,2)", ts="timestamptz")


def _file_source(base, path: str, fmt: str, threshold: float | None = None, mode: str = "full") -> dict:
    source = single_object_source(
        "file", {"uri": base.as_uri()}, "things", {"type": mode}, "things", path=path, format=fmt, schema=SCHEMA
    )
    if threshold is not None:
        source["objects"][0]["ingestion"]["quarantine_threshold"] = threshold
    return source


def _quarantine(catalog, table: str = "qa.things") -> list[tuple[str, str, str | None]]:
    rows = read_table(catalog, f"{table}__quarantine").to_pylist()
    return sorted((r["position"], r["reason"], r["raw"]) for r in rows)


# --- files -----------------------------------------------------------------------------------------


def test_csv_rows_that_do_not_fit_are_quarantined_and_the_others_committed(tmp_path, catalog):
    (tmp_path / "a.csv").write_text(
        "id,name,amount,ts\n"
        "1,ann,1.50,2026-11-20T10:00:00Z\n"
        "two,bob,2.00,2026-11-20T10:00:00Z\n"  # id not a number
        "3,cy\n"  # too few fields
        ",dan,4.00,2026-11-20T10:00:00Z\n"  # id missing, not nullable
        "5,eve,12345678901.00,2026-11-20T10:00:00Z\n"  # beyond decimal(10,2)
        "6,fay,6.00,not-a-time\n"
        "7,gus,7.00,2026-11-20T10:00:00Z\n"
    )
    result = run_pipeline(pipeline_for(_file_source(tmp_path, "*.csv", "csv", threshold=0.75)), run_id="r1")
    assert (result["rows"], result["quarantined"]) == (2, 5)
    assert sorted(read_table(catalog, "qa.things").column("id").to_pylist()) == [1, 7]
    name = f"{tmp_path}/a.csv"
    assert _quarantine(catalog) == sorted(
        [
            (name, "2 fields where the header has 4", "3,cy"),
            (f"{name}#2", "field 'id' does not hold a long", '{"id": "two", "name": "bob", "amount": "2.00", "ts": "2026-11-20T10:00:00Z"}'),
            (f"{name}#3", "field 'id' is missing or null, and it is not nullable", '{"id": null, "name": "dan", "amount": "4.00", "ts": "2026-11-20T10:00:00Z"}'),
            (f"{name}#4", "field 'amount' does not hold a decimal(10,2)", '{"id": "5", "name": "eve", "amount": "12345678901.00", "ts": "2026-11-20T10:00:00Z"}'),
            (f"{name}#5", "field 'ts' does not hold a timestamptz", '{"id": "6", "name": "fay", "amount": "6.00", "ts": "not-a-time"}'),
        ]
    )
    run_ids = set(read_table(catalog, "qa.things__quarantine").column("run_id").to_pylist())
    assert run_ids == {"r1"}


def test_json_lines_that_do_not_fit_are_quarantined_by_record_number(tmp_path, catalog):
    good = {"id": 1, "name": "ann", "amount": "1.50", "ts": "2026-11-20T10:00:00Z"}
    lines = [
        json.dumps(good),
        "not json",
        json.dumps({"id": "x", "name": "bob"}),
        "",
        json.dumps({"name": "no id"}),
        "null",
        json.dumps({**good, "id": 2}),
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    result = run_pipeline(pipeline_for(_file_source(tmp_path, "*.jsonl", "json", threshold=0.7)))
    assert (result["rows"], result["quarantined"]) == (2, 4)
    assert sorted(read_table(catalog, "qa.things").column("id").to_pylist()) == [1, 2]
    name = f"{tmp_path}/a.jsonl"
    assert _quarantine(catalog) == [
        (f"{name}#2", "not valid JSON: Expecting value at column 1", "not json"),
        (f"{name}#3", "field 'id' does not hold a long", '{"id": "x", "name": "bob"}'),
        (f"{name}#4", "field 'id' is missing or null, and it is not nullable", '{"name": "no id"}'),
        (f"{name}#5", "not a JSON object but null", "null"),
    ]


def test_a_null_in_a_required_parquet_column_is_quarantined(tmp_path, catalog):
    table = pa.table({"id": [1, None, 3], "name": ["a", "b", "c"], "amount": [None] * 3, "ts": [None] * 3})
    pq.write_table(table.cast(pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(10, 2)), ("ts", pa.timestamp("us", tz="UTC"))])), tmp_path / "p.parquet")
    result = run_pipeline(pipeline_for(_file_source(tmp_path, "*.parquet", "parquet", threshold=0.5)))
    assert (result["rows"], result["quarantined"]) == (2, 1)
    (row,) = _quarantine(catalog)
    assert row[:2] == (f"{tmp_path}/p.parquet#2", "field 'id' is missing or null, and it is not nullable")
    assert json.loads(row[2]) == {"id": None, "name": "b", "amount": None, "ts": None}


def test_a_run_over_the_threshold_commits_nothing_and_keeps_its_quarantine(tmp_path, catalog):
    (tmp_path / "day1.csv").write_text("id,name,amount,ts\n1,a,1.00,2026-11-20T10:00:00Z\n")
    source = _file_source(tmp_path, "*.csv", "csv", threshold=0.25, mode="incremental")
    first = run_pipeline(pipeline_for(source))
    snapshot = catalog.load_table("qa.things").current_snapshot().snapshot_id
    (tmp_path / "day2.csv").write_text("id,name,amount,ts\nx,b,1.00,2026-11-20T10:00:00Z\n3,c,1.00,2026-11-20T10:00:00Z\n")
    with pytest.raises(QuarantineThresholdError) as raised:
        run_pipeline(pipeline_for(source), run_id="r2")
    assert str(raised.value) == (
        "pipeline qa_intent_src_things: 1 of 2 records read (50.0%) went to quarantine table qa.things__quarantine, "
        "above the quarantine_threshold of 25.0%; the target is not committed (the quarantined records stay, with their reasons)"
    )
    assert first["rows"] == 1
    table = catalog.load_table("qa.things")
    assert table.current_snapshot().snapshot_id == snapshot and table.scan().to_arrow().num_rows == 1
    assert [r[0] for r in _quarantine(catalog)] == [f"{tmp_path}/day2.csv#1"]


# --- Kafka -----------------------------------------------------------------------------------------


def _produce(services, topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"]})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def _click(i: int, **changes) -> bytes:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    return json.dumps({"user_id": f"u{i}", "n": i, "ts": (start + dt.timedelta(seconds=i)).isoformat(), **changes}).encode()


def _kafka_source(services, topic: str, threshold: float | None = None) -> dict:
    schema = record_schema(["user_id", "ts"], user_id="string", n="long", ts="timestamptz")
    source = single_object_source("kafka", {"uri": kafka_uri(services)}, topic, {"type": "incremental"}, "clicks", schema=schema)
    if threshold is not None:
        source["objects"][0]["ingestion"]["quarantine_threshold"] = threshold
    return source


def test_malformed_kafka_messages_are_quarantined_with_their_offsets(kafka_topic, services, catalog):
    topic = kafka_topic("qa.quarantine")
    _produce(
        services,
        topic,
        [_click(0), b"not json", _click(2, n="two"), b"", _click(4, user_id=None), b"[1, 2]", b'{"user_id": "u6"} {"n": 1}', _click(7)],
    )
    result = run_pipeline(pipeline_for(_kafka_source(services, topic, threshold=0.8)))
    assert (result["rows"], result["quarantined"]) == (2, 6)
    assert sorted(read_table(catalog, "qa.clicks").column("n").to_pylist()) == [0, 7]
    assert [(p, reason) for p, reason, _ in _quarantine(catalog, "qa.clicks")] == [
        ("0/1", "not valid JSON: Expecting value at column 1"),
        ("0/2", "field 'n' does not hold a long"),
        ("0/3", "empty: no JSON record"),
        ("0/4", "field 'user_id' is missing or null, and it is not nullable"),
        ("0/5", "not a JSON object but an array"),
        ("0/6", "not valid JSON: Extra data at column 19"),
    ]
    # The offsets moved past the quarantined messages: the next run reads only what is new.
    _produce(services, topic, [_click(8)])
    again = run_pipeline(pipeline_for(_kafka_source(services, topic, threshold=0.8)))
    assert (again["rows"], again["quarantined"]) == (1, 0)
    assert len(_quarantine(catalog, "qa.clicks")) == 6


def test_kafka_over_the_threshold_leaves_table_and_offsets_where_they_were(kafka_topic, services, catalog):
    topic = kafka_topic("qa.quarantine")
    _produce(services, topic, [_click(0), _click(1)])
    assert run_pipeline(pipeline_for(_kafka_source(services, topic)))["rows"] == 2
    _produce(services, topic, [_click(2), b"{broken"])
    with pytest.raises(QuarantineThresholdError, match=r"^pipeline qa_intent_src_qa_quarantine_\w+: 1 of 2 records read \(50.0%\)"):
        run_pipeline(pipeline_for(_kafka_source(services, topic)))
    assert sorted(read_table(catalog, "qa.clicks").column("n").to_pylist()) == [0, 1]
    # Raised to one half, the same two messages are read again and committed.
    result = run_pipeline(pipeline_for(_kafka_source(services, topic, threshold=0.5)))
    assert (result["rows"], result["quarantined"]) == (1, 1)
    assert sorted(read_table(catalog, "qa.clicks").column("n").to_pylist()) == [0, 1, 2]


# --- MongoDB ---------------------------------------------------------------------------------------


def test_mongo_documents_without_a_required_field_or_of_the_wrong_type_are_quarantined(mongo_database, services, catalog):
    collection = mongo_database("qa_quarantine")["things"]
    collection.insert_many(
        [
            {"_id": ObjectId(f"{1:024x}"), "id": 1, "name": "ann", "amount": 1.5},
            {"_id": ObjectId(f"{2:024x}"), "name": "no id"},
            {"_id": ObjectId(f"{3:024x}"), "id": "three", "name": "bob"},
            {"_id": ObjectId(f"{4:024x}"), "id": 4, "ts": "yesterday"},
        ]
    )
    source = single_object_source(
        "mongodb", {"uri": mongo_uri(services, "qa_quarantine")}, "things", {"type": "full"}, "things", schema=SCHEMA
    )
    source["objects"][0]["ingestion"]["quarantine_threshold"] = 0.75
    result = run_pipeline(pipeline_for(source))
    assert (result["rows"], result["quarantined"]) == (1, 3)
    assert read_table(catalog, "qa.things").column("id").to_pylist() == [1]
    rows = _quarantine(catalog)
    assert [(p, reason) for p, reason, _ in rows] == [
        ("_id=000000000000000000000002", "field 'id' is missing or null, and it is not nullable"),
        ("_id=000000000000000000000003", "field 'id': a str value does not convert to long"),
        ("_id=000000000000000000000004", "field 'ts': a str value does not convert to timestamptz"),
    ]
    assert json.loads(rows[1][2]) == {"_id": {"$oid": "000000000000000000000003"}, "id": "three", "name": "bob"}
