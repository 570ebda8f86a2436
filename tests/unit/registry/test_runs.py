"""Pipeline runs recorded in the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.registry.runs import record_run
from airflow_provider_chimera.pipelines.sync import sync_registry
from tests.unit.registry.conftest import intent_data, write_intent


def test_a_run_is_inserted_then_updated(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    sync_registry(registry, intents_dir, actor="jane")
    start = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    with registry.session() as session:
        record_run(session, "sales_crm_crm_public_orders", "manual__1", "running", started_at=start)
    with registry.session() as session:
        row = record_run(session, "sales_crm_crm_public_orders", "manual__1", "success", rows=200, snapshot_id=2**62)
        assert (row.state, row.rows, row.snapshot_id, row.started_at) == ("success", 200, 2**62, start)


def test_an_unknown_pipeline_is_named(registry):
    with registry.session() as session, pytest.raises(LookupError, match="pipeline 'nope' is not in the registry"):
        record_run(session, "nope", "r", "success")


def test_a_retry_starts_afresh_and_its_success_clears_the_error(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    sync_registry(registry, intents_dir, actor="jane")
    first, second = dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC), dt.datetime(2026, 11, 25, 10, 5, tzinfo=dt.UTC)
    pipeline = "sales_crm_crm_public_orders"
    with registry.session() as session:
        record_run(session, pipeline, "r", "running", started_at=first, attempt=1)
        record_run(session, pipeline, "r", "failed", ended_at=first, attempt=1, rows_read=50, cpu_seconds=0.5, error="boom")
        row = record_run(session, pipeline, "r", "running", started_at=second, attempt=2)
        assert (row.started_at, row.ended_at, row.rows_read, row.cpu_seconds, row.error, row.attempt) == (second, None, None, None, None, 2)
        record_run(session, pipeline, "r", "failed", attempt=2, error="boom again")
        row = record_run(session, pipeline, "r", "success", ended_at=second, rows_read=80, rows=80, bytes_written=4096, peak_rss_kib=90_000)
        assert (row.state, row.error, row.rows_read, row.rows, row.bytes_written, row.peak_rss_kib) == ("success", None, 80, 80, 4096, 90_000)
