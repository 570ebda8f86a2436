"""Recording a load's check results in the registry's ``check_results`` table.

Bookkeeping, like the run record (:func:`airflow_provider_chimera.ingest.runstats.save_run`):
written with SQLAlchemy Core on the table (no ORM mapper configuration per task, see
``registry/runs.py``), and a registry that cannot be reached, or that does not know the pipeline,
only costs a warning. A failing *check* fails the load; failing to *record* it does not.

Every row goes through :func:`airflow_provider_chimera.registry.limits.check_row` first: a check
whose name, type or column is longer than its registry column is not recorded (a warning names
it and the limit) while the other results of the run are.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from airflow_provider_chimera.governance.soda import CheckResult

log = logging.getLogger(__name__)


def save_check_results(
    pipeline_id: str, run_id: str, results: Sequence[CheckResult], *, snapshot_id: int | None, published: bool
) -> bool:
    """Insert one ``check_results`` row per result that fits the table; whether all were recorded."""
    from airflow_provider_chimera.secrets import scrub

    if not results:
        return True
    try:
        from sqlalchemy import insert, select

        from airflow_provider_chimera.registry.db import open_registry
        from airflow_provider_chimera.registry.limits import RegistryLimitError, check_row
        from airflow_provider_chimera.registry.models import CheckResultRow, PipelineRow

        table, pipelines = CheckResultRow.__table__, PipelineRow.__table__
        checked_at = dt.datetime.now(dt.UTC)
        rows = [
            {
                "pipeline_id": pipeline_id,
                "run_id": run_id,
                "checked_at": checked_at,
                "check_name": result.check.name,
                "check_type": result.check.type,
                "column": result.check.column,
                "automatic": result.check.automatic,
                "outcome": result.outcome,
                "diagnostics": scrub(result.diagnostics),
                "snapshot_id": snapshot_id,
                "published": published,
            }
            for result in results
        ]
        fitting = []
        for row in rows:
            try:
                check_row(CheckResultRow, row, what=f"{pipeline_id}: check {str(row['check_name'])[:60]!r}")
            except RegistryLimitError as exc:
                log.warning("%s: a check result of run %s not recorded in the registry: %s", pipeline_id, run_id, exc)
            else:
                fitting.append(row)
        with open_registry() as registry, registry.session() as session:
            known = session.execute(select(pipelines.c.pipeline_id).where(pipelines.c.pipeline_id == pipeline_id)).first()
            if known is None:
                raise LookupError(f"pipeline {pipeline_id!r} is not in the registry; run `chimera registry sync` first")
            if fitting:
                session.execute(insert(table), fitting)
        return len(fitting) == len(rows)
    except Exception as exc:  # the registry must never fail an ingestion
        log.warning(
            "%s: check results of run %s not recorded in the registry: %s",
            pipeline_id, run_id, scrub(f"{type(exc).__name__}: {exc}"),
        )
        return False
