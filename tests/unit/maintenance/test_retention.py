"""Retention on Iceberg tables: whole partitions dropped, rows rewritten, history versions, errors."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import PartitionField
from airflow_provider_chimera.maintenance.retention import RetentionError, apply_retention, cutoff
from airflow_provider_chimera.contract.retention import AgeColumn
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.history import HistoryWriter

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("ts", TS)])


def _info(cursor: str, pipeline: str = "p1"):
    return lambda: CommitInfo(pipeline=pipeline, run_id=f"r{cursor}", source="s/o", position=Position(cursor=cursor))


def _rows(ids: list[int], times: list[dt.datetime | None]):
    yield pa.RecordBatch.from_pydict({"id": ids, "ts": times}, schema=SCHEMA)


def _days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def test_cutoff_is_midnight_utc_days_before():
    assert cutoff(30, NOW) == dt.datetime(2026, 10, 26, tzinfo=UTC)
    assert cutoff(1, dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == dt.datetime(
        2026, 11, 23, tzinfo=UTC
    )


def test_a_day_partitioned_table_loses_whole_partitions_without_rewrites(catalog):
    writer = IcebergWriter(catalog, "qa", "events", partition_by=[PartitionField(column="ts", transform="day")])
    times = [_days_ago(40), _days_ago(31), _days_ago(30), _days_ago(29), _days_ago(1)]
    writer.write(SCHEMA, _rows([1, 2, 3, 4, 5], times), "append", _info("5"))
    writer.write(SCHEMA, _rows([6, 7], [_days_ago(45), None]), "append", _info("7"))
    table = writer.load()

    result = apply_retention(table, AgeColumn("ts", "partition_by"), 30, NOW, "qa.json: pipeline p1")

    # Cutoff 2026-10-26T00:00Z: 40, 31 and 45 days ago are before it; 30 days ago (10-26 15:30) is not.
    assert sorted(writer.load().scan().to_arrow().column("id").to_pylist()) == [3, 4, 5, 7]
    assert (result.rows_deleted, result.files_added, result.column) == (3, 0, "ts")
    assert result.files_removed == 3  # one file per expired day partition, dropped whole
    summaries = [writer.load().snapshot_by_id(i).summary for i in result.snapshot_ids]
    assert [s.operation.value for s in summaries] == ["delete"]
    assert summaries[0].additional_properties["chimera.maintenance"] == "retention"
    assert "chimera.pipeline" not in summaries[0].additional_properties
    # The pipeline's position is found past the maintenance snapshot.
    assert writer.last_position("p1") == Position(cursor="7")


def test_an_unpartitioned_table_is_rewritten_without_the_expired_rows(catalog):
    writer = IcebergWriter(catalog, "qa", "events")
    writer.write(SCHEMA, _rows([1, 2, 3], [_days_ago(10), _days_ago(2), None]), "append", _info("3"))

    result = apply_retention(writer.load(), AgeColumn("ts", "cursor"), 5, NOW, "qa.json: pipeline p1")

    assert sorted(writer.load().scan().to_arrow().column("id").to_pylist()) == [2, 3]
    assert (result.rows_deleted, result.files_removed, result.files_added) == (1, 1, 1)


def test_nothing_expired_commits_nothing(catalog):
    writer = IcebergWriter(catalog, "qa", "events")
    writer.write(SCHEMA, _rows([1], [_days_ago(1)]), "append", _info("1"))
    before = writer.load().current_snapshot().snapshot_id

    result = apply_retention(writer.load(), AgeColumn("ts", "cursor"), 5, NOW, "qa.json: pipeline p1")

    assert (result.rows_deleted, result.snapshot_ids) == (0, ())
    assert writer.load().current_snapshot().snapshot_id == before


def test_a_date_column_works_and_a_non_time_cursor_is_named(catalog):
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("day", pa.date32())])
    writer = IcebergWriter(catalog, "qa", "daily")
    batch = pa.RecordBatch.from_pydict({"id": [1, 2], "day": [dt.date(2026, 10, 25), dt.date(2026, 10, 26)]}, schema=schema)
    writer.write(schema, iter([batch]), "append", _info("2"))
    apply_retention(writer.load(), AgeColumn("day", "cursor"), 30, NOW, "qa.json: pipeline p1")
    assert writer.load().scan().to_arrow().column("id").to_pylist() == [2]

    with pytest.raises(RetentionError) as error:
        apply_retention(writer.load(), AgeColumn("id", "cursor"), 30, NOW, "qa.json: pipeline p1")
    assert str(error.value) == (
        "qa.json: pipeline p1: retention dates rows by the cursor column 'id', which is long in qa.daily; "
        "it needs a date or timestamp column (or a time partition_by)"
    )
    with pytest.raises(RetentionError, match="the cursor column 'missing', which is not a column of qa.daily"):
        apply_retention(writer.load(), AgeColumn("missing", "cursor"), 30, NOW, "qa.json: pipeline p1")


def _history(catalog, kind: str, clock):
    return HistoryWriter(catalog, "qa", f"{kind}_people", kind=kind, keys=["id"], clock=clock)


def test_mdm_retention_deletes_only_old_closed_versions(catalog):
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])
    clock = iter([_days_ago(100), _days_ago(50), _days_ago(3)])
    writer = _history(catalog, "mdm", lambda: next(clock))

    def load(rows: dict, cursor: str):
        writer.write(schema, iter([pa.RecordBatch.from_pydict(rows, schema=schema)]), "append", _info(cursor))

    load({"id": [1, 2, 3], "name": ["a", "b", "c"]}, "1")  # 100 days ago; 3 is never changed again
    load({"id": [1, 2], "name": ["a2", "b2"]}, "2")  # 50 days ago: closes a and b
    load({"id": [1], "name": ["a3"]}, "3")  # 3 days ago: closes a2

    apply_retention(writer.load(), AgeColumn("effective_to", "history"), 30, NOW, "qa.json: pipeline p1")

    rows = sorted((r["id"], r["name"], r["is_current"]) for r in writer.load().scan().to_arrow().to_pylist())
    # a and b closed 50 days ago: gone; a2 closed 3 days ago: kept; c current since 100 days: kept.
    assert rows == [(1, "a2", False), (1, "a3", True), (2, "b2", True), (3, "c", True)]


def test_reference_retention_deletes_only_long_superseded_versions(catalog):
    schema = pa.schema(
        [pa.field("id", pa.int64()), pa.field("v", pa.string()), pa.field("effective_from", TS), pa.field("effective_to", TS)]
    )
    clock = iter([_days_ago(100), _days_ago(60)])
    writer = _history(catalog, "reference", lambda: next(clock))
    old = _days_ago(400)

    def load(values: list[str], cursor: str):
        batch = pa.RecordBatch.from_pydict(
            {"id": [1, 2], "v": values, "effective_from": [old, old], "effective_to": [_days_ago(300), None]}, schema=schema
        )
        writer.write(schema, iter([batch]), "append", _info(cursor))

    load(["x", "y"], "1")
    load(["x2", "y"], "2")  # corrects 1 sixty days ago: x superseded

    apply_retention(writer.load(), AgeColumn("valid_to", "history"), 30, NOW, "qa.json: pipeline p1")

    # The live versions stay, whatever their business validity; only the superseded x goes.
    assert sorted(writer.load().scan().to_arrow().column("v").to_pylist()) == ["x2", "y"]
