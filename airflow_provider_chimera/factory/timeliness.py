"""The ``chimera_timeliness`` DAG: every five minutes, each pipeline's SLA state."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

TIMELINESS = "chimera_timeliness"
SCHEDULE = "*/5 * * * *"


def build_timeliness_dags() -> dict[str, DAG]:
    """The DAG, built without any I/O (the pipelines and their SLAs are read when it runs)."""
    from airflow_provider_chimera.operators.timeliness import TimelinessOperator

    with DAG(
        dag_id=TIMELINESS,
        schedule=SCHEDULE,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["chimera"],
        doc_md=(
            "Checks every five minutes whether each pipeline with an `sla` is **on time**, in "
            "**early warning** (its last published snapshot is older than `warn_after`) or **late** "
            "(older than `fresh_within`). States are kept in Chimera's registry (`chimera status`); "
            "each change is audited, mailed to the team's `support_email` through the `[chimera] "
            "smtp_conn_id` connection and published as a `chimera.sla.changed` event on the "
            "`[chimera] events_topic` Kafka topic."
        ),
        default_args={"owner": "chimera", "retries": 1, "retry_delay": timedelta(minutes=1)},
    ) as dag:
        TimelinessOperator(task_id="check", execution_timeout=timedelta(minutes=4))
    return {TIMELINESS: dag}
