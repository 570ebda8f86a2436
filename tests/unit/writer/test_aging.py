"""Commits that stay fast as a table ages: after many commits the manifest list, the snapshots, the
snapshot log and the metadata log stay bounded, while the rows and the stream position stay exact."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from airflow_provider_chimera.governance.wap import audit_branch, publish
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from airflow_provider_chimera.writer.aging import (
    AGING_PROPERTIES,
    MAX_SNAPSHOTS,
    MERGE_MIN_COUNT,
    PREVIOUS_METADATA,
    expire_oldest,
)

SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("payload", pa.string())])
ROWS = 7
SMALL = {MAX_SNAPSHOTS: "8", MERGE_MIN_COUNT: "4", PREVIOUS_METADATA: "6"}


def _batch(number: int) -> pa.RecordBatch:
    ids = list(range(number * ROWS, (number + 1) * ROWS))
    return pa.RecordBatch.from_pydict({"id": ids, "payload": [f"event {i}" for i in ids]}, schema=SCHEMA)


def _micro_batch(writer: IcebergWriter, number: int, staged: bool) -> None:
    """One stream micro-batch the way the ingest run commits it: position, write, publish."""
    since = writer.last_position("stream")
    offset = (since.offsets["0"] if since else 0) + ROWS
    info = CommitInfo(pipeline="stream", run_id="run_1", source="kafka/events", position=Position(offsets={"0": offset}))
    branch = audit_branch("run_1", 1) if staged else None
    result = writer.write(SCHEMA, iter([_batch(number)]), "append", lambda: info, stage=branch)
    if staged:
        publish(writer, result)


def _path(location: str) -> str:
    return location.removeprefix("file://")


@pytest.mark.parametrize("staged", [True, False], ids=["write-audit-publish", "straight-to-main"])
def test_many_commits_keep_the_metadata_bounded_and_rows_and_position_exact(catalog, staged):
    writer = IcebergWriter(catalog, "qa", "events", properties={"chimera.pipeline": "stream", **SMALL})
    commits = 40
    manifest_lists = set()
    for number in range(commits):
        _micro_batch(writer, number, staged)
        table = writer.load()
        manifest_lists.add(table.current_snapshot().manifest_list)
        assert len(table.metadata.snapshots) <= 8
        assert len(table.metadata.snapshot_log) <= 8
        assert len(table.metadata.metadata_log) <= 6
        # Merged once 4 manifests pile up: the new one and the merged one, never more than 4.
        assert len(table.current_snapshot().manifests(table.io)) <= 4
    table = writer.load()
    rows = table.scan().to_arrow()
    assert sorted(rows.column("id").to_pylist()) == list(range(commits * ROWS))  # each row exactly once
    assert writer.last_position("stream") == Position(offsets={"0": commits * ROWS})
    assert table.current_snapshot().summary.additional_properties["total-records"] == str(commits * ROWS)
    # The expired snapshots' manifest lists left storage; the kept ones are there.
    kept = {s.manifest_list for s in table.metadata.snapshots}
    assert all(os.path.exists(_path(m)) for m in kept)
    assert not any(os.path.exists(_path(m)) for m in manifest_lists - kept)
    # Old metadata files are deleted by the commits (write.metadata.delete-after-commit.enabled).
    metadata_files = os.listdir(os.path.dirname(_path(table.metadata_location)))
    assert len([f for f in metadata_files if f.endswith(".metadata.json")]) <= 6 + 1


def test_expiry_never_cuts_the_walk_back_to_the_pipelines_position(catalog):
    writer = IcebergWriter(catalog, "qa", "events", properties={"chimera.pipeline": "stream", MAX_SNAPSHOTS: "0"})
    for number in range(4):
        _micro_batch(writer, number, staged=False)
    table = writer.load()
    for number in range(4, 9):  # commits without a position after the pipeline's last (maintenance)
        table.append(pa.Table.from_batches([_batch(number)]), snapshot_properties={"chimera.maintenance": "compaction"})
    txn = table.transaction()
    expired = expire_oldest(txn, keep=2)
    txn.commit_transaction()
    table = writer.load()
    # Only the pipeline's earlier commits go: the five maintenance commits and the one holding the
    # position stay, so the next run still finds where the stream stopped.
    assert len(expired) == 3
    assert len(table.metadata.snapshots) == 6
    assert writer.last_position("stream") == Position(offsets={"0": 4 * ROWS})
    assert table.scan().to_arrow().num_rows == 9 * ROWS


def test_an_existing_table_gets_the_properties_on_its_next_write(catalog):
    plain = IcebergWriter(catalog, "qa", "events", properties={"chimera.pipeline": "stream"})
    plain.write(SCHEMA, iter([_batch(0)]), "append", lambda: CommitInfo("stream", "r", "s", Position(offsets={"0": 7})))
    table = plain.load()
    with table.transaction() as txn:  # a table from before: no aging properties, one set by hand
        txn.remove_properties(*AGING_PROPERTIES)
        txn.set_properties({MERGE_MIN_COUNT: "50"})
    writer = IcebergWriter(catalog, "qa", "events", properties={"chimera.pipeline": "stream", MAX_SNAPSHOTS: "30"})
    _micro_batch(writer, 1, staged=True)
    properties = writer.load().properties
    assert {k: properties[k] for k in AGING_PROPERTIES} == {**AGING_PROPERTIES, MERGE_MIN_COUNT: "50", MAX_SNAPSHOTS: "30"}
    # [chimera] snapshot_max_count is the knob: a changed setting reaches the table on its next write.
    again = IcebergWriter(catalog, "qa", "events", properties={"chimera.pipeline": "stream", MAX_SNAPSHOTS: "12"})
    _micro_batch(again, 2, staged=True)
    assert again.load().properties[MAX_SNAPSHOTS] == "12"
    assert again.last_position("stream") == Position(offsets={"0": 21})
