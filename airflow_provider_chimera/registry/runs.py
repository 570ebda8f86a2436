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
) -> RunRow:
    """Insert or update the run ``run_id`` of ``pipeline_id`` (known to the registry after a sync)."""
    if session.get(PipelineRow, pipeline_id) is None:
        raise LookupError(f"pipeline {pipeline_id!r} is not in the registry; run `chimera registry sync` first")
    row = session.scalars(select(RunRow).filter_by(pipeline_id=pipeline_id, run_id=run_id)).one_or_none()
    if row is None:
        row = RunRow(pipeline_id=pipeline_id, run_id=run_id, state=state)
        session.add(row)
    row.state = state
    for name, value in (("rows", rows), ("snapshot_id", snapshot_id), ("started_at", started_at), ("ended_at", ended_at)):
        if value is not None:
            setattr(row, name, value)
    session.flush()
    return row
