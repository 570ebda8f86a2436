"""Which runs need a rerun after a failure: found through Airflow's REST API, sized from the registry.

For each of Chimera's pipelines (the DAGs the intents folder builds) with no run queued or
running, since the given time:

- **every failed DAG run**, oldest first: the plan clears each run's failed task instances (the
  run keeps its id, logical date and data interval, so a ``partitioned`` run reloads exactly its
  window; the engine's exactly-once commits make the rerun safe);
- **missed scheduled runs** (the scheduler or its workers were down):

  - a timed ``partitioned`` pipeline: every interval of its schedule that ended between the given
    time and :data:`GRACE_S` ago and has no DAG run is created with its logical date and data
    interval (``POST /dags/{id}/dagRuns``), the interval ``[previous fire, fire)`` of its
    data-interval timetable (decision 0051), so each missed window is loaded by a run of its own;
  - any other timed pipeline: when its next scheduled run was due more than :data:`GRACE_S` ago,
    one run is created with that run's logical date: it continues from its own position, so one
    run catches up the whole outage.

Each run is an item of the plan with the pipeline's estimates
(:func:`~airflow_provider_chimera.recovery.estimates.estimate`); a pipeline's items run in date
order, each ``after`` the one before. A pipeline with a single item keeps the DAG id as the item's
id; with several, each is ``<dag id>@<logical date>``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal

from airflow_provider_chimera.contract.model import PartitionedMode, TimedTrigger
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.recovery.model import PipelineNeed

log = logging.getLogger(__name__)
GRACE_S = 120.0  # a scheduled run this late, with nothing queued, was missed
MAX_RUNS = 500  # failed or missed runs considered per pipeline (the oldest first)
Action = Literal["clear", "trigger"]


@dataclass(frozen=True)
class Recovery:
    """One run to recover: what it needs, and how to start it (clear a failed run or trigger one)."""

    need: PipelineNeed
    action: Action
    dag_run_id: str | None  # the failed run to clear; None for a trigger
    why: str
    dag_id: str | None = None  # the DAG; None: the item's id is the DAG id
    logical_date: dt.datetime | None = None  # of the run (a trigger creates it with this date)
    data_interval: tuple[dt.datetime, dt.datetime] | None = None  # a trigger's data interval

    @property
    def dag(self) -> str:
        return self.dag_id or self.need.id


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def find_recoveries(api, pipelines: list[Pipeline], since: dt.datetime, session, now: dt.datetime | None = None) -> list[Recovery]:
    """The runs the pipelines need since ``since`` (UTC): by pipeline in the pipelines' order, each
    pipeline's in date order."""
    from airflow_provider_chimera.recovery.estimates import estimate

    now = now or dt.datetime.now(dt.UTC)
    sizes = estimate(session, [p.id for p in pipelines])
    found: list[Recovery] = []
    for pipeline in pipelines:
        dag = _dag(api, pipeline.id)
        if dag is None:
            continue  # not parsed by Airflow (yet): nothing to recover
        runs = api.get(f"/dags/{pipeline.id}/dagRuns", order_by="run_after", limit=MAX_RUNS, run_after_gte=since.isoformat())["dag_runs"]
        if any(r["state"] in ("queued", "running") for r in runs):
            continue  # being run now: recover it once that run has ended
        size = sizes[pipeline.id]
        need = PipelineNeed(id=pipeline.id, team=pipeline.team.name, priority=pipeline.ingestion.priority,
                            cpu=size.cpu, memory_gib=size.memory_gib, duration_s=size.duration_s)
        items = [
            Recovery(need, "clear", r["dag_run_id"], f"run {r['dag_run_id']} failed", pipeline.id, _when(r.get("logical_date")))
            for r in runs if r["state"] == "failed"
        ]
        if not dag.get("is_paused"):
            items += _missed(pipeline, dag, runs, need, since, now - dt.timedelta(seconds=GRACE_S))
        found += _in_date_order(items[:MAX_RUNS])
    return found


def _missed(pipeline: Pipeline, dag: dict, runs: list[dict], need: PipelineNeed, since: dt.datetime, cutoff: dt.datetime) -> list[Recovery]:
    from airflow_provider_chimera.pipelines.resources import source_system

    trigger = pipeline.ingestion.trigger
    if not isinstance(trigger, TimedTrigger):
        return []
    if isinstance(pipeline.ingestion.mode, PartitionedMode):
        taken = {_when(r.get("logical_date")) for r in runs}
        return [
            Recovery(need, "trigger", None, f"missed its run for {start.isoformat()} – {end.isoformat()} ({source_system(pipeline)})",
                     pipeline.id, start, (start, end))
            for start, end in intervals(trigger.schedule, dag, since, cutoff) if start not in taken
        ]
    due = _when(dag.get("next_dagrun_run_after"))
    if due and since <= due <= cutoff:
        return [Recovery(need, "trigger", None, f"missed its run due {due.isoformat(timespec='seconds')} ({source_system(pipeline)})",
                         pipeline.id, _when(dag.get("next_dagrun_logical_date")))]
    return []


def intervals(schedule: str, dag: dict, since: dt.datetime, cutoff: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The data intervals ``[start, end)`` of ``schedule`` (a cron expression or preset, in UTC, or
    an ISO-8601 duration) that end between ``since`` and ``cutoff``, oldest first (at most
    :data:`MAX_RUNS`). A duration's intervals are aligned on the DAG's next interval as Airflow
    reports it (``next_dagrun_data_interval_start``/``_end``)."""
    found: list[tuple[dt.datetime, dt.datetime]] = []
    if schedule.startswith("P"):
        anchor, anchor_end = _when(dag.get("next_dagrun_data_interval_start")), _when(dag.get("next_dagrun_data_interval_end"))
        if anchor is None or anchor_end is None or anchor_end <= anchor:
            return []
        step = anchor_end - anchor
        start = anchor
        while start >= since:  # back to the first interval ending at or after since
            start -= step
        while start + step < since:
            start += step
        while start + step <= cutoff and len(found) < MAX_RUNS:
            found.append((start, start + step))
            start += step
        return found
    from croniter import croniter

    fires = croniter(schedule, since.astimezone(dt.UTC) - dt.timedelta(microseconds=1))
    end = fires.get_next(dt.datetime)
    start = croniter(schedule, end).get_prev(dt.datetime)
    while end <= cutoff and len(found) < MAX_RUNS:
        found.append((start, end))
        start, end = end, fires.get_next(dt.datetime)
    return found


def _in_date_order(items: list[Recovery]) -> list[Recovery]:
    """``items`` of one pipeline, oldest first, each after the one before; ids ``<dag>@<date>`` when several."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items = sorted(items, key=lambda r: (r.logical_date or far, r.dag_run_id or ""))
    if len(items) <= 1:
        return items
    ordered: list[Recovery] = []
    for index, item in enumerate(items):
        label = item.logical_date.isoformat() if item.logical_date else item.dag_run_id or str(index)
        need = item.need.model_copy(update={"id": f"{item.dag}@{label}", "after": ordered[-1].need.id if ordered else None})
        ordered.append(Recovery(need, item.action, item.dag_run_id, item.why, item.dag, item.logical_date, item.data_interval))
    return ordered


def _dag(api, dag_id: str) -> dict | None:
    """The DAG as Airflow's REST API describes it; ``None`` when Airflow does not know it."""
    from airflow_provider_chimera.airflow_api import AirflowApiError

    try:
        return api.get(f"/dags/{dag_id}")
    except AirflowApiError as exc:
        if exc.status == 404:
            return None
        raise
