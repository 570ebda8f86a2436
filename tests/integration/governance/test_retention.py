"""Table maintenance on real pipelines' tables: retention, compaction and snapshot expiry, then
incremental runs that neither lose nor duplicate a row."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from airflow_provider_chimera.maintenance.table import maintain
from airflow_provider_chimera.operators.maintenance import ACTOR, TableMaintenanceOperator
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import IcebergWriter
from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source

UTC = dt.UTC
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]
AGES = (40, 35, 2, 1)  # days before now of the rows of every file


def _file_source(base: Path) -> dict:
    obj = {
        "name": "events",
        "path": "*.jsonl",
        "format": "json",
        "schema": {"fields": FIELDS},
        "ingestion": {
            "trigger": {"type": "adhoc"},
            "mode": {"type": "incremental"},
            "target": {"namespace": "qa", "table": "events", "partition_by": [{"column": "ts", "transform": "day"}]},
            "retention": {"days": 30},
        },
    }
    return {"name": "drop", "type": "file", "connection": {"uri": base.as_uri()}, "objects": [obj]}


def _drop_file(base: Path, run: int, now: dt.datetime, ages=AGES) -> list[int]:
    ids = [run * 10 + i for i in range(len(ages))]
    rows = [{"id": i, "ts": (now - dt.timedelta(days=age)).isoformat()} for i, age in zip(ids, ages)]
    (base / f"{run:02d}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return ids


def _data_files(catalog, identifier: str) -> list[str]:
    return sorted(task.file.file_path for task in catalog.load_table(identifier).scan().plan_files())


def _audit(run_id: str) -> dict[str, dict]:
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry().session() as session:
        return {e.action: e.details for e in entries(session, actor=ACTOR, limit=None) if e.details.get("run_id") == run_id}


def test_maintenance_deletes_expired_partitions_compacts_expires_and_loses_no_row(tmp_path, catalog, settings):
    now = dt.datetime.now(UTC)
    landing = tmp_path / "landing"
    landing.mkdir()
    pipeline = pipeline_for(_file_source(landing))
    loaded: list[int] = []
    for run in range(1, 7):  # six incremental runs: one small file per run in each day partition
        loaded += _drop_file(landing, run, now)
        assert run_pipeline(pipeline, run_id=f"load-{run}")["rows"] == 4
    before = read_table(catalog, "qa.events")
    assert (before.num_rows, len(_data_files(catalog, "qa.events"))) == (24, 24)
    young = sorted(i for i in loaded if i % 10 >= 2)  # 2 and 1 days old

    run_id = f"maintenance-{uuid.uuid4()}"
    result = TableMaintenanceOperator(task_id=pipeline.id, pipeline=pipeline).execute({"run_id": run_id})

    table = read_table(catalog, "qa.events")
    assert sorted(table.column("id").to_pylist()) == young
    assert sorted(tuple(r.values()) for r in table.to_pylist()) == sorted(
        tuple(r.values()) for r in before.to_pylist() if r["id"] in young
    )
    assert len(_data_files(catalog, "qa.events")) == 2  # two day partitions of six small files, one file each
    audit = _audit(run_id)
    assert set(audit) == {"table.retention", "table.compaction"}  # no snapshot was old enough to expire
    assert (audit["table.retention"]["rows_deleted"], audit["table.retention"]["files_removed"]) == (12, 12)
    assert audit["table.retention"]["column"] == "ts"
    assert (audit["table.compaction"]["files_removed"], audit["table.compaction"]["files_added"]) == (12, 2)
    assert result["table.expire_snapshots"]["snapshots_expired"] == 0
    assert len(catalog.load_table("qa.events").snapshots()) == 8  # six loads, the retention, the compaction

    # Ten days on: the loads 1-5 expire; load 6 (the position) and the two maintenance snapshots stay.
    iceberg = catalog.load_table("qa.events")
    head, load6 = iceberg.current_snapshot().snapshot_id, iceberg.snapshots()[5].snapshot_id
    outcome = maintain(pipeline, catalog, settings, now=now + dt.timedelta(days=10))
    assert outcome.failed == {}
    assert outcome.done["table.expire_snapshots"]["snapshots_expired"] == 5
    iceberg = catalog.load_table("qa.events")
    assert len(iceberg.snapshots()) == 3
    assert iceberg.current_snapshot().snapshot_id == head
    assert iceberg.snapshot_by_id(load6) is not None
    position = IcebergWriter(catalog, "qa", "events").last_position(pipeline.id)
    assert sorted(Path(f).name for f in position.files) == [f"{run:02d}.jsonl" for run in range(1, 7)]

    # The next run reads only the new file: nothing lost, nothing twice.
    added = _drop_file(landing, 7, now, ages=(1, 0))
    assert run_pipeline(pipeline, run_id="load-7")["rows"] == 2
    ids = read_table(catalog, "qa.events").column("id").to_pylist()
    assert sorted(ids) == sorted(young + added)
    assert len(ids) == len(set(ids))

    # Once load 7 is the position, the old snapshots go, and with them the files only they read.
    old_files = [task.file.file_path for task in iceberg.scan(snapshot_id=load6).plan_files()]
    assert len(old_files) == 24 and not set(old_files) & set(_data_files(catalog, "qa.events"))
    assert all(Path(urlsplit(f).path).exists() for f in old_files)
    outcome = maintain(pipeline, catalog, settings, now=now + dt.timedelta(days=10))
    assert outcome.done["table.expire_snapshots"]["snapshots_expired"] == 3
    assert not any(Path(urlsplit(f).path).exists() for f in old_files)
    assert sorted(read_table(catalog, "qa.events").column("id").to_pylist()) == sorted(young + added)


@pytest.fixture
def pg(pg_schema):
    return pg_schema("qa_pg_retention", conn_id="qa_pg_retention")


def test_retention_by_a_timestamp_cursor_then_an_incremental_run(pg, catalog, settings):
    now = dt.datetime.now(UTC).replace(microsecond=0)
    pg.execute("CREATE TABLE qa_pg_retention.orders (id bigint PRIMARY KEY, amount int, updated_at timestamptz)")
    times = {i: now - dt.timedelta(days=i % 20, hours=1) for i in range(1, 101)}
    with pg.cursor() as cur:
        cur.executemany("INSERT INTO qa_pg_retention.orders VALUES (%s, %s, %s)", [(i, i * 10, t) for i, t in times.items()])
    source = single_object_source(
        "postgres", {"conn_id": "qa_pg_retention"}, "qa_pg_retention.orders", {"type": "incremental", "cursor": "updated_at"}, "orders"
    )
    source["objects"][0]["ingestion"]["retention"] = {"days": 10}
    pipeline = pipeline_for(source)
    assert run_pipeline(pipeline, run_id="load")["rows"] == 100

    outcome = maintain(pipeline, catalog, settings, now=now)

    midnight = dt.datetime.combine((now - dt.timedelta(days=10)).date(), dt.time(), UTC)
    kept = sorted(i for i, t in times.items() if t >= midnight)
    assert 0 < len(kept) < 100
    assert sorted(read_table(catalog, "qa.orders").column("id").to_pylist()) == kept
    assert outcome.done["table.retention"]["rows_deleted"] == 100 - len(kept)
    assert outcome.done["table.retention"]["cutoff"] == midnight.isoformat()
    position = IcebergWriter(catalog, "qa", "orders").last_position(pipeline.id)
    assert position == Position(cursor=max(times.values()).isoformat())

    with pg.cursor() as cur:
        cur.executemany(
            "INSERT INTO qa_pg_retention.orders VALUES (%s, %s, %s)",
            [(i, i * 10, now + dt.timedelta(minutes=i - 100)) for i in range(101, 106)],
        )
    assert run_pipeline(pipeline, run_id="more")["rows"] == 5
    ids = read_table(catalog, "qa.orders").column("id").to_pylist()
    assert sorted(ids) == kept + list(range(101, 106))
    assert len(ids) == len(set(ids))
