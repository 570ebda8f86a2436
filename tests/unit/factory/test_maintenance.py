"""Chimera's own DAGs: chimera_maintenance has one task per target table, daily, in its own pool."""

from __future__ import annotations

import shutil
from pathlib import Path

from airflow_provider_chimera.factory.maintenance import TABLE_MAINTENANCE, build_maintenance_dags, build_table_maintenance_dag
from airflow_provider_chimera.pipelines.resources import MAINTENANCE_POOL, maintenance_pool

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "intents"


def test_the_maintenance_dag_has_one_task_per_table_in_its_own_pool(tmp_path):
    shutil.copy(FIXTURES / "sales_crm.json", tmp_path)
    dag = build_table_maintenance_dag(tmp_path)

    assert dag.dag_id == TABLE_MAINTENANCE == "chimera_maintenance"
    assert dag.schedule == "@daily"
    assert (dag.catchup, dag.is_paused_upon_creation, dag.max_active_runs) == (False, False, 1)
    assert dag.tags == {"chimera"}
    assert sorted(dag.task_ids) == [
        "sales_crm_clicks_web_clicks",
        "sales_crm_contracts_signed",
        "sales_crm_crm_public_customers",
        "sales_crm_crm_public_orders",
    ]
    assert {task.pool for task in dag.tasks} == {MAINTENANCE_POOL} == {"chimera__maintenance"}
    assert all(not task.upstream_task_ids for task in dag.tasks)  # one broken table stops no other
    task = dag.get_task("sales_crm_crm_public_orders")
    assert task.pipeline.target_table == "sales.orders"


def test_the_maintenance_dag_is_built_with_the_registry_sync(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path))
    dags = build_maintenance_dags()
    assert {"chimera_registry_sync", "chimera_maintenance", "chimera_metadata"} <= set(dags)
    assert dags["chimera_maintenance"].task_ids == []  # no intents, no tables


def test_the_metadata_dag_writes_datahub_lite_on_its_schedule(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CHIMERA__DATAHUB_LITE_WRITE_SCHEDULE", "*/2 * * * *")
    dag = build_maintenance_dags()["chimera_metadata"]
    assert (dag.task_ids, dag.max_active_runs) == (["write"], 1)
    assert dag.timetable.expression == "*/2 * * * *"


def test_the_maintenance_pool_is_sized_from_its_setting():
    pool = maintenance_pool(3)
    assert (pool.name, pool.slots) == ("chimera__maintenance", 3)
    assert maintenance_pool(0).slots == 1
