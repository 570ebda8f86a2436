"""The Iceberg writer: atomic overwrite and append, positions in snapshot summaries, partitions."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from airflow_provider_chimera.contract.model import PartitionField
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.iceberg import SchemaMismatchError

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("ts", pa.timestamp("us", tz="UTC"))])


def _batches(start: int, count: int, size: int = 10):
    for offset in range(start, start + count, size):
        ids = list(range(offset, min(offset + size, start + count)))
        yield pa.RecordBatch.from_pydict({"id": ids, "ts": [1_764_000_000_000_000 + i * 3_600_000_000 for i in ids]}, schema=SCHEMA)


def _info(cursor: str) -> callable:
    return lambda: CommitInfo(pipeline="p1", run_id="r1", source="s/o", position=Position(cursor=cursor))


def test_append_then_overwrite(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    assert writer.write(SCHEMA, _batches(0, 95), "append", _info("94")).rows == 95
    assert writer.write(SCHEMA, _batches(95, 5), "append", _info("99")).rows == 5
    assert writer.load().scan().to_arrow().num_rows == 100
    result = writer.write(SCHEMA, _batches(0, 7), "overwrite", _info("6"))
    table = writer.load().scan().to_arrow()
    assert (result.rows, table.num_rows) == (7, 7)
    assert sorted(table.column("id").to_pylist()) == list(range(7))


def test_snapshot_summary_records_pipeline_run_and_position(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    result = writer.write(SCHEMA, _batches(0, 3), "append", _info("2"))
    summary = writer.load().snapshot_by_id(result.snapshot_id).summary.additional_properties
    assert summary["chimera.pipeline"] == "p1"
    assert summary["chimera.run-id"] == "r1"
    assert summary["chimera.rows"] == "3"
    assert json.loads(summary["chimera.position"]) == {"cursor": "2"}
    assert writer.last_position("p1") == Position(cursor="2")
    assert writer.last_position("other") is None


def test_empty_append_commits_nothing(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    first = writer.write(SCHEMA, _batches(0, 3), "append", _info("2"))
    again = writer.write(SCHEMA, iter(()), "append", _info("2"))
    assert again.committed is False
    assert writer.load().current_snapshot().snapshot_id == first.snapshot_id


def test_partitioned_target_gets_its_spec(catalog):
    writer = IcebergWriter(catalog, "qa", "events", partition_by=[PartitionField(column="ts", transform="day")])
    writer.write(SCHEMA, _batches(0, 48), "append", _info("47"))
    table = writer.load()
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("ts_day", "day")]
    assert table.inspect.partitions().num_rows == 3  # 48 hourly rows span three days


def test_extra_source_column_is_refused_by_name_when_evolution_fails(catalog):
    writer = IcebergWriter(catalog, "qa", "t", schema_evolution="fail")
    writer.write(SCHEMA, _batches(0, 1), "append", _info("0"))
    wider = SCHEMA.append(pa.field("extra", pa.string()))
    batch = pa.RecordBatch.from_pydict({"id": [5], "ts": [0], "extra": ["x"]}, schema=wider)
    with pytest.raises(SchemaMismatchError, match=r"^qa.t: .*schema_evolution is 'fail': column 'extra' \(string\) is added$"):
        writer.write(wider, iter([batch]), "append", _info("5"))


def test_memory_is_bounded_by_chunks(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    writer.write(SCHEMA, _batches(0, 10_000, size=1000), "append", _info("x"), chunk_bytes=40_000)
    files = list(writer.load().scan().plan_files())
    assert len(files) >= 4  # 160 kB of Arrow data in 40 kB chunks: one file per chunk at least
    assert writer.load().scan().to_arrow().num_rows == 10_000
