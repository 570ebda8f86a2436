"""What an ingest task measures about itself, and its record in the registry's ``runs`` table.

A :class:`RunMeter` is started when the task starts. It counts the rows read as the source's
batches pass through it and, when stopped, adds the wall-clock times, the CPU seconds the task's
process and its children used since the start, and the process's peak resident set size.
``bytes_written`` is the size of the data (and delete) files the run's snapshots added, taken from
their Iceberg summaries.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)


class RunStats(BaseModel):
    """What one ingest run measured about itself."""

    model_config = ConfigDict(frozen=True)

    started_at: dt.datetime
    ended_at: dt.datetime
    rows_read: int
    rows_written: int
    bytes_written: int
    cpu_seconds: float
    peak_rss_kib: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO-8601 strings), for XCom."""
        return {**self.model_dump(), "started_at": self.started_at.isoformat(), "ended_at": self.ended_at.isoformat()}


def cpu_seconds() -> float:
    """User plus system CPU seconds of this process and of its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_kib() -> int:
    """The largest resident set size this process (or its largest child) has had, in KiB."""
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes, Linux KiB


class RunMeter:
    """Measures one task run from its creation to :meth:`stop`."""

    def __init__(self) -> None:
        self.started_at = dt.datetime.now(dt.UTC)
        self._cpu_start = cpu_seconds()
        self.rows_read = 0
        self.rows_written = 0
        self.bytes_written = 0
        self.snapshot_id: int | None = None

    def committed(self, rows: int, bytes_written: int, snapshot_id: int | None) -> None:
        """What the run's commit wrote (kept should a later step of the task fail)."""
        self.rows_written, self.bytes_written, self.snapshot_id = rows, bytes_written, snapshot_id

    def count(self, batches: Iterable, after: Callable[[], object] | None = None) -> Iterator:
        """Pass ``batches`` through, counting their rows; call ``after`` once they are all read."""
        for batch in batches:
            self.rows_read += batch.num_rows
            yield batch
        if after is not None:
            after()

    def stop(self) -> RunStats:
        return RunStats(
            started_at=self.started_at,
            ended_at=dt.datetime.now(dt.UTC),
            rows_read=self.rows_read,
            rows_written=self.rows_written,
            bytes_written=self.bytes_written,
            cpu_seconds=round(max(cpu_seconds() - self._cpu_start, 0.0), 3),
            peak_rss_kib=peak_rss_kib(),
        )


def bytes_added(table, since_snapshot_id: int | None) -> int:
    """Bytes of the files that the snapshots after ``since_snapshot_id`` (``None``: all) added."""
    if table is None:
        return 0
    total = 0
    snapshot = table.current_snapshot()
    while snapshot is not None and snapshot.snapshot_id != since_snapshot_id:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        total += int(summary.get("added-files-size", 0))
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return total


def current_snapshot_id(table) -> int | None:
    snapshot = table.current_snapshot() if table is not None else None
    return snapshot.snapshot_id if snapshot is not None else None


_SYNCED_FOR: set[str] = set()


def save_run(
    pipeline_id: str,
    run_id: str,
    state: str,
    *,
    attempt: int | None = None,
    stats: RunStats | None = None,
    snapshot_id: int | None = None,
    error: str | None = None,
    started_at: dt.datetime | None = None,
    intent: str | None = None,
    intent_hash: str | None = None,
    quarantined: int | None = None,
    settings: ChimeraSettings | None = None,
) -> bool:
    """Record the run in the registry's ``runs`` table; whether it was recorded.

    A finished attempt (``success`` or ``failed``) also gets its audit entry, ``ingest.<state>``,
    in the same transaction: the pipeline, run, attempt, rows, quarantined records, snapshot and the worker it ran on
    (:func:`~.worker.worker_name`).

    A pipeline the registry does not know yet is recorded first (a registry sync of the intents
    folder). The registry is bookkeeping: when it cannot be reached, or the pipeline is not in the
    intents folder (a test's ad hoc pipeline), a warning is logged and the ingestion goes on.
    ``settings``: the task's own (read once per task), else read now.
    """
    from airflow_provider_chimera.secrets import scrub

    try:
        from airflow_provider_chimera.registry.db import open_registry
        from airflow_provider_chimera.registry.runs import record_run

        values: dict[str, Any] = {"attempt": attempt, "snapshot_id": snapshot_id, "started_at": started_at}
        if stats is not None:
            values.update(
                started_at=stats.started_at,
                ended_at=stats.ended_at,
                rows_read=stats.rows_read,
                rows=stats.rows_written,
                bytes_written=stats.bytes_written,
                cpu_seconds=stats.cpu_seconds,
                peak_rss_kib=stats.peak_rss_kib,
            )
        if quarantined is not None:
            values["quarantined_rows"] = quarantined
        if error is not None:
            values["error"] = scrub(error)[:4000]
        audit = None
        if state != "running":
            from airflow_provider_chimera.ingest.worker import worker_name

            audit = dict(action=f"ingest.{state}", intent=intent, intent_hash=intent_hash, details={
                "pipeline": pipeline_id, "run_id": run_id, "attempt": attempt, "worker": worker_name(),
                "rows": values.get("rows"), "quarantined_rows": quarantined, "snapshot_id": snapshot_id, **({"error": values["error"]} if error is not None else {}),
            })

        def write(session) -> None:
            record_run(session, pipeline_id, run_id, state, **values)
            if audit:
                from airflow_provider_chimera.registry.audit import record

                record(session, None, **audit)

        with open_registry(settings) as registry:
            try:
                with registry.session() as session:
                    write(session)
            except LookupError:
                # A pipeline the registry has not seen yet (no sync since its intent arrived):
                # record the intents folder first, as `chimera registry sync` would, then the run.
                # Once per process and pipeline: an ad hoc pipeline stays unknown after the sync.
                if pipeline_id in _SYNCED_FOR:
                    raise
                _SYNCED_FOR.add(pipeline_id)
                from airflow_provider_chimera.pipelines.sync import sync_registry
                from airflow_provider_chimera.settings import load_settings

                sync_registry(registry, (settings or load_settings()).intents_dir)
                with registry.session() as session:
                    write(session)
        return True
    except Exception as exc:  # the registry must never fail an ingestion
        log.warning(
            "%s: run %s (%s) not recorded in the registry: %s", pipeline_id, run_id, state, scrub(f"{type(exc).__name__}: {exc}")
        )
        return False
