"""Snapshot expiry: old snapshots go, refs and the pipeline's position stay, orphaned files are deleted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa

from airflow_provider_chimera.maintenance.retention import apply_retention
from airflow_provider_chimera.contract.retention import AgeColumn
from airflow_provider_chimera.maintenance.snapshots import expire_snapshots
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter

UTC = dt.UTC
TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("ts", TS)])
DAY_MS = 86_400_000


def _append(writer: IcebergWriter, ids: list[int], when: dt.datetime, pipeline: str | None = "p1") -> int:
    batch = pa.RecordBatch.from_pydict({"id": ids, "ts": [when] * len(ids)}, schema=SCHEMA)
    if pipeline is None:  # a commit by another tool: no Chimera position
        table = writer.ensure_table(SCHEMA)
        table.append(pa.Table.from_batches([batch]))
    else:
        info = CommitInfo(pipeline=pipeline, run_id=f"r{ids[-1]}", source="s/o", position=Position(cursor=str(ids[-1])))
        writer.write(SCHEMA, iter([batch]), "append", lambda: info)
    return writer.load().current_snapshot().snapshot_id


def _local(uri: str) -> Path:
    return Path(urlsplit(uri).path)


def test_old_snapshots_expire_but_the_chain_to_the_position_stays(catalog):
    now = dt.datetime.now(UTC)
    writer = IcebergWriter(catalog, "qa", "events")
    ids = [_append(writer, [run], now - dt.timedelta(days=40 - run)) for run in range(4)]
    retention = apply_retention(writer.load(), AgeColumn("ts", "cursor"), 38, now, "qa.json: pipeline p1")
    assert retention.rows_deleted == 2  # rows 0 and 1 (40 and 39 days old)
    head = writer.load().current_snapshot().snapshot_id
    rows = sorted(writer.load().scan().to_arrow().column("id").to_pylist())

    # Ten days later, with seven days kept, every snapshot is old.
    result = expire_snapshots(writer.load(), keep_days=7, now=now + dt.timedelta(days=10))

    table = writer.load()
    remaining = [s.snapshot_id for s in table.snapshots()]
    # The head is the retention snapshot; behind it the newest positioned snapshot (run 3) must stay.
    assert remaining == [ids[3], head]
    assert sorted(result.expired) == sorted(ids[:3])
    assert (result.kept, table.current_snapshot().snapshot_id) == (2, head)
    assert writer.last_position("p1") == Position(cursor="3")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == rows == [2, 3]


def test_files_only_expired_snapshots_referenced_are_deleted(catalog):
    now = dt.datetime.now(UTC)
    writer = IcebergWriter(catalog, "qa", "events")
    _append(writer, [1], now - dt.timedelta(days=40))
    old_file = next(iter(writer.load().scan().plan_files())).file.file_path
    _append(writer, [2], now)
    apply_retention(writer.load(), AgeColumn("ts", "cursor"), 30, now, "qa.json: pipeline p1")  # drops file of row 1
    later = now + dt.timedelta(days=10)

    # The retention snapshot still references the dropped file (as deleted): it stays on disk for now.
    expire_snapshots(writer.load(), keep_days=7, now=later)
    assert _local(old_file).exists()

    # A new load, then the retention snapshot ages out too: the file leaves storage.
    _append(writer, [3], now)
    result = expire_snapshots(writer.load(), keep_days=7, now=later)
    assert not _local(old_file).exists()
    assert result.files_deleted >= 1
    assert sorted(writer.load().scan().to_arrow().column("id").to_pylist()) == [2, 3]


def test_young_snapshots_tags_and_live_branches_stay_stale_branches_go(catalog):
    now = dt.datetime.now(UTC)
    writer = IcebergWriter(catalog, "qa", "events")
    first = _append(writer, [1], now)
    second = _append(writer, [2], now)
    third = _append(writer, [3], now)
    with writer.load().manage_snapshots() as refs:
        refs.create_tag(first, "release")
        refs.create_branch(second, "audit_stale", max_ref_age_ms=DAY_MS)
        refs.create_branch(first, "audit_live", max_ref_age_ms=30 * DAY_MS)

    # Today nothing is old enough.
    assert expire_snapshots(writer.load(), keep_days=7, now=now).expired == ()

    result = expire_snapshots(writer.load(), keep_days=7, now=now + dt.timedelta(days=10))

    table = writer.load()
    assert result.refs_removed == ("audit_stale",)
    assert sorted(table.metadata.refs) == ["audit_live", "main", "release"]
    assert {s.snapshot_id for s in table.snapshots()} == {first, third}
    assert result.expired == (second,)


def test_a_table_without_positions_keeps_only_its_head(catalog):
    now = dt.datetime.now(UTC)
    writer = IcebergWriter(catalog, "qa", "events")
    for run in range(3):
        last = _append(writer, [run], now, pipeline=None)

    result = expire_snapshots(writer.load(), keep_days=7, now=now + dt.timedelta(days=8))

    assert [s.snapshot_id for s in writer.load().snapshots()] == [last]
    assert len(result.expired) == 2
    assert sorted(writer.load().scan().to_arrow().column("id").to_pylist()) == [0, 1, 2]


def test_a_long_young_history_is_trimmed_to_the_tables_snapshot_count(catalog):
    # A table written before it had a snapshot count: many young snapshots, then the count is set.
    now = dt.datetime.now(UTC)
    writer = IcebergWriter(catalog, "qa", "events", properties={"chimera.snapshot-max-count": "0"})
    ids = [_append(writer, [run], now) for run in range(12)]
    for run in range(12, 15):  # commits without a position on top of the pipeline's last
        _append(writer, [run], now, pipeline=None)
    table = writer.load()
    with table.transaction() as txn:
        txn.set_properties({"chimera.snapshot-max-count": "2"})

    result = expire_snapshots(writer.load(), keep_days=7, now=now)

    table = writer.load()
    # Nothing is old, but only main's newest snapshots stay: the three without a position and the
    # one holding the pipeline's position (the walk back to it is never cut).
    assert sorted(result.expired) == sorted(ids[:11])
    assert len(table.metadata.snapshots) == 4
    assert writer.last_position("p1") == Position(cursor="11")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(15))
