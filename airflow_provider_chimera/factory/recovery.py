"""The ``chimera_recovery`` DAG: triggered by a person (or the REST API) after an outage."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, Param

from airflow_provider_chimera.factory.own import chimera_dag

RECOVERY = "chimera_recovery"
DOC = (
    "Recovers, after an outage, every pipeline whose latest run failed or that missed its schedule "
    "since `since` (a time, or a span back from now such as `6h`): the plan keeps the running "
    "pipelines within `[chimera] recovery_cpu` and `recovery_memory_gib`, shares them fairly between "
    "teams, runs critical pipelines first within a team, and finishes as many pipelines as early as "
    "it can (docs/recovery.md). It is carried out wave by wave through Airflow's REST API (failed "
    "runs cleared, missed ones triggered) and re-planned as runs finish. `dry_run` only plans; "
    "`pipelines` restricts it to those pipelines (the UI's recovery page passes the plan it showed). Each "
    "decision is audited (`chimera audit --action 'recovery.*'`). The same as `chimera recover --since`."
)
PARAMS = {
    "since": Param("24h", type="string", description="A time (2026-11-25T08:00, UTC) or a span back from now (6h, 90m, 2d)."),
    "dry_run": Param(False, type="boolean", description="Only plan; start nothing."),
    "pipelines": Param(None, type=["null", "array"], items={"type": "string"},
                       description="Only these pipelines (DAG ids), of those that need a run; null (the default): every pipeline that needs one. "
                                   "The UI's recovery page passes the plan the user previewed, so the run can never grow past it."),
    "requested_by": Param(None, type=["null", "string"], description="Who asked for the recovery (the UI passes its user); written into each audit entry."),
}


def build_recovery_dags() -> dict[str, DAG]:
    """Manual only (no schedule), no retries: a recovery that failed is looked at, not repeated."""
    from airflow_provider_chimera.operators.recovery import RecoveryOperator

    dag = chimera_dag(RECOVERY, None, DOC, timedelta(minutes=1), params=PARAMS, retries=0)
    RecoveryOperator(task_id="recover", dag=dag)
    return {RECOVERY: dag}
