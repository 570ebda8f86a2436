"""Recording pipeline runs in the registry (what ran, how it ended, what it committed).

Written with SQLAlchemy Core on the ``runs`` and ``pipelines`` tables, not through the ORM
classes: an ingest task records its run twice, and the first ORM query in a process that has
imported Airflow configures every mapper, Airflow's ~80 models included (about 0.3 s per task,
measured by ``make bench-ingest``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Row, insert, select, update
from sqlalchemy.orm import Session

from airflow_provider_chimera.registry.models import PipelineRow, RunRow

_RUNS = RunRow.__table__
_PIPELINES = PipelineRow.__table__


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
    quarantined_rows: int | None = None,
) -> Row:
    """Insert or update the run ``run_id`` of ``pipeline_id`` (known to the registry after a sync);
    the run's row as stored.

    ``rows`` is the rows written, ``quarantined_rows`` the records sent to the quarantine table. A retry of a task is the same run and updates the same row: a
    ``running`` state starts an attempt afresh (the previous attempt's figures are cleared), later
    calls keep the values they do not give (``None``), and ``success`` clears ``error``.
    """
    known = session.execute(select(_PIPELINES.c.pipeline_id).where(_PIPELINES.c.pipeline_id == pipeline_id)).first()
    if known is None:
        raise LookupError(f"pipeline {pipeline_id!r} is not in the registry; run `chimera registry sync` first")
    this_run = (_RUNS.c.pipeline_id == pipeline_id) & (_RUNS.c.run_id == run_id)
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
        "quarantined_rows": quarantined_rows,
    }
    changes: dict[str, object] = {"state": state}
    for name, value in values.items():
        if state == "running" and name != "started_at":
            changes[name] = None
        if value is not None:
            changes[name] = value
    if state == "success":
        changes["error"] = None
    existing = session.execute(select(_RUNS.c.id).where(this_run)).first()
    if existing is None:
        session.execute(insert(_RUNS).values(pipeline_id=pipeline_id, run_id=run_id, **changes))
    else:
        session.execute(update(_RUNS).where(_RUNS.c.id == existing.id).values(**changes))
    return session.execute(select(_RUNS).where(this_run)).one()
