"""Recording pipeline runs in the registry (what ran, how it ended, what it committed)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_chimera.registry.models import PipelineRow, RunRow


def record_run(
    session: Session,
    pipeline_id: str,
    run_id: str,
    state: str,
    *,
    rows: int | None = None,
    snapshot_id: int | None = None,
    started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
    attempt: int | None = None,
    rows_read: int | None = None,
    bytes_written: int | None = None,
    cpu_seconds: float | None = None,
    peak_rss_kib: int | None = None,
    error: str | None = None,
) -> RunRow:
    """Insert or update the run ``run_id`` of ``pipeline_id`` (known to the registry after a sync).

    ``rows`` is the rows written. A retry of a task is the same run and updates the same row: a
    ``running`` state starts an attempt afresh (the previous attempt's figures are cleared), later
    calls keep the values they do not give (``None``), and ``success`` clears ``error``.
    """
    if session.get(PipelineRow, pipeline_id) is None:
        raise LookupError(f"pipeline {pipeline_id!r} is not in the registry; run `chimera registry sync` first")
    row = session.scalars(select(RunRow).filter_by(pipeline_id=pipeline_id, run_id=run_id)).one_or_none()
    if row is None:
        row = RunRow(pipeline_id=pipeline_id, run_id=run_id, state=state)
        session.add(row)
    row.state = state
    values = {
        "rows": rows,
        "snapshot_id": snapshot_id,
        "started_at": started_at,
        "ended_at": ended_at,
        "attempt": attempt,
        "rows_read": rows_read,
        "bytes_written": bytes_written,
        "cpu_seconds": cpu_seconds,
        "peak_rss_kib": peak_rss_kib,
        "error": error,
    }
    for name, value in values.items():
        if state == "running" and name != "started_at":
            setattr(row, name, None)
        if value is not None:
            setattr(row, name, value)
    if state == "success":
        row.error = None
    session.flush()
    return row
