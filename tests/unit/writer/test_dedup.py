"""``dedup``: the latest row per key by ``order_by``, within a run and against the table."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import Dedup, PartitionField
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.sources.window import Window
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.dedup import DedupError, key_filter, latest_per_key

UTC = dt.UTC
SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("v", pa.string()), pa.field("updated", pa.int64())])
BY_ID = Dedup(keys=["id"], order_by="updated")


def _batch(*rows: tuple) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([dict(zip(SCHEMA.names, row)) for row in rows], schema=SCHEMA)


def _info(run: str):
    return lambda: CommitInfo(pipeline="p1", run_id=run, source="s/o", position=Position(cursor=run))


def _rows(writer: IcebergWriter) -> list[tuple]:
    return sorted(tuple(r.values()) for r in writer.load().scan().to_arrow().to_pylist())


def test_within_a_run_the_latest_by_order_by_is_kept():
    rows = pa.Table.from_batches([_batch((1, "a", 1), (2, "b", 5), (1, "c", 3), (3, "d", 1), (2, "e", 4), (1, "f", 2))])
    kept = latest_per_key(rows, BY_ID, "qa.t")
    # One per key, the greatest `updated`, in the order read.
    assert kept.to_pylist() == [
        {"id": 2, "v": "b", "updated": 5},
        {"id": 1, "v": "c", "updated": 3},
        {"id": 3, "v": "d", "updated": 1},
    ]


def test_ties_and_a_dedup_without_order_by_keep_the_row_read_last():
    rows = pa.Table.from_batches([_batch((1, "first", 7), (1, "second", 7), (2, "x", None), (2, "y", 1))])
    assert latest_per_key(rows, BY_ID, "qa.t").column("v").to_pylist() == ["second", "y"]  # a null order_by is oldest
    assert latest_per_key(rows, Dedup(keys=["id"]), "qa.t").column("v").to_pylist() == ["second", "y"]


def test_composite_keys():
    schema = pa.schema([("a", pa.string()), ("b", pa.int32()), ("n", pa.int64())])
    rows = pa.table({"a": ["x", "x", "y", "x"], "b": [1, 2, 1, 1], "n": [1, 2, 3, 4]}, schema=schema)
    kept = latest_per_key(rows, Dedup(keys=["a", "b"], order_by="n"), "qa.t")
    assert kept.to_pylist() == [{"a": "x", "b": 2, "n": 2}, {"a": "y", "b": 1, "n": 3}, {"a": "x", "b": 1, "n": 4}]


def test_a_null_key_stops_the_run_by_name():
    rows = pa.Table.from_batches([_batch((1, "a", 1), (None, "b", 2), (None, "c", 3))])
    with pytest.raises(DedupError, match=r"^qa.t: dedup key column 'id' is null in 2 rows"):
        latest_per_key(rows, BY_ID, "qa.t")


def test_a_missing_dedup_column_is_named():
    rows = pa.Table.from_batches([_batch((1, "a", 1))])
    with pytest.raises(DedupError, match=r"^qa.t: dedup columns \['nope'\] are not among the columns written$"):
        latest_per_key(rows, Dedup(keys=["id"], order_by="nope"), "qa.t")


def test_against_the_table_newer_rows_replace_and_older_ones_are_dropped(catalog):
    writer = IcebergWriter(catalog, "qa", "t", dedup=BY_ID)
    first = writer.write(SCHEMA, iter([_batch((1, "a", 10), (2, "b", 10), (3, "c", 10), (1, "a-old", 5))]), "append", _info("r1"))
    assert first.rows == 3
    assert _rows(writer) == [(1, "a", 10), (2, "b", 10), (3, "c", 10)]

    # 1 newer (replaces), 2 older (dropped), 3 equal (a duplicate: dropped), 4 new (added),
    # and 4 twice in the run (the later `updated` wins).
    second = writer.write(
        SCHEMA, iter([_batch((1, "a2", 11), (2, "b-old", 9)), _batch((3, "c-same", 10), (4, "d1", 1), (4, "d2", 2))]), "append", _info("r2")
    )
    assert second.rows == 2
    assert _rows(writer) == [(1, "a2", 11), (2, "b", 10), (3, "c", 10), (4, "d2", 2)]

    # A run of nothing but older duplicates commits no rows but still records its position.
    third = writer.write(SCHEMA, iter([_batch((1, "a-older", 3))]), "append", _info("r3"))
    assert (third.committed, third.rows) == (True, 0)
    assert writer.last_position("p1") == Position(cursor="r3")
    assert _rows(writer) == [(1, "a2", 11), (2, "b", 10), (3, "c", 10), (4, "d2", 2)]


def test_against_the_table_without_order_by_the_run_wins(catalog):
    writer = IcebergWriter(catalog, "qa", "t", dedup=Dedup(keys=["id"]))
    writer.write(SCHEMA, iter([_batch((1, "a", 10), (2, "b", 10))]), "append", _info("r1"))
    writer.write(SCHEMA, iter([_batch((1, "a2", 1))]), "append", _info("r2"))
    assert _rows(writer) == [(1, "a2", 1), (2, "b", 10)]


def test_against_a_table_holding_duplicates_written_before_dedup(catalog):
    IcebergWriter(catalog, "qa", "t").write(SCHEMA, iter([_batch((1, "x", 1), (1, "y", 8), (2, "z", 1))]), "append", _info("r0"))
    writer = IcebergWriter(catalog, "qa", "t", dedup=BY_ID)
    writer.write(SCHEMA, iter([_batch((1, "older-than-8", 5), (2, "newer", 2))]), "append", _info("r1"))
    assert _rows(writer) == [(1, "x", 1), (1, "y", 8), (2, "newer", 2)]
    writer.write(SCHEMA, iter([_batch((1, "newest", 9))]), "append", _info("r2"))
    assert _rows(writer) == [(1, "newest", 9), (2, "newer", 2)]  # every older row of the key replaced


def test_composite_keys_against_the_table_replace_exactly_their_rows(catalog):
    schema = pa.schema([("a", pa.string()), ("b", pa.int32()), ("n", pa.int64())])
    dedup = Dedup(keys=["a", "b"], order_by="n")
    writer = IcebergWriter(catalog, "qa", "t", dedup=dedup)
    writer.write(schema, iter([pa.RecordBatch.from_pydict({"a": ["x", "x", "y", "y"], "b": [1, 2, 1, 2], "n": [1, 1, 1, 1]}, schema=schema)]), "append", _info("r1"))
    # (x, 2) and (y, 1) are newer; (x, 1)... is not in the run; the per-column lookup also finds
    # (x, 1) and (y, 2), which must stay.
    writer.write(schema, iter([pa.RecordBatch.from_pydict({"a": ["x", "y"], "b": [2, 1], "n": [5, 5]}, schema=schema)]), "append", _info("r2"))
    assert sorted(tuple(r.values()) for r in writer.load().scan().to_arrow().to_pylist()) == [("x", 1, 1), ("x", 2, 5), ("y", 1, 5), ("y", 2, 1)]


def test_many_composite_keys_are_replaced_exactly(catalog):
    keys = pa.table({"a": [f"k{i}" for i in range(1500)], "b": list(range(1500))})
    expression = key_filter(keys, ["a", "b"])
    schema = pa.schema([("a", pa.string()), ("b", pa.int64()), ("n", pa.int64())])
    writer = IcebergWriter(catalog, "qa", "wide", dedup=Dedup(keys=["a", "b"], order_by="n"))
    rows = {"a": [f"k{i}" for i in range(2000)], "b": list(range(2000)), "n": [1] * 2000}
    writer.write(schema, iter([pa.RecordBatch.from_pydict(rows, schema=schema)]), "append", _info("r1"))
    assert writer.load().scan(row_filter=expression).to_arrow().num_rows == 1500
    newer = {"a": [f"k{i}" for i in range(1500)], "b": list(range(1500)), "n": [2] * 1500}
    writer.write(schema, iter([pa.RecordBatch.from_pydict(newer, schema=schema)]), "append", _info("r2"))
    table = writer.load().scan().to_arrow()
    assert table.num_rows == 2000
    assert table.filter(pa.compute.equal(table.column("n"), 2)).num_rows == 1500


def test_full_overwrite_dedups_within_the_run_only(catalog):
    writer = IcebergWriter(catalog, "qa", "t", dedup=BY_ID)
    writer.write(SCHEMA, iter([_batch((1, "a", 10), (2, "b", 10))]), "append", _info("r1"))
    writer.write(SCHEMA, iter([_batch((1, "a-old", 1), (1, "a-older", 0))]), "overwrite", _info("r2"))
    assert _rows(writer) == [(1, "a-old", 1)]


def test_a_partitioned_run_compares_with_the_table_outside_its_window(catalog):
    schema = pa.schema([("id", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("updated", pa.int64())])
    day1, day2, day3 = (dt.datetime(2026, 11, d, tzinfo=UTC) for d in (1, 2, 3))
    writer = IcebergWriter(catalog, "qa", "p", partition_by=[PartitionField(column="ts", transform="day")], dedup=BY_ID)

    def load(window, *rows):
        batch = pa.RecordBatch.from_pylist([dict(zip(schema.names, row)) for row in rows], schema=schema)
        return writer.write(schema, iter([batch]), "overwrite", _info("w"), window=window)

    first, second = Window("ts", day1, day2), Window("ts", day2, day3)
    load(first, (1, day1, 5), (2, day1, 5), (2, day1 + dt.timedelta(hours=1), 6))
    load(second, (1, day2, 7), (3, day2, 1))  # key 1 moved to day 2 with a newer version
    rows = sorted((r["id"], r["ts"].day, r["updated"]) for r in writer.load().scan().to_arrow().to_pylist())
    assert rows == [(1, 2, 7), (2, 1, 6), (3, 2, 1)]
    # Rerunning day 1: its own rows are replaced anyway; key 1's older day-1 version loses to day 2's.
    load(first, (1, day1, 5), (2, day1 + dt.timedelta(hours=1), 6))
    rows = sorted((r["id"], r["ts"].day, r["updated"]) for r in writer.load().scan().to_arrow().to_pylist())
    assert rows == [(1, 2, 7), (2, 1, 6), (3, 2, 1)]
