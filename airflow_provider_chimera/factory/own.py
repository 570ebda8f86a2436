"""The settings every one of Chimera's own DAGs shares (registry sync, maintenance, timeliness)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG


def chimera_dag(dag_id: str, schedule: str | None, doc_md: str, retry_delay: timedelta, params: dict | None = None, **default_args: Any) -> DAG:
    """One of Chimera's own DAGs: unpaused when created, no catch-up, one run at a time, owned
    by ``chimera`` and retried once after ``retry_delay``; ``default_args`` add to the task defaults."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        params=params,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["chimera"],
        doc_md=doc_md,
        default_args={"owner": "chimera", "retries": 1, "retry_delay": retry_delay, **default_args},
    )
