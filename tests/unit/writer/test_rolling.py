"""Unpartitioned data files written as the batches arrive (writer.rolling): row groups as they
fill, files rolled at the target size, the same statistics as pyiceberg's, and a file still being
written deleted with its failed attempt."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.rolling import rolling_data_files

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("name", pa.string())])


def _batches(count: int, size: int = 1_000):
    for start in range(0, count, size):
        ids = list(range(start, min(start + size, count)))
        yield pa.RecordBatch.from_pydict({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


def _info() -> CommitInfo:
    return CommitInfo(pipeline="p1", run_id="r1", source="s/o", position=Position(cursor="x"))


def test_row_groups_as_they_fill_files_at_the_target_size(catalog):
    writer = IcebergWriter(catalog, "qa", "rolling")
    table = writer.ensure_table(SCHEMA)
    per_batch = next(_batches(1_000)).nbytes
    files = list(rolling_data_files(_batches(10_000), table.schema().as_arrow(), table.metadata, table.io,
                                    file_bytes=4 * per_batch, group_bytes=2 * per_batch))
    assert [f.record_count for f in files] == [4_000, 4_000, 2_000]
    assert len({f.file_path for f in files}) == 3
    first = pq.ParquetFile(table.io.new_input(files[0].file_path).open())
    assert first.metadata.num_row_groups == 2  # two batches per row group
    assert files[0].lower_bounds and files[0].value_counts  # pyiceberg's statistics


def test_write_streams_unpartitioned_tables_and_reads_back(catalog):
    writer = IcebergWriter(catalog, "qa", "rolling")
    result = writer.write(SCHEMA, _batches(10_000), "append", _info, chunk_bytes=50_000)
    assert result.rows == 10_000 and len(result.data_files) >= 3
    assert sorted(writer.load().scan().to_arrow().column("id").to_pylist()) == list(range(10_000))


def test_a_file_still_being_written_is_deleted_with_the_failed_attempt(catalog, tmp_path, monkeypatch):
    monkeypatch.setattr("airflow_provider_chimera.writer.rolling.GROUP_BYTES", 1)  # a row group per batch
    writer = IcebergWriter(catalog, "qa", "rolling")
    opened: list[str] = []

    def failing():
        yield from _batches(3_000)
        opened.extend(p for p in tmp_path.rglob("*.parquet"))
        raise RuntimeError("the source failed")

    with pytest.raises(RuntimeError, match="the source failed"):
        writer.write(SCHEMA, failing(), "append", _info)
    assert opened  # the file was on disk, half-written, when the source failed
    assert not any(path.exists() for path in opened)
