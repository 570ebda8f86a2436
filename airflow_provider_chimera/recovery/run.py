"""A recovery from start to end, as ``chimera recover --since`` and the ``chimera_recovery`` DAG run it:
find what needs a run, plan it within ``[chimera] recovery_cpu`` / ``recovery_memory_gib``, and
(unless a dry run) carry the plan out through Airflow, auditing each decision.

A recovery started from the UI's recovery page is restricted to the pipelines of the plan the
user previewed (``pipelines``): only those of them that still need a run are recovered, so the
list can shrink between preview and run but never grow; the user who asked (``requested_by``) is
written into every audit entry of that recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

from airflow_provider_chimera.recovery.execute import Outcome, carry_out
from airflow_provider_chimera.recovery.model import Budget, Plan, Scenario, Team
from airflow_provider_chimera.recovery.needs import Recovery, find_recoveries
from airflow_provider_chimera.recovery.planner import plan as make_plan
from airflow_provider_chimera.settings import ChimeraSettings


@dataclass
class RecoveryReport:
    since: dt.datetime
    recoveries: list[Recovery]
    plan: Plan
    budget: Budget
    outcome: Outcome | None  # None for a dry run


def report_json(report: RecoveryReport) -> dict:
    """The document ``chimera recover --since --format json`` prints (and the UI's recovery preview
    answers): the plan and, when it was carried out, its waves and runs."""
    document = report.plan.model_dump(mode="json")
    if report.outcome is not None:
        document.update(waves=report.outcome.waves, runs=report.outcome.runs)
    return document


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    """``2026-11-25T08:00`` (UTC unless an offset is given) or a span back from now: ``6h``, ``90m``, ``2d``."""
    now = now or dt.datetime.now(dt.UTC)
    text = value.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return now - dt.timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {value!r}: give a time (2026-11-25T08:00, UTC unless an offset is given) or a span back from now (6h, 90m, 2d)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def recover(since: dt.datetime, settings: ChimeraSettings, *, dry_run: bool, actor: str | None, api=None, poll_s: float = 2.0,
            teams: dict[str, Team] | None = None, on_plan: Callable[[RecoveryReport], None] | None = None,
            pipelines: Collection[str] | None = None, requested_by: str | None = None) -> RecoveryReport:
    """Find, plan and (unless ``dry_run``) carry out; ``on_plan`` sees the plan before anything starts.
    ``pipelines`` (pipeline ids, i.e. DAG ids), when given, is the most that is recovered: the
    pipelines of that list that need a run since ``since``, no other. ``requested_by`` (the person
    who asked for the recovery) goes into the details of each of its audit entries."""
    from airflow_provider_chimera.airflow_api import AirflowApi
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.registry.db import open_registry

    registry = open_registry(settings)
    own_api = api is None
    api = api or AirflowApi.from_settings(settings.airflow_api_conn_id)
    try:
        found = restrict(discover(settings.intents_dir).pipelines, pipelines)
        with registry.session() as session:
            recoveries = find_recoveries(api, found, since, session)
        budget = Budget(cpu=settings.recovery_cpu, memory_gib=settings.recovery_memory_gib)
        plan = make_plan(Scenario(budget=budget, teams=teams or {}, pipelines=[r.need for r in recoveries]))

        asked = {} if requested_by is None else {"requested_by": requested_by}

        def audit(action: str, details: dict) -> None:
            record(registry, actor, action, details={**details, **asked})

        audit("recovery.planned", {
            **({} if pipelines is None else {"restricted_to": sorted(set(pipelines))}),
            "since": since.isoformat(), "dry_run": dry_run, "budget": budget.model_dump(),
            "pipelines": [{"id": r.need.id, "dag_id": r.dag, "action": r.action, "why": r.why,
                           "logical_date": r.logical_date.isoformat() if r.logical_date else None} for r in recoveries],
            "makespan_s": plan.makespan_s, "lower_bound_s": plan.lower_bound_s,
        })
        report = RecoveryReport(since, recoveries, plan, budget, None)
        if on_plan is not None:
            on_plan(report)
        if not dry_run and recoveries:
            report.outcome = carry_out(api, recoveries, budget, teams, audit=audit, poll_s=poll_s)
        return report
    finally:
        if own_api:
            api.close()
        registry.close()


def restrict(found: list, pipelines: Collection[str] | None) -> list:
    """``found`` (discovered pipelines) limited to the ids in ``pipelines``; all of them for ``None``.
    An id in ``pipelines`` that is not a discovered pipeline adds nothing."""
    if pipelines is None:
        return found
    allowed = set(pipelines)
    return [p for p in found if p.id in allowed]
