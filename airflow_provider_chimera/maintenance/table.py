"""One pipeline's target table, maintained: retention, then compaction, then snapshot expiry,
then the orphan-file sweep (target and quarantine table).

The order matters: retention first, so compaction does not rewrite rows about to expire; expiry
next, so the files the other two replaced can leave storage once their snapshots age out; the
orphan sweep last, on what is left. Each action runs even when an earlier one failed; the
failures are reported together at the end. A table its pipeline does not own (``chimera.pipeline``,
:mod:`airflow_provider_chimera.writer.ownership`) is not touched: one intent's retention cannot
delete another pipeline's rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.maintenance.compaction import compact
from airflow_provider_chimera.maintenance.orphans import remove_orphan_files
from airflow_provider_chimera.maintenance.retention import apply_retention
from airflow_provider_chimera.contract.retention import age_column
from airflow_provider_chimera.maintenance.snapshots import expire_snapshots
from airflow_provider_chimera.writer.conflicts import Backoff, retry_commits
from airflow_provider_chimera.settings import ChimeraSettings
from airflow_provider_chimera.writer.iceberg import PIPELINE as OWNER
from airflow_provider_chimera.writer.quarantine import SUFFIX

# Audit actions, one per kind of maintenance.
RETENTION = "table.retention"
COMPACTION = "table.compaction"
EXPIRY = "table.expire_snapshots"
ORPHANS = "table.remove_orphan_files"
OWNERSHIP = "table.ownership"  # a failure only: the table is not the pipeline's


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
        if action == ORPHANS:
            return bool(details.get("orphan_files_removed"))
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
    owner = table.properties.get(OWNER)
    if owner != pipeline.id:
        outcome.failed[OWNERSHIP] = (
            f"TableOwnershipError: table {pipeline.target_table} is "
            + (f"owned by pipeline {owner}" if owner else f"not Chimera's (no {OWNER} property)")
            + "; it is not maintained for this pipeline (adopt it with a run of the pipeline's DAG "
            + "with the run conf {\"adopt_table\": true})"
        )
        return outcome
    # Every commit here may race the pipeline's own runs: retried from the table as it is then.
    backoff = Backoff.configured(settings)
    retention = pipeline.ingestion.retention
    if retention is not None:
        age = age_column(pipeline.ingestion)
        try:
            if age is None:  # the contract rejects this; an older onboarded version may still carry it
                raise ValueError(f"{where}: 'retention' needs a column that dates each row, and this ingestion has none")
            result = retry_commits(
                pipeline.target_table, lambda tried: apply_retention(table.refresh(), age, retention.days, now, where),
                backoff=backoff, what="retention delete",
            )
            outcome.done[RETENTION] = {"days": retention.days, **result.details()}
        except Exception as exc:
            outcome.failed[RETENTION] = f"{type(exc).__name__}: {exc}"
    try:
        result = retry_commits(  # a conflict deletes the rewritten files; the next try plans afresh
            pipeline.target_table,
            lambda tried: compact(
                table.refresh(),
                small_bytes=settings.compaction_small_file_mb << 20,
                min_files=settings.compaction_min_files,
                group_bytes=settings.target_file_size_mb << 20,
            ),
            backoff=backoff, what="compaction",
        )
        outcome.done[COMPACTION] = result.details()
    except Exception as exc:
        outcome.failed[COMPACTION] = f"{type(exc).__name__}: {exc}"
    try:
        result = retry_commits(
            pipeline.target_table, lambda tried: expire_snapshots(table.refresh(), settings.snapshot_retention_days, now),
            backoff=backoff, what="snapshot expiry",
        )
        outcome.done[EXPIRY] = {"keep_days": settings.snapshot_retention_days, **result.details()}
    except Exception as exc:
        outcome.failed[EXPIRY] = f"{type(exc).__name__}: {exc}"
    try:
        outcome.done[ORPHANS] = sweep_orphans(pipeline, catalog, table, settings, now)
    except Exception as exc:
        outcome.failed[ORPHANS] = f"{type(exc).__name__}: {exc}"
    return outcome


def sweep_orphans(pipeline: Pipeline, catalog: Catalog, table, settings: ChimeraSettings, now: dt.datetime) -> dict[str, Any]:
    """:func:`remove_orphan_files` on the target and, if it is the pipeline's, its quarantine table;
    the details of both, summed (the paths listed together)."""
    age = dt.timedelta(hours=settings.orphan_file_age_hours)
    tables = [table]
    try:
        quarantine = catalog.load_table((pipeline.target_namespace, pipeline.ingestion.target.table + SUFFIX))
        if quarantine.properties.get(OWNER) == pipeline.id:
            tables.append(quarantine)
    except NoSuchTableError:
        pass
    details: dict[str, Any] = {"older_than_hours": settings.orphan_file_age_hours}
    for one in tables:
        for key, value in remove_orphan_files(one, age, now).details().items():
            details[key] = details.get(key, [] if isinstance(value, list) else 0) + value
    return details
