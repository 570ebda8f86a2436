"""Pipeline runs recorded in the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.registry.runs import record_run
from airflow_provider_chimera.registry.sync import sync_registry
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
