"""One ingest run of a pipeline, with plain arguments: plan → read-ahead → protect → write → audit/publish → stats.

``full`` replaces the table's contents in one commit; ``incremental`` appends what lies past the
position recorded by the pipeline's last commit (cursor value, or files already read);
``partitioned`` reads the rows of the run's window and replaces exactly those rows; ``stream``
(Kafka) commits micro-batches of at most ``[chimera] stream_batch_rows`` messages, one snapshot
each, until the topic is caught up or ``stream_run_seconds`` have passed. Every load is written
to the run's audit branch, checked, and published to ``main`` only if its checks pass
(write-audit-publish, ``governance.wap``); a failing check raises and leaves ``main`` as it was.
A retry resumes from the snapshot's position (``ingest.resume``): nothing is lost or read twice.

Nothing here knows Airflow: the ingest task (``operators.ingest``) turns its context into these
arguments, and tests and the benchmark call :func:`run` directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from airflow_provider_chimera.contract.model import IncrementalMode, PartitionedMode, StreamMode
from airflow_provider_chimera.ingest.modes import check_mode
from airflow_provider_chimera.ingest.result import IngestResult
from airflow_provider_chimera.ingest.runstats import RunMeter
from airflow_provider_chimera.ingest.worker import worker_name
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.settings import ChimeraSettings
from airflow_provider_chimera.sources.window import Window, WindowError

LOG = logging.getLogger(__name__)


def run(
    pipeline: Pipeline,
    *,
    run_id: str,
    settings: ChimeraSettings,
    conf: Mapping[str, Any] | None = None,
    window: Window | None = None,
    log: logging.Logger = LOG,
    meter: RunMeter | None = None,
) -> IngestResult:
    """The pipeline's run: :func:`stream` for a ``stream`` mode, else one :func:`ingest`.

    ``run_id`` names the run in snapshots, audit branches and the quarantine; ``conf`` is the run's
    configuration (``{"adopt_from": ...}``, ``{"claim_table": ...}``); ``window`` the rows a
    ``partitioned`` run loads; ``meter`` measures the run (pass one to read its counts should the
    run fail).
    """
    options = {"run_id": run_id, "settings": settings, "conf": conf, "log": log, "meter": meter or RunMeter()}
    if isinstance(pipeline.ingestion.mode, StreamMode):
        return stream(pipeline, **options)
    return ingest(pipeline, window=window, **options)


def stream(
    pipeline: Pipeline,
    *,
    run_id: str,
    settings: ChimeraSettings,
    conf: Mapping[str, Any] | None = None,
    log: logging.Logger = LOG,
    meter: RunMeter | None = None,
) -> IngestResult:
    """Micro-batches until caught up or out of time; each one is an exactly-once commit."""
    from airflow_provider_chimera.governance.wap import combined

    meter = meter or RunMeter()
    deadline = time.monotonic() + settings.stream_run_seconds
    rows = written = batches = 0
    snapshot_id = None
    checks = []
    while True:
        result = ingest(pipeline, run_id=run_id, settings=settings, conf=conf, log=log, meter=meter, limit=settings.stream_batch_rows)
        if result.committed:
            batches += 1
            checks.append(result.checks)
            rows += result.rows
            written += result.stats.bytes_written
            snapshot_id = result.snapshot_id
        if not result.committed or result.rows < settings.stream_batch_rows or time.monotonic() >= deadline:
            break
    meter.committed(rows, written, snapshot_id)
    log.info("%s: %d micro-batch(es), %d rows", pipeline.id, batches, rows)
    return result.model_copy(
        update={
            "rows": rows, "snapshot_id": snapshot_id, "committed": batches > 0, "published": batches > 0,
            "checks": combined(checks) if checks else None, "stats": meter.stop(), "micro_batches": batches,
        }
    )


def ingest(
    pipeline: Pipeline,
    *,
    run_id: str,
    settings: ChimeraSettings,
    conf: Mapping[str, Any] | None = None,
    window: Window | None = None,
    log: logging.Logger = LOG,
    meter: RunMeter | None = None,
    limit: int | None = None,
) -> IngestResult:
    """One load of the pipeline's object into its table: one commit, or none when nothing is new.

    ``limit``: read at most that many records (a ``stream`` micro-batch; see
    :meth:`~airflow_provider_chimera.sources.base.SourceReader.extract`).

    When another run of the pipeline commits past the position this load read from while it
    was committing (``writer.conflicts.PositionMovedError``), the load's rows are dropped and it
    is computed once more from the new position; a second such race fails the task.
    """
    from airflow_provider_chimera.writer.conflicts import PositionMovedError

    options = {"run_id": run_id, "settings": settings, "conf": conf, "window": window, "log": log, "meter": meter, "limit": limit}
    try:
        return _load(pipeline, **options)
    except PositionMovedError as exc:
        log.warning("%s: %s. Reading again from the new position.", pipeline.id, exc)
        return _load(pipeline, **options)


def _load(
    pipeline: Pipeline,
    *,
    run_id: str,
    settings: ChimeraSettings,
    conf: Mapping[str, Any] | None,
    window: Window | None,
    log: logging.Logger,
    meter: RunMeter | None,
    limit: int | None,
) -> IngestResult:
    """:func:`ingest`, one try."""
    # Imported here, not at module level: DAG files import the ingest task on every parse, and
    # the readers and writer pull in pyiceberg, pyarrow and the drivers (~0.7 s per parse).
    from airflow_provider_chimera.faults import fault_point
    from airflow_provider_chimera.governance.checks import LoadCounts
    from airflow_provider_chimera.governance.protect import protect_extract
    from airflow_provider_chimera.governance.quarantine_gate import check_quarantine_share
    from airflow_provider_chimera.governance.wap import audit_and_publish, audit_branch
    from airflow_provider_chimera.ingest.readahead import read_ahead
    from airflow_provider_chimera.ingest.resume import Start, start_position
    from airflow_provider_chimera.ingest.runstats import bytes_added, current_snapshot_id
    from airflow_provider_chimera.ingest.target import open_writer
    from airflow_provider_chimera.sources import source_reader
    from airflow_provider_chimera.tenancy.authorize import authorize_pipeline
    from airflow_provider_chimera.writer import CommitInfo
    from airflow_provider_chimera.writer.ownership import claim_pipeline_tables
    from airflow_provider_chimera.writer.quarantine import QuarantineSpool

    check_mode(pipeline)
    meter = meter or RunMeter()
    conf = dict(conf or {})
    mode, target = pipeline.ingestion.mode, pipeline.ingestion.target
    # partitioned: the run's window, read from the source and replaced in the table.
    window = planned_window(pipeline, window)
    writer = open_writer(pipeline, settings)
    incremental = isinstance(mode, (IncrementalMode, StreamMode))
    # Placeholders and files resolve within the team's grant as the tenancy file says now.
    reader = source_reader(pipeline.source, settings.batch_rows, grant=authorize_pipeline(pipeline, settings))
    # The newest snapshot's position, or an explicit adoption; never a guess (ingest.resume).
    start = start_position(writer, pipeline, reader, conf) if incremental else Start(None)
    claim_pipeline_tables(writer.catalog, pipeline, run_id, conf)  # its own tables, or adopted on purpose (writer.ownership)
    since = start.position
    extract = reader.extract(pipeline.object, since, window=window, limit=limit)
    extract = protect_extract(extract, pipeline, settings)  # classified columns and quarantined records protected
    source_name = f"{pipeline.source.name}/{pipeline.object.name}"
    # Rejected records go to the quarantine table in bounded chunks as they come (writer.quarantine).
    spool = QuarantineSpool(writer.catalog, pipeline.target_namespace, target.table, pipeline=pipeline.id, run_id=run_id, source=source_name)
    extract.spool_rejected(spool)
    quarantined = 0

    def before_commit() -> CommitInfo:
        """Runs once every batch is read: rejected records go to quarantine before the commit."""
        nonlocal quarantined
        quarantined = spool.commit()
        if quarantined:
            log.warning("%s: %d record(s) quarantined in %s__quarantine", pipeline.id, quarantined, writer.name)
        check_quarantine_share(  # above the threshold: raised here, the target's transaction is not committed
            pipeline=pipeline.id, quarantined=quarantined, rows_read=extract.rows_read,
            threshold=pipeline.ingestion.quarantine_threshold, quarantine_table=f"{writer.name}__quarantine",
        )
        return CommitInfo(
            pipeline=pipeline.id, run_id=run_id, source=source_name, position=extract.position(),
            # An adoption records its position even when nothing lies past it.
            record_anyway=quarantined > 0 or start.adopted,
        )

    before, read_before = current_snapshot_id(writer.load()), meter.rows_read
    # Write-audit-publish: the load is staged on the run's audit branch, which readers do not
    # see, checked, and published to main only if its checks pass (governance.wap).
    branch = audit_branch(run_id, settings.audit_retention_hours)
    try:
        result = writer.write(
            extract.schema,
            meter.count(read_ahead(extract.batches()), after=lambda: fault_point("after_read")),
            mode="append" if incremental else "overwrite",
            info=before_commit,
            chunk_bytes=settings.target_file_size_mb << 20,
            window=window,
            stage=branch,
        )
    except BaseException:
        spool.discard()  # quarantine chunks not committed yet leave storage with the attempt (writer.attempt)
        raise
    checks, snapshot_id = None, result.snapshot_id
    if result.committed:
        log.info("%s: staged %d rows on branch %s of %s (snapshot %s)", pipeline.id, result.rows, branch.name, writer.name, result.snapshot_id)
        read = meter.rows_read - read_before + quarantined  # this load's records (a stream's meter counts all)
        counts = LoadCounts(rows_read=read, quarantined=quarantined, dropped=result.dropped)
        audit = audit_and_publish(pipeline, writer, result, counts, run_id, branch, log)
        checks, snapshot_id = audit.summary(), audit.snapshot_id  # staged again if main moved meanwhile
        log.info("%s: published snapshot %s of %s", pipeline.id, snapshot_id, writer.name)
    else:
        log.info("%s: nothing new since the last commit; %s unchanged", pipeline.id, writer.name)
    meter.committed(result.rows, bytes_added(writer.load(), before) if result.committed else 0, snapshot_id)
    fault_point("after_commit")
    # The snapshot is the truth; the source may mirror it (Kafka: the group's offsets).
    acknowledged = extract.position() if result.committed else since
    if acknowledged is not None:
        try:
            reader.committed(pipeline.object, acknowledged, pipeline.id)
        except Exception as exc:  # the next run acknowledges the snapshot's position again
            log.warning("%s: committed, but the source was not told the new position: %s", pipeline.id, exc)
    return IngestResult(
        pipeline=pipeline.id,
        target=writer.name,
        rows=result.rows,
        snapshot_id=snapshot_id,
        committed=result.committed,
        published=result.committed,
        quarantined=quarantined,
        checks=checks,
        stats=meter.stop(),
        worker=worker_name(),
    )


def planned_window(pipeline: Pipeline, window: Window | None) -> Window | None:
    """The window a run loads: a ``partitioned`` run's own (required), none for the other modes."""
    mode = pipeline.ingestion.mode
    if not isinstance(mode, PartitionedMode):
        return None
    if window is None:
        raise WindowError(
            f"{pipeline.intent_file}: pipeline {pipeline.id}: a 'partitioned' run needs the window of "
            f"{mode.column!r} it loads (the ingest task derives it from the Airflow run: ingest.windows)"
        )
    return window
