"""Carrying a recovery plan out through Airflow, wave by wave.

Each wave starts the plan's runs whose planned start is now (clearing a failed run's task
instances, or creating a missed run with its logical date, through the REST API), then waits until a started run finishes
and plans the rest again from that moment: the pipelines still running hold their estimated
resources for their remaining time, finished ones have freed theirs after their real duration.
So a run longer or shorter than its estimate moves the rest of the plan, and the budget holds on
the estimates at every instant. Every decision is audited (``recovery.*``) with its reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_chimera.recovery.cluster import Running
from airflow_provider_chimera.recovery.model import Budget, Scenario, Team
from airflow_provider_chimera.recovery.needs import Recovery
from airflow_provider_chimera.recovery.planner import replan

log = logging.getLogger(__name__)
FINISHED = ("success", "failed")
NOW_S = 1e-6  # a planned start this close to now starts in this wave


@dataclass
class Started:
    recovery: Recovery
    dag_run_id: str
    at: float  # monotonic seconds
    wave: int


@dataclass
class Outcome:
    """What the recovery did: each pipeline's run, wave, end state and real duration."""

    runs: list[dict] = field(default_factory=list)
    waves: int = 0


def start(api, recovery: Recovery) -> str:
    """Start ``recovery`` in Airflow; the DAG run id it runs as. A missed run is created with its
    logical date and, for a ``partitioned`` pipeline, its data interval (REST API v2
    ``POST /dags/{dag_id}/dagRuns``), as the scheduler would have created it."""
    dag_id = recovery.dag
    if recovery.action == "clear":
        return _clear(api, dag_id, recovery.dag_run_id)
    body = {"logical_date": recovery.logical_date.isoformat() if recovery.logical_date else None, "note": "chimera recovery"}
    if recovery.data_interval is not None:
        body.update(data_interval_start=recovery.data_interval[0].isoformat(), data_interval_end=recovery.data_interval[1].isoformat())
    from airflow_provider_chimera.airflow_api import AirflowApiError

    try:
        run = api.post(f"/dags/{dag_id}/dagRuns", body)
    except AirflowApiError as exc:
        if exc.status != 409 or recovery.logical_date is None:
            raise
        return _existing(api, recovery)
    return run["dag_run_id"]


def _existing(api, recovery: Recovery) -> str:
    """The run Airflow already has at ``recovery``'s logical date (the scheduler, or an operator,
    created the missed run after the plan was made: Airflow answers 409): cleared if it failed,
    followed as it is otherwise."""
    from airflow_provider_chimera.airflow_api import AirflowApiError

    when = recovery.logical_date.isoformat()
    runs = api.get(f"/dags/{recovery.dag}/dagRuns", logical_date_gte=when, logical_date_lte=when, limit=1)["dag_runs"]
    if not runs:
        raise AirflowApiError(f"Airflow API: DAG {recovery.dag} has a run at {when} (HTTP 409) that it does not list")
    run = runs[0]
    return _clear(api, recovery.dag, run["dag_run_id"]) if run["state"] == "failed" else run["dag_run_id"]


def _clear(api, dag_id: str, dag_run_id: str) -> str:
    """Clear the failed tasks of run ``dag_run_id`` so that it runs again with its own dates; its id."""
    api.post(f"/dags/{dag_id}/clearTaskInstances", {
        "dry_run": False, "dag_run_id": dag_run_id, "only_failed": True, "reset_dag_runs": True,
    })
    return dag_run_id


def carry_out(
    api,
    recoveries: list[Recovery],
    budget: Budget,
    teams: dict[str, Team] | None = None,
    *,
    audit: Callable[[str, dict], None] = lambda action, details: None,
    poll_s: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Run ``recoveries`` within ``budget``, re-planning after each finished run (see the module doc)."""
    pending = {r.need.id: r for r in recoveries}
    running: dict[str, Started] = {}
    outcome = Outcome()
    while pending or running:
        now = clock()
        for item, started in list(running.items()):
            dag_id = started.recovery.dag
            state = api.get(f"/dags/{dag_id}/dagRuns/{started.dag_run_id}")["state"]
            if state in FINISHED:
                del running[item]
                duration = round(now - started.at, 3)
                outcome.runs.append({"id": item, "dag_id": dag_id, "dag_run_id": started.dag_run_id, "wave": started.wave, "state": state, "duration_s": duration})
                log.info("recovery: %s %s after %.0f s", item, state, duration)
                audit("recovery.finished", {"pipeline": item, "dag_id": dag_id, "dag_run_id": started.dag_run_id, "state": state, "duration_s": duration})
        if pending:
            # A run past its estimate is assumed to end by the next poll: it holds its resources until then.
            held = [Running(s.recovery.need, max(s.recovery.need.duration_s - (now - s.at), poll_s)) for s in running.values()]
            scenario = Scenario(budget=budget, teams=teams or {}, pipelines=[r.need for r in pending.values()])
            plan = replan(scenario, held)
            starting = [entry for entry in plan.plan if entry.start_s <= NOW_S]
            if starting:
                outcome.waves += 1
                audit("recovery.wave", {"wave": outcome.waves, "starting": [e.id for e in starting],
                                        "running": sorted(running), "makespan_s": plan.makespan_s, "lower_bound_s": plan.lower_bound_s})
            for entry in starting:
                recovery = pending.pop(entry.id)
                released_at = dt.datetime.now(dt.UTC).isoformat()
                dag_run_id = start(api, recovery)
                running[entry.id] = Started(recovery, dag_run_id, clock(), outcome.waves)
                log.info("recovery wave %d: %s (%s): %s", outcome.waves, entry.id, recovery.action, entry.reason)
                audit("recovery.started", {"pipeline": entry.id, "dag_id": recovery.dag, "action": recovery.action, "dag_run_id": dag_run_id,
                                           "logical_date": recovery.logical_date.isoformat() if recovery.logical_date else None, "released_at": released_at,
                                           "wave": outcome.waves, "why_needed": recovery.why, "reason": entry.reason,
                                           "cpu": recovery.need.cpu, "memory_gib": recovery.need.memory_gib,
                                           "expected_s": recovery.need.duration_s})
        if running:
            sleep(poll_s)
    return outcome
