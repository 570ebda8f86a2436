"""The DAG factory: ids, schedules and metadata from intents; a broken intent hides no other DAG."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from airflow_provider_chimera.factory import build_dags
from airflow_provider_chimera.pipelines import discover

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


def test_a_task_process_builds_only_the_dag_it_parses_the_file_for(monkeypatch):
    """Airflow's parsing context names the task's DAG: only that one is built (a task parses the
    DAG file before it runs); a DAG id the folder lacks, or none, builds them all."""
    from airflow.sdk.definitions._internal.dag_parsing_context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    # What the task runner sets while it parses (its own context manager leaves it set after).
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "retail_shop_shop_files_events")
    assert set(build_dags(REPO / "intents")) == {"retail_shop_shop_files_events"}
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "chimera_maintenance")
    assert set(build_dags(REPO / "intents")) == SAMPLE_IDS
    monkeypatch.delenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID)
    assert set(build_dags(REPO / "intents")) == SAMPLE_IDS


def test_dag_carries_schedule_owner_tags_and_target_asset():
    dags = build_dags(REPO / "intents")
    customers = dags["retail_shop_shop_files_customers"]
    assert customers.schedule == "@daily"
    assert set(customers.tags) == {"retail-analytics", "retail", "file", "append", "classified", "pii"}
    task = customers.get_task("ingest")
    assert task.owner == "retail-analytics"
    assert [(a.name, a.uri) for a in task.outlets] == [("iceberg://chimera.retail.customers", "iceberg://chimera.retail.customers/")]
    assert [a.uri for a in task.inlets] == ["file://${env:CHIMERA_SAMPLE_DATA}/retail/customers.csv"]
    orders = dags["retail_shop_shop_db_public_orders"].get_task("ingest")
    assert [a.uri for a in orders.inlets] == ["postgres://retail_postgres:5432/default/public/orders"]
    assert "retail.web_events" in dags["retail_shop_shop_files_events"].doc_md


def test_trigger_kinds_map_to_schedules(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dags = build_dags(tmp_path)
    assert set(dags) == {"sales_crm_crm_public_customers", "sales_crm_crm_public_orders", "sales_crm_clicks_web_clicks", "sales_crm_contracts_signed"}
    assert dags["sales_crm_crm_public_orders"].schedule == "0 * * * *"
    assert dags["sales_crm_contracts_signed"].schedule is None  # adhoc: REST API / UI only
    # "on" naming a Kafka topic: event-driven scheduling through an AssetWatcher on the topic.
    (clicks_asset,) = dags["sales_crm_clicks_web_clicks"].schedule
    assert clicks_asset.uri == "kafka://events_kafka/web.clicks"
    (watcher,) = clicks_asset.watchers
    assert type(watcher.trigger).__name__ == "KafkaMessageQueueTrigger"
    assert watcher.trigger.kwargs["topics"] == ["web.clicks"]
    assert watcher.trigger.kwargs["kafka_config_id"] == "events_kafka"


def test_event_on_an_asset_uri_is_data_aware(tmp_path):
    intent = json.loads((FIXTURES / "sales_crm.json").read_text())
    intent["sources"][0]["objects"][1]["ingestion"]["trigger"] = {"type": "event", "on": "iceberg://chimera.sales.customers"}
    (tmp_path / "sales_crm.json").write_text(json.dumps(intent))
    (asset,) = build_dags(tmp_path)["sales_crm_crm_public_orders"].schedule
    assert asset.uri == "iceberg://chimera.sales.customers/"
    assert asset.watchers == []


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


def test_tasks_get_their_team_source_pool_and_absolute_priority(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dags = build_dags(tmp_path)
    customers = dags["sales_crm_crm_public_customers"].get_task("ingest")
    assert customers.pool == "chimera__sales_analytics__crm_postgres"
    assert (customers.priority_weight, customers.weight_rule) == (100, "absolute")  # "high"
    clicks = dags["sales_crm_clicks_web_clicks"].get_task("ingest")
    assert clicks.pool == "chimera__sales_analytics__events_kafka"
    assert clicks.priority_weight == 1  # "low"
    assert dags["sales_crm_crm_public_orders"].get_task("ingest").priority_weight == 10  # default "medium"
    pdf = dags["sales_crm_contracts_signed"].get_task("ingest")
    assert pdf.pool == "chimera__sales_analytics__file"


def test_doc_md_renders_the_intent():
    doc = build_dags(REPO / "tests" / "fixtures" / "intents")["sales_crm_crm_public_customers"].doc_md
    assert "| owner team | sales-analytics |" in doc
    assert "| support | sales-data@example.com |" in doc
    assert "| SLA | fresh within PT2H, warn after PT90M |" in doc
    assert "| classification | `email`: pii, `name`: pii |" in doc
    assert "incremental (cursor `updated_at`)" in doc
    assert "`sales.customers` (mdm, keys id)" in doc


def test_rejected_intents_raise_one_import_error_naming_file_and_path(tmp_path):
    import pytest

    from airflow_provider_chimera.factory import report_rejected_intents
    from airflow_provider_chimera.factory.dags import RejectedIntentsError

    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    report_rejected_intents(tmp_path)  # nothing rejected: no error
    (tmp_path / "broken.json").write_text(json.dumps({"version": 1, "name": "broken"}))
    with pytest.raises(RejectedIntentsError, match=r"1 intent file\(s\) rejected") as raised:
        report_rejected_intents(tmp_path)
    assert f"{tmp_path / 'broken.json'}: /team: Field required" in str(raised.value)


def test_two_intents_writing_one_table_lose_only_those_pipelines(tmp_path):
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    other = json.loads((REPO / "intents" / "retail_shop.json").read_text())
    other["name"] = "retail_copy"
    other["sources"] = [other["sources"][0]]  # its customers object writes retail.customers too
    other["sources"][0]["objects"] = [other["sources"][0]["objects"][0]]
    (tmp_path / "retail_copy.json").write_text(json.dumps(other))
    found = discover(tmp_path)
    assert {p.id for p in found.pipelines} == SAMPLE_IDS - {"retail_shop_shop_files_customers"}
    messages = "\n".join(str(e) for e in found.errors)
    assert f"{tmp_path / 'retail_copy.json'}: /sources/0/objects/0/ingestion/target/table" in messages
    assert f"{tmp_path / 'retail_shop.json'}: /sources/0/objects/0/ingestion/target/table" in messages


def test_objects_added_since_the_onboarded_version_wait(tmp_path, monkeypatch):
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.manifest import write_onboarded

    intents = tmp_path / "intents"
    intents.mkdir()
    full = json.loads((REPO / "intents" / "retail_shop.json").read_text())
    onboarded = json.loads(json.dumps(full))
    onboarded["sources"] = [onboarded["sources"][0]]  # the database source came later
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    with open_registry() as registry, registry.session() as session:
        write_onboarded(session, "retail_shop", json.dumps(onboarded).encode())
    (intents / "retail_shop.json").write_text(json.dumps(full))
    found = discover(intents)  # as a DAG file does: the onboarded versions read at parse time
    assert {p.id for p in found.pipelines} == SAMPLE_IDS - {"retail_shop_shop_db_public_orders"}
    assert found.pending == [f"{intents / 'retail_shop.json'}: shop_db/public.orders: added since the onboarded version; waits for onboarding"]


def test_every_pipeline_dag_is_one_ingest_task(tmp_path, monkeypatch):
    """One task per run (decision 0068); the task checks onboarding first: a never-onboarded
    pipeline's run skips, with the reason, before it records or reads anything."""
    from airflow.sdk.exceptions import AirflowSkipException

    from airflow_provider_chimera.operators.ingest import IngestOperator

    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    dags = build_dags(REPO / "intents")
    for dag_id, dag in dags.items():
        assert dag.task_ids == ["ingest"]
        ingest = dag.get_task("ingest")
        assert isinstance(ingest, IngestOperator) and ingest.pipeline.id == dag_id
    ingest = next(iter(dags.values())).get_task("ingest")
    with pytest.raises(AirflowSkipException, match=f"pipeline {ingest.pipeline.id} waits for onboarding: intent retail_shop has not completed"):
        ingest.execute({"run_id": "manual__1"})
    from sqlalchemy import text

    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry, registry.session(read_only=True) as session:
        assert session.execute(text("select count(*) from runs")).scalar() == 0


def test_ingest_tasks_get_an_execution_timeout(tmp_path, monkeypatch):
    """Batch: ``[chimera] task_timeout_minutes`` (0: none); stream: ``stream_run_seconds`` plus 10 minutes."""
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    monkeypatch.delenv("AIRFLOW__CHIMERA__TASK_TIMEOUT_MINUTES", raising=False)
    monkeypatch.setenv("AIRFLOW__CHIMERA__STREAM_RUN_SECONDS", "300")
    dags = build_dags(tmp_path)
    timeouts = {dag_id: dag.get_task("ingest").execution_timeout for dag_id, dag in dags.items()}
    assert timeouts == {
        "sales_crm_crm_public_customers": timedelta(minutes=120),
        "sales_crm_crm_public_orders": timedelta(minutes=120),
        "sales_crm_contracts_signed": timedelta(minutes=120),
        "sales_crm_clicks_web_clicks": timedelta(seconds=300 + 600),  # the stream pipeline
    }
    monkeypatch.setenv("AIRFLOW__CHIMERA__TASK_TIMEOUT_MINUTES", "0")
    dags = build_dags(tmp_path)
    assert dags["sales_crm_crm_public_orders"].get_task("ingest").execution_timeout is None
    assert dags["sales_crm_clicks_web_clicks"].get_task("ingest").execution_timeout == timedelta(seconds=900)


def test_with_a_team_queue_every_task_goes_to_its_teams_queue(tmp_path, monkeypatch):
    """``[chimera] team_queue``: the Celery queue served by the team's own workers."""
    monkeypatch.setenv("AIRFLOW__CHIMERA__TEAM_QUEUE", "chimera_{team}")
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    dags = build_dags(tmp_path)
    queues = {dag_id.split("_")[0]: {task.queue for task in dag.tasks} for dag_id, dag in dags.items()}
    assert queues == {"sales": {"chimera_sales_analytics"}, "retail": {"chimera_retail_analytics"}}


def test_without_a_team_queue_tasks_stay_on_airflows_default_queue(tmp_path, monkeypatch):
    from airflow.configuration import conf

    monkeypatch.delenv("AIRFLOW__CHIMERA__TEAM_QUEUE", raising=False)
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dags = build_dags(tmp_path)
    assert {task.queue for dag in dags.values() for task in dag.tasks} == {conf.get("operators", "default_queue")}


def test_every_task_of_a_pipeline_alerts_its_team_when_it_fails_for_good():
    """The factory only sets the callback; what it does is governance/alerts.py's (test_alerts.py)."""
    from airflow.serialization.serialized_objects import DagSerialization

    from airflow_provider_chimera.operators.alerts import AlertOnFailure

    dag = build_dags(REPO / "intents")["retail_shop_shop_files_customers"]
    for task in dag.tasks:
        (callback,) = task.on_failure_callback
        assert isinstance(callback, AlertOnFailure) and callback.pipeline.id == dag.dag_id
        assert not task.on_retry_callback  # a try that will be retried tells no one
    serialized = DagSerialization.to_dict(dag)  # the callback does not get in the way of serialization
    assert all(t["__var"].get("has_on_failure_callback") for t in serialized["dag"]["tasks"])
