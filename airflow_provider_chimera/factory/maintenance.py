"""Chimera's own DAGs, beside the pipelines: ``chimera_registry_sync``."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

REGISTRY_SYNC = "chimera_registry_sync"


def build_maintenance_dags() -> dict[str, DAG]:
    from airflow_provider_chimera.operators.registry import RegistrySyncOperator

    with DAG(
        dag_id=REGISTRY_SYNC,
        schedule="*/5 * * * *",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["chimera"],
        doc_md=(
            "Records the intents folder in Chimera's registry every five minutes: new intent versions, "
            "and each factory decision (pipeline created, retired, pending onboarding, intent rejected) "
            "in the audit log (`chimera audit`). Parsing DAG files never touches a database, so this is "
            "where those decisions are written."
        ),
        default_args={"owner": "chimera", "retries": 1, "retry_delay": timedelta(minutes=1)},
    ) as dag:
        RegistrySyncOperator(task_id="sync")
    return {REGISTRY_SYNC: dag}
