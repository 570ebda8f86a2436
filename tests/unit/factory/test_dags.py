"""The DAG factory: ids, schedules and metadata from intents; a broken intent hides no other DAG."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from airflow_provider_chimera.factory import build_dags, discover

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "intents"
SAMPLE_IDS = {
    "retail_shop_shop_files_customers",
    "retail_shop_shop_files_events",
    "retail_shop_shop_db_public_orders",
}


def test_sample_intents_make_exactly_the_expected_dags():
    """The DAG ids are <intent>_<source>_<object>, normalised."""
    dags = build_dags(REPO / "intents")
    assert set(dags) == SAMPLE_IDS


def test_dag_carries_schedule_owner_tags_and_target_asset():
    dags = build_dags(REPO / "intents")
    customers = dags["retail_shop_shop_files_customers"]
    assert customers.schedule == "@daily"
    assert set(customers.tags) == {"retail-analytics", "retail", "file", "append"}
    task = customers.get_task("ingest")
    assert task.owner == "retail-analytics"
    assert [(a.name, a.uri) for a in task.outlets] == [("retail.customers", "iceberg://chimera/retail/customers")]
    assert "retail.web_events" in dags["retail_shop_shop_files_events"].doc_md


def test_trigger_kinds_map_to_schedules(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dags = build_dags(tmp_path)
    assert set(dags) == {"sales_crm_crm_public_customers", "sales_crm_crm_public_orders", "sales_crm_clicks_web_clicks", "sales_crm_contracts_signed"}
    assert dags["sales_crm_crm_public_orders"].schedule == "0 * * * *"
    assert dags["sales_crm_contracts_signed"].schedule is None  # adhoc: REST API / UI only
    assert [a.name for a in dags["sales_crm_clicks_web_clicks"].schedule] == ["web.clicks"]


def test_iso_duration_schedule_becomes_timedelta():
    from airflow_provider_chimera.factory.dags import schedule_of

    events = next(p for p in discover(REPO / "intents").pipelines if p.object.name == "events")
    assert schedule_of(events) == timedelta(minutes=15)


def test_broken_intent_does_not_remove_the_others(tmp_path):
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"version": 1, "name": "wrong_name"}))
    found = discover(tmp_path)
    assert {p.id for p in found.pipelines} == SAMPLE_IDS
    assert len(found.errors) == 1
    problems = [str(p) for p in found.errors[0].problems]
    assert f"{tmp_path / 'broken.json'}: /team: Field required" in problems
    assert set(build_dags(tmp_path)) == SAMPLE_IDS
