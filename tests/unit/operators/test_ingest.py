"""The ingest task around the run: what it takes from its Airflow context, and what it adds."""

from __future__ import annotations

import datetime as dt
import json

from tests.helpers import pipeline_for, read_table, run_task

UTC = dt.UTC


def _events(base, mode: dict) -> dict:
    fields = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]
    ingestion = {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"namespace": "qa", "table": "events"}}
    obj = {"name": "events", "path": "*.jsonl", "format": "json", "schema": {"fields": fields}, "ingestion": ingestion}
    return {"name": "drop", "type": "file", "connection": {"uri": base.as_uri()}, "objects": [obj]}


def test_a_partitioned_run_without_interval_takes_its_logical_dates_period(tmp_path, catalog):
    rows = [{"id": 1, "ts": "2026-11-01T10:00:00Z"}, {"id": 2, "ts": "2026-11-01T11:00:00Z"}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    pipeline = pipeline_for(_events(tmp_path, {"type": "partitioned", "column": "ts", "granularity": "hour"}))

    logical = dt.datetime(2026, 11, 1, 10, 30, tzinfo=UTC)  # a manual run: a zero-length interval at its logical date
    result = run_task(pipeline, run_id="manual", interval=(logical, logical))

    assert result["rows"] == 1
    assert read_table(catalog, "qa.events").column("id").to_pylist() == [1]


def test_the_task_returns_the_runs_xcom_value(tmp_path, catalog):
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": 1, "ts": "2026-11-01T10:00:00Z"}) + "\n")
    result = run_task(pipeline_for(_events(tmp_path, {"type": "full"})), run_id="manual__1")

    snapshot = catalog.load_table("qa.events").current_snapshot()
    assert list(result) == [
        "pipeline", "target", "rows", "snapshot_id", "committed", "published", "quarantined", "checks", "worker",
        "started_at", "ended_at", "rows_read", "rows_written", "bytes_written", "cpu_seconds", "peak_rss_kib",
    ]
    assert (result["pipeline"], result["target"], result["rows"], result["snapshot_id"]) == (
        "qa_intent_drop_events", "qa.events", 1, snapshot.snapshot_id
    )
    assert (result["committed"], result["published"], result["quarantined"], result["rows_read"]) == (True, True, 0, 1)

