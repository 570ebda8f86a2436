"""The ingest run's modes end to end on a file source: partitioned, dedup, schema evolution."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from airflow_provider_chimera.ingest.modes import UnsupportedModeError
from airflow_provider_chimera.sources.window import WindowError
from airflow_provider_chimera.writer.evolution import SchemaMismatchError
from tests.helpers import pipeline_for, read_table, run_pipeline

UTC = dt.UTC
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "v", "type": "string"}, {"name": "ts", "type": "timestamptz"}]


def _source(base, ingestion: dict, fields=FIELDS) -> dict:
    obj = {"name": "events", "path": "*.jsonl", "format": "json", "schema": {"fields": fields}, "ingestion": ingestion}
    return {"name": "drop", "type": "file", "connection": {"uri": base.as_uri()}, "objects": [obj]}


def _ingestion(mode: dict, **more) -> dict:
    return {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"namespace": "qa", "table": "events"}, **more}


def _write(path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _day(day: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2026, 11, day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def _by_day(catalog) -> dict[int, list[tuple]]:
    days: dict[int, list[tuple]] = {}
    for row in read_table(catalog, "qa.events").to_pylist():
        days.setdefault(row["ts"].day, []).append((row["id"], row["v"]))
    return {day: sorted(rows) for day, rows in sorted(days.items())}


def test_partitioned_runs_load_their_interval_and_a_rerun_replaces_it(tmp_path, catalog):
    rows = [{"id": i, "v": "a", "ts": f"2026-11-{1 + i % 3:02d}T{i:02d}:00:00Z"} for i in range(12)]
    _write(tmp_path / "a.jsonl", rows)
    pipeline = pipeline_for(_source(tmp_path, _ingestion({"type": "partitioned", "column": "ts", "granularity": "day"})))

    assert run_pipeline(pipeline, run_id="d1", interval=_day(1))["rows"] == 4  # ids 0, 3, 6, 9
    assert run_pipeline(pipeline, run_id="d2", interval=_day(2))["rows"] == 4
    assert _by_day(catalog) == {1: [(0, "a"), (3, "a"), (6, "a"), (9, "a")], 2: [(1, "a"), (4, "a"), (7, "a"), (10, "a")]}
    table = catalog.load_table("qa.events")
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("ts_day", "day")]

    # Day 1 changed at the source: rerunning it replaces day 1 only; a second rerun changes nothing.
    rows = [r for r in rows if r["id"] != 9] + [{"id": 0, "v": "b", "ts": "2026-11-01T00:00:00Z"}]
    _write(tmp_path / "a.jsonl", [r for r in rows if not (r["id"] == 0 and r["v"] == "a")])
    for attempt in ("d1-again", "d1-third"):
        assert run_pipeline(pipeline, run_id=attempt, interval=_day(1))["rows"] == 3
        assert _by_day(catalog) == {1: [(0, "b"), (3, "a"), (6, "a")], 2: [(1, "a"), (4, "a"), (7, "a"), (10, "a")]}


def test_a_partitioned_run_needs_its_window(tmp_path):
    pipeline = pipeline_for(_source(tmp_path, _ingestion({"type": "partitioned", "column": "ts", "granularity": "hour"})))
    with pytest.raises(WindowError, match=r"pipeline .*: a 'partitioned' run needs the window of 'ts' it loads"):
        run_pipeline(pipeline)


def test_dedup_keeps_the_latest_per_key_across_runs(tmp_path, catalog):
    fields = [*FIELDS, {"name": "updated", "type": "long"}]
    ingestion = _ingestion({"type": "incremental"}, dedup={"keys": ["id"], "order_by": "updated"})
    source = _source(tmp_path, ingestion, fields)
    _write(tmp_path / "1.jsonl", [{"id": 1, "v": "a", "updated": 1}, {"id": 2, "v": "b", "updated": 1}, {"id": 1, "v": "a2", "updated": 2}])
    assert run_pipeline(pipeline_for(source))["rows"] == 2
    _write(tmp_path / "2.jsonl", [{"id": 1, "v": "a-old", "updated": 0}, {"id": 2, "v": "b2", "updated": 3}, {"id": 3, "v": "c", "updated": 1}])
    assert run_pipeline(pipeline_for(source))["rows"] == 2
    rows = sorted((r["id"], r["v"], r["updated"]) for r in read_table(catalog, "qa.events").to_pylist())
    assert rows == [(1, "a2", 2), (2, "b2", 3), (3, "c", 1)]


def test_schema_evolution_fail_stops_a_changed_source(tmp_path, catalog):
    _write(tmp_path / "1.jsonl", [{"id": 1, "v": "a"}])
    ingestion = _ingestion({"type": "full"}, schema_evolution="fail")
    run_pipeline(pipeline_for(_source(tmp_path, ingestion)))
    wider = [*FIELDS, {"name": "extra", "type": "int"}]
    with pytest.raises(SchemaMismatchError, match=r"^qa.events: .*'fail': column 'extra' \(int\) is added$"):
        run_pipeline(pipeline_for(_source(tmp_path, ingestion, wider)))
    # evolve (the default) takes it.
    run_pipeline(pipeline_for(_source(tmp_path, _ingestion({"type": "full"}), wider)))
    assert read_table(catalog, "qa.events").column_names == ["id", "v", "ts", "extra"]


def test_partitioned_mode_into_a_history_target_is_refused(tmp_path):
    ingestion = _ingestion({"type": "partitioned", "column": "ts"})
    ingestion["target"].update(kind="mdm", keys=["id"])
    with pytest.raises(UnsupportedModeError, match=r"pipeline .*: a 'partitioned' mode replaces rows, a 'mdm' target keeps every version"):
        run_pipeline(pipeline_for(_source(tmp_path, ingestion)), interval=_day(1))


def test_partitioned_files_are_zstd_parquet(tmp_path, catalog):
    import pyarrow.parquet as pq
    from pyiceberg.io.pyarrow import PyArrowFileIO

    _write(tmp_path / "a.jsonl", [{"id": i, "v": "a", "ts": f"2026-11-01T{i:02d}:00:00Z"} for i in range(5)])
    pipeline = pipeline_for(_source(tmp_path, _ingestion({"type": "partitioned", "column": "ts"})))
    run_pipeline(pipeline, interval=_day(1))
    run_pipeline(pipeline, interval=_day(1))
    table = catalog.load_table("qa.events")
    assert table.properties["write.parquet.compression-codec"] == "zstd"
    assert table.properties["write.target-file-size-bytes"] == str(128 << 20)
    files = [task.file.file_path for task in table.scan().plan_files()]
    assert len(files) == 1
    with PyArrowFileIO().new_input(files[0]).open() as handle:
        assert pq.ParquetFile(handle).metadata.row_group(0).column(0).compression == "ZSTD"
