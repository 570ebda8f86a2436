"""Exactly once: an ingest task that fails or is killed at each dangerous point, then retried,
leaves the target holding exactly the source's rows, for a database (PostgreSQL), Kafka and files.

Each test commits a first run, adds rows to the source, makes the next attempt fail at one point
(``CHIMERA_FAIL_AT``: raised in-process, or a real ``SIGKILL`` of a task process), checks that the
position did not move unless the commit happened, and retries with the same run id, as Airflow does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from airflow_provider_chimera.faults import InjectedFailure
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import IcebergWriter
from tests.conftest import REPO
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source

POINTS = ["after_read", "after_files", "after_commit"]
HOW = ["raise", "kill"]
FIRST, MORE = range(1, 101), range(101, 151)

# A task process of its own, so that SIGKILL ends it and nothing else.
TASK = "import json, sys; from tests.helpers import pipeline_for, run_pipeline; run_pipeline(pipeline_for(json.loads(sys.argv[1])), run_id=sys.argv[2])"


def _fail(source: dict, point: str, how: str, run_id: str, monkeypatch) -> None:
    """One attempt of the pipeline of ``source`` that fails at ``point``: raised, or killed."""
    if how == "raise":
        monkeypatch.setenv("CHIMERA_FAIL_AT", point)
        with pytest.raises(InjectedFailure, match=f"failure injected at {point}"):
            run_pipeline(pipeline_for(source), run_id=run_id)
        monkeypatch.delenv("CHIMERA_FAIL_AT")
        return
    env = {**os.environ, "CHIMERA_FAIL_AT": f"{point}:kill"}
    done = subprocess.run(
        [sys.executable, "-c", TASK, json.dumps(source), run_id], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-4000:]


def _ids(catalog, table: str, column: str) -> list[int]:
    return sorted(read_table(catalog, f"qa.{table}").column(column).to_pylist())


def _fail_then_retry(
    source: dict, point: str, how: str, add_more: Callable[[], object], catalog, column: str, monkeypatch,
    after_failure: Callable[[], object] = lambda: None,
) -> Position:
    """Commit FIRST, add MORE, fail an attempt at ``point`` (then call ``after_failure``), retry;
    the position the retry leaves."""
    pipeline = pipeline_for(source)
    table = pipeline.ingestion.target.table
    writer = IcebergWriter(catalog, "qa", table)
    assert run_pipeline(pipeline, run_id="scheduled__1")["rows"] == len(FIRST)
    position = writer.last_position(pipeline.id)
    snapshot = writer.load().current_snapshot().snapshot_id
    add_more()

    _fail(source, point, how, "scheduled__2", monkeypatch)
    after_failure()
    if point == "after_commit":  # the commit happened: rows and position moved together
        assert writer.last_position(pipeline.id) != position
        assert _ids(catalog, table, column) == [*FIRST, *MORE]
    else:  # nothing committed: the table and its position are as they were
        assert writer.load().current_snapshot().snapshot_id == snapshot
        assert writer.last_position(pipeline.id) == position
        assert _ids(catalog, table, column) == list(FIRST)

    retry = run_pipeline(pipeline, run_id="scheduled__2")
    assert retry["rows"] == (0 if point == "after_commit" else len(MORE)), retry
    assert _ids(catalog, table, column) == [*FIRST, *MORE]  # nothing lost, nothing twice
    assert run_pipeline(pipeline, run_id="scheduled__3")["committed"] is False
    assert _ids(catalog, table, column) == [*FIRST, *MORE]
    return writer.last_position(pipeline.id)


# --- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def pg(pg_schema):
    conn = pg_schema("qa_eo", conn_id="qa_eo_pg")
    conn.execute("CREATE TABLE qa_eo.events (id bigint PRIMARY KEY, updated_at timestamp NOT NULL)")
    return conn


def _pg_insert(pg, ids: range) -> None:
    pg.execute(
        "INSERT INTO qa_eo.events SELECT g, timestamp '2026-11-01' + g * interval '1 second' FROM generate_series(%s::int, %s::int) g",
        (ids.start, ids.stop - 1),
    )


def _pg_source() -> dict:
    return single_object_source(
        "postgres", {"conn_id": "qa_eo_pg"}, "qa_eo.events", {"type": "incremental", "cursor": "updated_at"}, "pg_events"
    )


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("point", POINTS)
def test_postgres_retry_is_exactly_once(pg, catalog, monkeypatch, point, how):
    _pg_insert(pg, FIRST)
    position = _fail_then_retry(_pg_source(), point, how, lambda: _pg_insert(pg, MORE), catalog, "id", monkeypatch)
    assert position == Position(cursor="2026-11-01T00:02:30")


def test_postgres_table_is_adopted_from_a_cursor_value(pg, catalog):
    _pg_insert(pg, FIRST)
    _pg_insert(pg, MORE)
    catalog.create_namespace_if_not_exists("qa")
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("updated_at", pa.timestamp("us"))])
    loaded = [{"id": i, "updated_at": dt.datetime(2026, 11, 1) + dt.timedelta(seconds=i)} for i in FIRST]
    catalog.create_table(("qa", "pg_events"), schema=schema).append(pa.Table.from_pylist(loaded, schema=schema))
    result = run_pipeline(pipeline_for(_pg_source()), conf={"adopt_from": "2026-11-01T00:01:40"})
    assert result["rows"] == len(MORE)
    assert _ids(catalog, "pg_events", "id") == [*FIRST, *MORE]


# --- Kafka -------------------------------------------------------------------------------------


@pytest.fixture
def topic(kafka_topic):
    return kafka_topic("qa.eo", conn_id="qa_eo_kafka", partitions=3)


def _produce(services, topic: str, ns: range) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"]})
    for n in ns:
        producer.produce(topic, key=str(n).encode(), value=json.dumps({"n": n}).encode())
    assert producer.flush(30) == 0


def _kafka_source(topic: str) -> dict:
    return single_object_source(
        "kafka", {"conn_id": "qa_eo_kafka"}, topic, {"type": "incremental"}, "kafka_events", schema=record_schema(["n"], n="long")
    )


def _group_offsets(services, topic: str, pipeline_id: str) -> dict[str, int]:
    """The offsets committed to the pipeline's consumer group (partitions with none left out)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": services["CHIMERA_KAFKA_BOOTSTRAP"], "group.id": f"chimera-{pipeline_id}"})
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=30)
    finally:
        consumer.close()
    return {str(tp.partition): tp.offset for tp in committed if tp.offset >= 0}


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("point", POINTS)
def test_kafka_retry_is_exactly_once_and_the_group_follows_the_snapshot(topic, services, catalog, monkeypatch, point, how):
    source = _kafka_source(topic)
    pipeline_id = pipeline_for(source).id
    _produce(services, topic, FIRST)
    seen: list[dict[str, int]] = []

    def add_more() -> None:
        seen.append(_group_offsets(services, topic, pipeline_id))  # after the first commit
        _produce(services, topic, MORE)

    position = _fail_then_retry(
        source, point, how, add_more, catalog, "n", monkeypatch,
        after_failure=lambda: seen.append(_group_offsets(services, topic, pipeline_id)),
    )
    after_first, after_failure = seen
    assert sum(after_first.values()) == len(FIRST)
    # Offsets reach the group only after a commit whose task lived on to tell it: even when the
    # snapshot holds the new offsets (after_commit), the group still has the first run's.
    assert after_failure == after_first
    assert sum(position.offsets.values()) == len(FIRST) + len(MORE)
    assert _group_offsets(services, topic, pipeline_id) == position.offsets  # the snapshot's offsets won


def test_kafka_topic_is_adopted_from_offsets(topic, services, catalog):
    _produce(services, topic, FIRST)
    source = _kafka_source(topic)
    assert run_pipeline(pipeline_for(source))["rows"] == len(FIRST)
    offsets = IcebergWriter(catalog, "qa", "kafka_events").last_position(pipeline_for(source).id).offsets
    renamed = json.loads(json.dumps(source).replace('"src"', '"renamed"'))  # another pipeline id, same table
    _produce(services, topic, MORE)
    with pytest.raises(Exception, match=r"table qa.kafka_events already holds 100 rows"):
        run_pipeline(pipeline_for(renamed))
    result = run_pipeline(pipeline_for(renamed), conf={"adopt_from": offsets})
    assert result["rows"] == len(MORE)
    assert _ids(catalog, "kafka_events", "n") == [*FIRST, *MORE]


# --- files -------------------------------------------------------------------------------------


def _write(folder: Path, name: str, ids: range) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(json.dumps({"id": i}) + "\n" for i in ids))


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("point", POINTS)
def test_files_retry_is_exactly_once(tmp_path, catalog, monkeypatch, point, how):
    data = tmp_path / "data"
    _write(data, "a.jsonl", FIRST)
    source = single_object_source(
        "file", {"uri": data.as_uri()}, "drops", {"type": "incremental"}, "file_events",
        path="*.jsonl", format="json", schema=record_schema(["id"], id="long"),
    )
    position = _fail_then_retry(source, point, how, lambda: _write(data, "b.jsonl", MORE), catalog, "id", monkeypatch)
    assert [name.rsplit("/", 1)[-1] for name in position.files] == ["a.jsonl", "b.jsonl"]
