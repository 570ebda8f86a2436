"""``chimera report``'s figures: per pipeline runs, rows, bytes, DQ pass rate, SLA state, CPU-seconds.

Everything comes from the registry: the ``runs`` table (one row per DAG run and pipeline), the
``check_results`` of the quality gate (a check passes with outcome ``passed``; ``failed`` and
``error`` count against the rate) and ``sla_status`` (the timeliness DAG's current state). A figure
nobody recorded is ``None`` (shown as "—"), never an error. A pipeline is reported when it is active
or when it ran in the period; ``since`` bounds the runs (by start, else end) and the checks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from airflow_provider_chimera.registry.models import (
    CheckResultRow,
    IntentRow,
    PipelineRow,
    RunRow,
    SlaStatusRow,
    TeamRow,
)


@dataclass(frozen=True)
class RunPoint:
    """One run, as the chart draws it."""

    run_id: str
    state: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    rows: int | None
    duration_seconds: float | None

    @property
    def at(self) -> dt.datetime | None:
        return self.started_at or self.ended_at


@dataclass
class PipelineReport:
    pipeline: str
    team: str | None
    intent: str | None
    target_table: str
    status: str
    runs: int = 0
    succeeded: int = 0
    failed: int = 0
    rows: int | None = None
    rows_read: int | None = None
    bytes_written: int | None = None
    cpu_seconds: float | None = None
    mean_duration_seconds: float | None = None
    dq_checks: int = 0
    dq_passed: int = 0
    sla_state: str | None = None
    last_run_at: dt.datetime | None = None
    points: list[RunPoint] = field(default_factory=list)

    @property
    def dq_pass_rate(self) -> float | None:
        """Passed checks over all checks of the period; ``None`` without any check."""
        return self.dq_passed / self.dq_checks if self.dq_checks else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("points")
        data["dq_pass_rate"] = self.dq_pass_rate
        data["last_run_at"] = _iso(self.last_run_at)
        data["series"] = [
            {
                "run_id": p.run_id,
                "state": p.state,
                "started_at": _iso(p.started_at),
                "ended_at": _iso(p.ended_at),
                "rows": p.rows,
                "duration_seconds": p.duration_seconds,
            }
            for p in self.points
        ]
        return data


def collect(session: Session, team: str | None = None, since: dt.datetime | None = None) -> list[PipelineReport]:
    """The report's rows, by team then pipeline id; ``team`` by its name, ``since`` time-zone aware."""
    query = (
        select(PipelineRow, IntentRow.name, TeamRow.name, SlaStatusRow.state)
        .join(IntentRow, IntentRow.id == PipelineRow.intent_id)
        .outerjoin(TeamRow, TeamRow.id == IntentRow.team_id)
        .outerjoin(SlaStatusRow, SlaStatusRow.pipeline_id == PipelineRow.pipeline_id)
    )
    if team:
        query = query.where(TeamRow.name == team)
    reports = {
        pipeline.pipeline_id: PipelineReport(
            pipeline=pipeline.pipeline_id,
            team=team_name,
            intent=intent_name,
            target_table=pipeline.target_table,
            status=pipeline.status,
            sla_state=sla_state,
        )
        for pipeline, intent_name, team_name, sla_state in session.execute(query)
    }
    if not reports:
        return []
    runs = select(RunRow).where(RunRow.pipeline_id.in_(reports)).order_by(RunRow.started_at, RunRow.id)
    if since is not None:
        runs = runs.where(or_(RunRow.started_at >= since, (RunRow.started_at.is_(None)) & (RunRow.ended_at >= since)))
    for run in session.scalars(runs):
        _add_run(reports[run.pipeline_id], run)
    checks = select(CheckResultRow.pipeline_id, CheckResultRow.outcome).where(CheckResultRow.pipeline_id.in_(reports))
    if since is not None:
        checks = checks.where(CheckResultRow.checked_at >= since)
    for pipeline_id, outcome in session.execute(checks):
        report = reports[pipeline_id]
        report.dq_checks += 1
        report.dq_passed += outcome == "passed"
    for report in reports.values():
        durations = [p.duration_seconds for p in report.points if p.duration_seconds is not None]
        report.mean_duration_seconds = sum(durations) / len(durations) if durations else None
    shown = [r for r in reports.values() if r.status == "active" or r.runs]
    return sorted(shown, key=lambda r: (r.team or "", r.pipeline))


def totals(reports: list[PipelineReport]) -> dict[str, Any]:
    """The sums over every reported pipeline (``None`` where no pipeline has the figure)."""

    def total(name: str):
        values = [getattr(r, name) for r in reports if getattr(r, name) is not None]
        return sum(values) if values else None

    checks, passed = sum(r.dq_checks for r in reports), sum(r.dq_passed for r in reports)
    return {
        "pipelines": len(reports),
        "runs": sum(r.runs for r in reports),
        "succeeded": sum(r.succeeded for r in reports),
        "failed": sum(r.failed for r in reports),
        "rows": total("rows"),
        "rows_read": total("rows_read"),
        "bytes_written": total("bytes_written"),
        "cpu_seconds": total("cpu_seconds"),
        "dq_checks": checks,
        "dq_passed": passed,
        "dq_pass_rate": passed / checks if checks else None,
    }


def _add_run(report: PipelineReport, run: RunRow) -> None:
    duration = (run.ended_at - run.started_at).total_seconds() if run.started_at and run.ended_at else None
    point = RunPoint(run.run_id, run.state, run.started_at, run.ended_at, run.rows, duration)
    report.points.append(point)
    report.runs += 1
    report.succeeded += run.state == "success"
    report.failed += run.state == "failed"
    for name in ("rows", "rows_read", "bytes_written", "cpu_seconds"):
        value = getattr(run, name)
        if value is not None:
            setattr(report, name, (getattr(report, name) or 0) + value)
    if point.at is not None and (report.last_run_at is None or point.at > report.last_run_at):
        report.last_run_at = point.at


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
