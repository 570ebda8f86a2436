"""Small-file compaction: per partition, at least N small files, one commit, the same rows."""

from __future__ import annotations

import pyarrow as pa

from airflow_provider_chimera.contract.model import PartitionField
from airflow_provider_chimera.maintenance.compaction import compact
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("country", pa.string())])
MIB = 1 << 20


def _append(writer: IcebergWriter, ids: list[int], country: str | list[str]) -> None:
    countries = country if isinstance(country, list) else [country] * len(ids)
    batch = pa.RecordBatch.from_pydict({"id": ids, "country": countries}, schema=SCHEMA)
    info = CommitInfo(pipeline="p1", run_id=f"r{ids[-1]}", source="s/o", position=Position(cursor=str(ids[-1])))
    writer.write(SCHEMA, iter([batch]), "append", lambda: info)


def _files(writer: IcebergWriter) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in writer.load().scan().plan_files():
        key = str(task.file.partition[0]) if len(task.file.partition) else ""
        counts[key] = counts.get(key, 0) + 1
    return counts


def _rows(writer: IcebergWriter) -> list[tuple]:
    return sorted(tuple(r.values()) for r in writer.load().scan().to_arrow().to_pylist())


def test_a_partition_with_enough_small_files_becomes_one_file(catalog):
    writer = IcebergWriter(catalog, "qa", "sales", partition_by=[PartitionField(column="country")])
    for run in range(4):
        _append(writer, [run * 10 + 1, run * 10 + 2], ["fr", "de"])  # one file in fr and in de per run
    _append(writer, [50, 51], "fr")  # fr: 5 files, de: 4
    before_rows, before_snapshots = _rows(writer), len(writer.load().snapshots())

    result = compact(writer.load(), small_bytes=MIB, min_files=5, group_bytes=128 * MIB)

    assert _files(writer) == {"fr": 1, "de": 4}
    assert _rows(writer) == before_rows
    assert (result.partitions, result.files_removed, result.files_added, result.rows) == (1, 5, 1, 6)
    table = writer.load()
    assert len(table.snapshots()) == before_snapshots + 1  # one commit
    summary = table.current_snapshot().summary
    assert (summary.operation.value, summary.additional_properties["chimera.maintenance"]) == ("overwrite", "compaction")
    assert summary.additional_properties["total-records"] == str(len(before_rows))
    assert writer.last_position("p1") == Position(cursor="51")


def test_too_few_small_files_or_only_large_files_change_nothing(catalog):
    writer = IcebergWriter(catalog, "qa", "sales")
    for run in range(3):
        _append(writer, [run], "fr")
    snapshot = writer.load().current_snapshot().snapshot_id
    assert compact(writer.load(), small_bytes=MIB, min_files=4, group_bytes=128 * MIB).files_removed == 0
    assert compact(writer.load(), small_bytes=10, min_files=2, group_bytes=128 * MIB).files_removed == 0  # none small
    assert writer.load().current_snapshot().snapshot_id == snapshot


def test_groups_are_cut_at_the_group_size(catalog):
    writer = IcebergWriter(catalog, "qa", "sales")
    for run in range(6):
        _append(writer, [run], "fr")
    size = max(task.file.file_size_in_bytes for task in writer.load().scan().plan_files())

    # Room for three files per group: six small files become two.
    result = compact(writer.load(), small_bytes=MIB, min_files=2, group_bytes=3 * size)

    assert (result.files_removed, result.files_added) == (6, 2)
    assert _files(writer) == {"": 2}
    assert sorted(r[0] for r in _rows(writer)) == list(range(6))
