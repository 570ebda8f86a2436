"""Run statistics: measured by the ingest run, returned in XCom, recorded by the ingest task in the registry's runs table."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pyarrow as pa
import pytest
from sqlalchemy import select

from airflow_provider_chimera.faults import InjectedFailure
from airflow_provider_chimera.ingest.runstats import RunMeter, bytes_added, save_run
from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.registry.models import RunRow
from airflow_provider_chimera.pipelines.sync import sync_registry
from airflow_provider_chimera.sources.base import Position
from airflow_provider_chimera.writer import CommitInfo, IcebergWriter
from tests.helpers import intent_with, pipeline_for, run_task, single_object_source

SCHEMA = pa.schema([pa.field("id", pa.int64())])


def _batches(*sizes: int):
    start = 0
    for size in sizes:
        yield pa.RecordBatch.from_pydict({"id": list(range(start, start + size))}, schema=SCHEMA)
        start += size


def test_meter_counts_rows_and_calls_back_once_all_are_read():
    meter, calls = RunMeter(), []
    seen = [batch.num_rows for batch in meter.count(_batches(3, 4, 5), after=lambda: calls.append(meter.rows_read))]
    assert (seen, meter.rows_read, calls) == ([3, 4, 5], 12, [12])


def test_meter_does_not_call_back_when_reading_stops_early():
    meter, calls = RunMeter(), []
    with pytest.raises(RuntimeError):
        for _ in meter.count(_batches(3, 4), after=lambda: calls.append("done")):
            raise RuntimeError("write failed")
    assert (meter.rows_read, calls) == (3, [])


def test_stop_measures_time_cpu_and_memory():
    meter = RunMeter()
    sum(i * i for i in range(2_000_000))  # some CPU work
    meter.committed(7, 1234, 42)
    stats = meter.stop()
    assert stats.started_at <= stats.ended_at
    assert stats.ended_at - stats.started_at < dt.timedelta(minutes=1)
    assert (stats.rows_written, stats.bytes_written) == (7, 1234)
    assert 0 < stats.cpu_seconds < 60
    assert stats.peak_rss_kib > 10_000  # a Python process with pyarrow loaded holds well over 10 MiB
    as_json = json.loads(json.dumps(stats.as_dict()))
    assert as_json["started_at"] == stats.started_at.isoformat()
    assert set(as_json) == {"started_at", "ended_at", "rows_read", "rows_written", "bytes_written", "cpu_seconds", "peak_rss_kib"}


def test_bytes_added_sums_the_files_of_the_snapshots_after_a_given_one(catalog):
    writer = IcebergWriter(catalog, "qa", "t")
    info = lambda: CommitInfo(pipeline="p", run_id="r", source="s/o", position=Position())  # noqa: E731
    writer.write(SCHEMA, _batches(10), "append", info)
    first = writer.load().current_snapshot().snapshot_id
    writer.write(SCHEMA, _batches(10, 20), "append", info)
    files = writer.load().inspect.files().to_pylist()
    sizes = sorted(f["file_size_in_bytes"] for f in files)
    assert len(sizes) == 2
    assert bytes_added(writer.load(), None) == sum(sizes)
    second_file = [f["file_size_in_bytes"] for f in files if f["record_count"] == 30]
    assert bytes_added(writer.load(), first) == second_file[0]
    assert bytes_added(None, None) == 0


# --- the registry ------------------------------------------------------------------------------


@pytest.fixture
def registry_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'state' / 'registry.db'}"
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", url)
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    return url


def _events_source(folder) -> dict:
    schema = {"fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}]}
    return single_object_source(
        "file", {"uri": folder.as_uri()}, "events", {"type": "incremental"}, "events", path="*.jsonl", format="json", schema=schema
    )


def _synced(tmp_path, source: dict) -> str:
    """Write the intent holding ``source`` into an intents folder, sync the registry; the pipeline id."""
    intents = tmp_path / "intents"
    intents.mkdir()
    (intents / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    with open_registry() as registry:
        sync_registry(registry, intents, actor="qa")
    return pipeline_for(source).id


def _write_events(folder, name: str, ids: range) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(json.dumps({"id": i, "name": f"e{i}"}) + "\n" for i in ids))


def _runs() -> list[RunRow]:
    with open_registry() as registry, registry.session() as session:
        return list(session.scalars(select(RunRow)))


def test_a_run_records_one_row_with_its_statistics(tmp_path, catalog, registry_url):
    data = tmp_path / "data"
    _write_events(data, "a.jsonl", range(1000))
    source = _events_source(data)
    pipeline_id = _synced(tmp_path, source)

    result = run_task(pipeline_for(source), run_id="manual__1")

    [row] = _runs()
    assert (row.pipeline_id, row.run_id, row.state, row.error) == (pipeline_id, "manual__1", "success", None)
    assert (row.rows_read, row.rows, result["rows_read"], result["rows_written"]) == (1000, 1000, 1000, 1000)
    files = catalog.load_table("qa.events").inspect.files().to_pylist()
    assert row.bytes_written == result["bytes_written"] == sum(f["file_size_in_bytes"] for f in files) > 0
    assert row.cpu_seconds == result["cpu_seconds"] > 0
    assert row.peak_rss_kib == result["peak_rss_kib"] > 0
    assert row.started_at <= row.ended_at
    assert row.started_at.isoformat() == result["started_at"]
    assert row.snapshot_id == result["snapshot_id"]
    assert row.quarantined_rows == 0


def _events_with_one_bad_record(data, good: int) -> dict:
    """A JSON-lines source of ``good`` events and one whose id is not a number (it goes to quarantine)."""
    _write_events(data, "a.jsonl", range(good))
    with open(data / "a.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "not a number", "name": "bad"}) + "\n")
    return _events_source(data)


def test_a_run_records_the_records_it_quarantined(tmp_path, catalog, registry_url):
    source = _events_with_one_bad_record(tmp_path / "data", 9)
    source["objects"][0]["ingestion"]["quarantine_threshold"] = 0.5
    _synced(tmp_path, source)

    run_task(pipeline_for(source), run_id="manual__1")

    [row] = _runs()
    assert (row.state, row.rows, row.quarantined_rows) == ("success", 9, 1)


def test_a_run_failed_by_its_quarantine_threshold_records_the_records_it_quarantined(tmp_path, catalog, registry_url):
    """The board shows a breach's quarantined records, not "–": the failed run's row holds them."""
    from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError

    source = _events_with_one_bad_record(tmp_path / "data", 3)
    _synced(tmp_path, source)

    with pytest.raises(QuarantineThresholdError):
        run_task(pipeline_for(source), run_id="manual__1")

    [row] = _runs()
    assert (row.state, row.rows, row.quarantined_rows) == ("failed", 0, 1)
    assert row.error.startswith("QuarantineThresholdError: pipeline ")


def test_a_failed_attempt_is_recorded_and_its_retry_replaces_it(tmp_path, catalog, registry_url, monkeypatch):
    data = tmp_path / "data"
    _write_events(data, "a.jsonl", range(10))
    source = _events_source(data)
    _synced(tmp_path, source)

    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_files")
    with pytest.raises(InjectedFailure):
        run_task(pipeline_for(source), run_id="manual__1")
    [row] = _runs()
    assert (row.state, row.rows_read, row.rows, row.snapshot_id) == ("failed", 10, 0, None)
    assert row.error == "InjectedFailure: failure injected at after_files (CHIMERA_FAIL_AT=after_files)"

    monkeypatch.delenv("CHIMERA_FAIL_AT")
    result = run_task(pipeline_for(source), run_id="manual__1")
    [row] = _runs()
    assert (row.state, row.rows_read, row.rows, row.snapshot_id, row.error) == ("success", 10, 10, result["snapshot_id"], None)


def test_a_failure_after_the_commit_records_what_was_committed(tmp_path, catalog, registry_url, monkeypatch):
    data = tmp_path / "data"
    _write_events(data, "a.jsonl", range(10))
    source = _events_source(data)
    _synced(tmp_path, source)
    monkeypatch.setenv("CHIMERA_FAIL_AT", "after_commit")
    with pytest.raises(InjectedFailure):
        run_task(pipeline_for(source), run_id="manual__1")
    [row] = _runs()
    snapshot = catalog.load_table("qa.events").current_snapshot()
    assert (row.state, row.rows_read, row.rows, row.snapshot_id) == ("failed", 10, 10, snapshot.snapshot_id)
    assert row.bytes_written == int(snapshot.summary["added-files-size"]) > 0


def test_an_unknown_pipeline_or_an_unreachable_registry_only_warns(tmp_path, catalog, registry_url, monkeypatch, caplog):
    data = tmp_path / "data"
    _write_events(data, "a.jsonl", range(5))
    with caplog.at_level(logging.WARNING, logger="airflow_provider_chimera.ingest.runstats"):
        assert run_task(pipeline_for(_events_source(data)))["rows"] == 5  # never synced
    assert "qa_intent_src_events: run test-run (success) not recorded in the registry: LookupError: pipeline" in caplog.text

    caplog.clear()
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://chimera:hunter2@127.0.0.1:1/nowhere")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_chimera.ingest.runstats"):
        assert save_run("p", "r", "running") is False
    assert "p: run r (running) not recorded in the registry: RegistryUnreachable" in caplog.text
    assert "hunter2" not in caplog.text


def test_the_worker_a_run_ran_on_is_in_its_xcom_and_its_audit_entry(tmp_path, catalog, registry_url, monkeypatch):
    """Recorded from inside the task: ``CHIMERA_WORKER`` (each cluster worker's), else the host name."""
    import socket

    from airflow_provider_chimera.registry.audit import entries

    data = tmp_path / "data"
    _write_events(data, "a.jsonl", range(3))
    source = _events_source(data)
    pipeline_id = _synced(tmp_path, source)
    monkeypatch.setenv("CHIMERA_WORKER", "chimera_sales-worker")
    assert run_task(pipeline_for(source), run_id="manual__1")["worker"] == "chimera_sales-worker"
    monkeypatch.delenv("CHIMERA_WORKER")
    _write_events(data, "b.jsonl", range(3, 5))
    assert run_task(pipeline_for(source), run_id="manual__2")["worker"] == socket.gethostname()

    with open_registry() as registry, registry.session() as session:
        audited = [(e.action, e.intent, e.details) for e in reversed(entries(session, action="ingest.*"))]
    assert [(action, intent, d["pipeline"], d["run_id"], d["worker"], d["rows"]) for action, intent, d in audited] == [
        ("ingest.success", "qa_intent", pipeline_id, "manual__1", "chimera_sales-worker", 3),
        ("ingest.success", "qa_intent", pipeline_id, "manual__2", socket.gethostname(), 2),
    ]
    assert [d["snapshot_id"] for _, _, d in audited] == [row.snapshot_id for row in sorted(_runs(), key=lambda r: r.run_id)]
