"""The onboarding DAGs, the registry sync's asset alias, and the check that holds an ingest run until onboarding completed."""

from __future__ import annotations

import logging

import itertools
import json
import shutil
from pathlib import Path

import pytest

from airflow_provider_chimera.factory.onboarding import build_onboarding_dags
from airflow_provider_chimera.operators.registry import INTENTS_ALIAS, intent_asset
from airflow_provider_chimera.onboarding.workflow import STEPS

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "intents"


def test_one_onboarding_dag_per_valid_intent_with_a_task_per_step_in_order(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    shutil.copy(REPO / "intents" / "retail_shop.json", tmp_path)
    (tmp_path / "broken.json").write_text(json.dumps({"name": "broken"}))

    dags = build_onboarding_dags(tmp_path)

    assert sorted(dags) == ["chimera_onboard__retail_shop", "chimera_onboard__sales_crm"]
    dag = dags["chimera_onboard__sales_crm"]
    assert dag.task_ids == list(STEPS)
    for before, after in itertools.pairwise(STEPS):
        assert dag.get_task(before).downstream_task_ids == {after}
    assert not dag.get_task(STEPS[0]).upstream_task_ids
    assert {(t.step, t.intent_file, t.retries) for t in dag.tasks} == {(s, str(tmp_path / "sales_crm.json"), 0) for s in STEPS}
    assert (dag.catchup, dag.is_paused_upon_creation, dag.max_active_runs) == (False, False, 1)
    assert dag.owner == "sales-analytics"


def test_the_onboarding_dag_is_scheduled_on_its_intent_asset(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dag = build_onboarding_dags(tmp_path)["chimera_onboard__sales_crm"]

    (asset,) = dag.schedule
    assert (asset.name, asset.uri, asset.group) == ("chimera-intent://sales_crm", "chimera-intent://sales_crm/", "chimera-intent")
    assert intent_asset("sales_crm") == asset


def test_the_registry_sync_task_emits_through_the_intents_alias():
    from airflow.sdk import AssetAlias

    from airflow_provider_chimera.factory.maintenance import (
        REGISTRY_SYNC,
        build_maintenance_dags,
    )

    task = build_maintenance_dags()[REGISTRY_SYNC].get_task("sync")
    assert task.outlets == [AssetAlias(name=INTENTS_ALIAS, group="chimera-intent")]


def test_an_ingest_run_skips_with_the_reason_until_onboarding_completed(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from airflow_provider_chimera.onboarding.state import save_state
    from airflow_provider_chimera.operators.onboarding import skip_until_onboarded

    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    log = logging.getLogger("test")

    with pytest.raises(AirflowSkipException) as skipped:
        skip_until_onboarded("shop", "shop_files_customers", log)
    assert str(skipped.value) == (
        "pipeline shop_files_customers waits for onboarding: intent shop has not completed onboarding yet. "
        "It runs on its next trigger once DAG chimera_onboard__shop (or `chimera onboard`) has completed."
    )

    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry, registry.session() as session:
        save_state(session, "shop", {"completed": {"hash": "a" * 64, "pipelines": ["shop_files_customers"]}})
    assert skip_until_onboarded("shop", "shop_files_customers", log) is None


def test_the_sync_task_emits_an_event_for_each_intent_waiting_for_onboarding(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from airflow.sdk import AssetAlias
    from airflow.sdk.execution_time.context import OutletEventAccessors

    from airflow_provider_chimera.operators.registry import intents_alias
    from airflow_provider_chimera.operators.registry import RegistrySyncOperator

    intents = tmp_path / "intents"
    intents.mkdir()
    shutil.copy(FIXTURES / "sales_crm.json", intents)
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(intents))
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("AIRFLOW__CHIMERA__STATE_DIR", str(tmp_path / "state"))
    # The pools go through the api-server, which a unit test has not: the e2e tests cover that call.
    monkeypatch.setattr(RegistrySyncOperator, "sync_pools", lambda self, settings: {"pools_created": 0})
    task = RegistrySyncOperator(task_id="sync", outlets=[intents_alias()])
    events = OutletEventAccessors()
    context = {"dag": SimpleNamespace(dag_id="chimera_registry_sync"), "run_id": "scheduled__1", "outlet_events": events}

    counts = task.execute(context)

    assert counts["onboarding_requested"] == 1
    (event,) = events[AssetAlias(name=INTENTS_ALIAS)].asset_alias_events
    assert (event.source_alias_name, event.dest_asset_key.name, event.dest_asset_key.uri) == (
        INTENTS_ALIAS, "chimera-intent://sales_crm", "chimera-intent://sales_crm/"
    )
    digest = __import__("hashlib").sha256((intents / "sales_crm.json").read_bytes()).hexdigest()
    assert event.extra == {"intent": "sales_crm", "intent_hash": digest}


def test_onboarding_steps_run_on_the_teams_queue(tmp_path, monkeypatch):
    from airflow.configuration import conf

    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    monkeypatch.setenv("AIRFLOW__CHIMERA__TEAM_QUEUE", "chimera_{team}")
    dag = build_onboarding_dags(tmp_path)["chimera_onboard__sales_crm"]
    assert {task.queue for task in dag.tasks} == {"chimera_sales_analytics"}
    monkeypatch.setenv("AIRFLOW__CHIMERA__TEAM_QUEUE", "")
    dag = build_onboarding_dags(tmp_path)["chimera_onboard__sales_crm"]
    assert {task.queue for task in dag.tasks} == {conf.get("operators", "default_queue")}


def test_the_onboarding_dags_first_task_runs_the_preflight_before_any_other_step(tmp_path, monkeypatch):
    """Built as the scheduler builds it: the DAG's first task fails naming every preflight problem."""
    from types import SimpleNamespace

    from airflow_provider_chimera.onboarding.workflow import OnboardingFailed

    intents = tmp_path / "intents"
    intents.mkdir()
    shutil.copy(FIXTURES / "sales_crm.json", intents)
    for option, value in {
        "INTENTS_DIR": str(intents),
        "SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'registry.db'}",
        "WAREHOUSE": str(tmp_path / "warehouse"),
        "EVENTS_KAFKA_CONN_ID": "qa_dag_no_events",
        "SMTP_CONN_ID": "qa_dag_no_smtp",
        "PII_KEY_SECRET": "",
    }.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", value)
    dag = build_onboarding_dags(intents)["chimera_onboard__sales_crm"]
    (first,) = [task for task in dag.tasks if not task.upstream_task_ids]

    with pytest.raises(OnboardingFailed) as failed:
        first.execute({"dag": SimpleNamespace(dag_id=dag.dag_id), "run_id": "manual__preflight"})

    assert (first.task_id, failed.value.step) == ("validate", "validate")
    assert failed.value.reason.startswith(
        "event connection: connection 'qa_dag_no_events' is not defined ([chimera] events_kafka_conn_id)"
    )
    assert "; policy key: [chimera] pii_key_secret is not set; columns public.customers.email (pii: keyed_hash)" in failed.value.reason
    assert "clear task validate of DAG chimera_onboard__sales_crm" in failed.value.retry
