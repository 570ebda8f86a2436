"""Which pipelines need a run after a failure: found through Airflow's REST API, sized from the registry.

A pipeline needs recovery when, since the given time,

- its latest DAG run **failed**: the plan clears that run's failed task instances (the run keeps
  its id and logical date; the engine's exactly-once commits make the rerun safe), or
- it **missed its schedule**: it is not paused, its next scheduled run was due more than
  :data:`GRACE_S` ago and no run of it is queued or running (the scheduler or its workers were
  down): the plan triggers a run.

Only Chimera's pipelines (the DAGs the intents folder builds) are considered; each is sized by
:func:`~airflow_provider_chimera.recovery.estimates.estimate` from its recent runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.recovery.model import PipelineNeed

GRACE_S = 120.0  # a scheduled run this late, with nothing queued, was missed
Action = Literal["clear", "trigger"]


@dataclass(frozen=True)
class Recovery:
    """One pipeline to recover: what it needs, and how to start it (clear a failed run or trigger one)."""

    need: PipelineNeed
    action: Action
    dag_run_id: str | None  # the failed run to clear; None for a trigger
    why: str


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def find_recoveries(api, pipelines: list[Pipeline], since: dt.datetime, session, now: dt.datetime | None = None) -> list[Recovery]:
    """The recoveries the pipelines need since ``since`` (UTC), in the pipelines' order."""
    from airflow_provider_chimera.pipelines.resources import source_system
    from airflow_provider_chimera.recovery.estimates import estimate

    now = now or dt.datetime.now(dt.UTC)
    sizes = estimate(session, [p.id for p in pipelines])
    found: list[Recovery] = []
    for pipeline in pipelines:
        dag = _dag(api, pipeline.id)
        if dag is None:
            continue  # not parsed by Airflow (yet): nothing to recover
        runs = api.get(f"/dags/{pipeline.id}/dagRuns", order_by="-run_after", limit=20, run_after_gte=since.isoformat())["dag_runs"]
        size = sizes[pipeline.id]
        need = PipelineNeed(id=pipeline.id, team=pipeline.team.name, priority=pipeline.ingestion.priority,
                            cpu=size.cpu, memory_gib=size.memory_gib, duration_s=size.duration_s)
        active = [r for r in runs if r["state"] in ("queued", "running")]
        if runs and runs[0]["state"] == "failed" and not active:
            found.append(Recovery(need, "clear", runs[0]["dag_run_id"], f"run {runs[0]['dag_run_id']} failed"))
            continue
        due = _when(dag.get("next_dagrun_run_after"))
        if not dag.get("is_paused") and due and since <= due <= now - dt.timedelta(seconds=GRACE_S) and not active:
            found.append(Recovery(need, "trigger", None, f"missed its run due {due.isoformat(timespec='seconds')} ({source_system(pipeline)})"))
    return found


def _dag(api, dag_id: str) -> dict | None:
    """The DAG as Airflow's REST API describes it; ``None`` when Airflow does not know it."""
    from airflow_provider_chimera.airflow_api import AirflowApiError

    try:
        return api.get(f"/dags/{dag_id}")
    except AirflowApiError as exc:
        if exc.status == 404:
            return None
        raise
