"""One pipeline's target table, maintained: retention, then compaction, then snapshot expiry.

The order matters: retention first, so compaction does not rewrite rows about to expire; expiry
last, so the files the other two replaced can leave storage once their snapshots age out. Each
action runs even when an earlier one failed; the failures are reported together at the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from airflow_provider_chimera.factory.pipelines import Pipeline
from airflow_provider_chimera.maintenance.compaction import compact
from airflow_provider_chimera.maintenance.retention import apply_retention
from airflow_provider_chimera.maintenance.rules import age_column
from airflow_provider_chimera.maintenance.snapshots import expire_snapshots
from airflow_provider_chimera.settings import ChimeraSettings

# Audit actions, one per kind of maintenance.
RETENTION = "table.retention"
COMPACTION = "table.compaction"
EXPIRY = "table.expire_snapshots"


class MaintenanceError(RuntimeError):
    """One or more maintenance actions failed on a table; the message names each."""


@dataclass
class Outcome:
    """What maintenance did to one table: ``done`` maps an audit action to its details."""

    pipeline: str
    table: str
    exists: bool = True
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def changed(self, action: str) -> bool:
        details = self.done.get(action, {})
        if action == RETENTION:
            return action in self.done  # retention is recorded every time it runs, as proof it ran
        if action == COMPACTION:
            return bool(details.get("files_removed"))
        return bool(details.get("snapshots_expired") or details.get("refs_removed"))


def maintain(pipeline: Pipeline, catalog: Catalog, settings: ChimeraSettings, now: dt.datetime | None = None) -> Outcome:
    """Run every maintenance action on the pipeline's target table (a missing table is left alone)."""
    now = now or dt.datetime.now(dt.UTC)
    where = f"{pipeline.intent_file}: pipeline {pipeline.id}"
    outcome = Outcome(pipeline=pipeline.id, table=pipeline.target_table)
    try:
        table = catalog.load_table((pipeline.target_namespace, pipeline.ingestion.target.table))
    except NoSuchTableError:
        outcome.exists = False
        return outcome
    retention = pipeline.ingestion.retention
    if retention is not None:
        age = age_column(pipeline.ingestion)
        try:
            if age is None:  # the contract rejects this; an older onboarded version may still carry it
                raise ValueError(f"{where}: 'retention' needs a column that dates each row, and this ingestion has none")
            result = apply_retention(table, age, retention.days, now, where)
            outcome.done[RETENTION] = {"days": retention.days, **result.details()}
        except Exception as exc:
            outcome.failed[RETENTION] = f"{type(exc).__name__}: {exc}"
    try:
        result = compact(
            table.refresh(),
            small_bytes=settings.compaction_small_file_mb << 20,
            min_files=settings.compaction_min_files,
            group_bytes=settings.target_file_size_mb << 20,
        )
        outcome.done[COMPACTION] = result.details()
    except Exception as exc:
        outcome.failed[COMPACTION] = f"{type(exc).__name__}: {exc}"
    try:
        result = expire_snapshots(table.refresh(), settings.snapshot_retention_days, now)
        outcome.done[EXPIRY] = {"keep_days": settings.snapshot_retention_days, **result.details()}
    except Exception as exc:
        outcome.failed[EXPIRY] = f"{type(exc).__name__}: {exc}"
    return outcome
