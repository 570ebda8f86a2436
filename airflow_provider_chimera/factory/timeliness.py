"""The ``chimera_timeliness`` DAG: every five minutes, each pipeline's SLA state."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_chimera.factory.own import chimera_dag

TIMELINESS = "chimera_timeliness"
SCHEDULE = "*/5 * * * *"


def build_timeliness_dags() -> dict[str, DAG]:
    """The DAG, built without any I/O (the pipelines and their SLAs are read when it runs)."""
    from airflow_provider_chimera.operators.timeliness import TimelinessOperator

    with chimera_dag(
        TIMELINESS,
        SCHEDULE,
        retry_delay=timedelta(minutes=1),
        doc_md=(
            "Checks every five minutes whether each pipeline with an `sla` is **on time**, in "
            "**early warning** (its last published snapshot is older than `warn_after`) or **late** "
            "(older than `fresh_within`). States are kept in Chimera's registry (`chimera status`); "
            "each change is audited, mailed to the team's `support_email` through the `[chimera] "
            "smtp_conn_id` connection and published as a `chimera.sla.changed` event on the "
            "`[chimera] events_topic` Kafka topic."
        ),
    ) as dag:
        TimelinessOperator(task_id="check", execution_timeout=timedelta(minutes=4))
    return {TIMELINESS: dag}
