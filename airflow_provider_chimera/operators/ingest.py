"""The ingest task: source reader → Iceberg writer → quality checks → publish, one atomic commit per run."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.contract.model import FullMode, IncrementalMode, PartitionedMode, StreamMode
from airflow_provider_chimera.errors import NOT_RETRIED, FixRequired
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.settings import load_settings


class UnsupportedModeError(FixRequired, NotImplementedError):
    pass


class IngestOperator(BaseOperator):
    """Reads one source object and commits it to its Iceberg target.

    ``full`` replaces the table's contents in one commit; ``incremental`` appends what lies past
    the position recorded by the pipeline's last commit (cursor value, or files already read);
    ``partitioned`` reads the rows of the run's data interval and replaces exactly those rows;
    ``stream`` (Kafka) commits micro-batches of at most ``[chimera] stream_batch_rows`` messages,
    one snapshot each, until the topic is caught up or ``stream_run_seconds`` have passed.
    Every load is written to the run's audit branch, checked, and published to ``main`` only if
    its checks pass (write-audit-publish, ``governance.wap``); a failing check fails the task and
    leaves ``main`` as it was.
    Returns (and pushes to XCom) the rows written and the snapshot id, with the run statistics
    also recorded in the registry (``operators.runstats``); never a value of the data. A retry
    resumes from the snapshot's position (``operators.resume``): nothing is lost or read twice.
    """

    ui_color = "#cfe8ff"

    def __init__(self, *, pipeline: Pipeline, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> dict[str, Any]:
        """Ingest, recording the run (start, end, rows, bytes, CPU, peak RSS) in the registry's
        ``runs`` table; the same statistics are part of the returned XCom value."""
        from airflow_provider_chimera.operators.limits import TaskWatchdog
        from airflow_provider_chimera.operators.runstats import RunMeter, save_run

        meter = RunMeter()
        pipeline = self.pipeline
        run_id = str(context.get("run_id", "manual")) if context else "manual"
        attempt = getattr(context.get("ti") if context else None, "try_number", None)
        save_run(pipeline.id, run_id, "running", attempt=attempt, started_at=meter.started_at)
        try:
            # The memory cap, and the backstop of execution_timeout (operators.limits).
            with TaskWatchdog(pipeline.id, load_settings().task_memory_limit_mib, self.execution_timeout):
                if isinstance(pipeline.ingestion.mode, StreamMode):
                    result, stats = self._stream(context, run_id, meter)
                else:
                    result, stats = self._ingest(context, run_id, meter)
        except BaseException as exc:  # a timeout or a kill signal is a failed attempt too
            error = f"{type(exc).__name__}: {exc}"
            save_run(pipeline.id, run_id, "failed", attempt=attempt, stats=meter.stop(), snapshot_id=meter.snapshot_id, error=error)
            if isinstance(exc, FixRequired):  # a retry would fail the same way: say what to fix now (errors)
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(f"{exc} ({NOT_RETRIED})") from exc
            raise
        save_run(pipeline.id, run_id, "success", attempt=attempt, stats=stats, snapshot_id=result["snapshot_id"])
        if result.get("published"):  # source → Iceberg lineage in DataHub; bounded in time, never fails the task
            from airflow_provider_chimera.metadata.lineage import emit_run_lineage

            emit_run_lineage(pipeline, result["snapshot_id"], load_settings(), run_id=run_id)
        from airflow_provider_chimera.onboarding.ready import notify_table_ready

        notify_table_ready(pipeline, result, logger=self.log)  # the team, after the first publish only; never fails the task
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any):
        """The run's source → Iceberg lineage, read by the DataHub Airflow plugin and OpenLineage."""
        from airflow_provider_chimera.metadata.lineage import openlineage_facets

        return openlineage_facets(self.pipeline)

    def _stream(self, context: Any, run_id: str, meter) -> tuple[dict[str, Any], Any]:
        """Micro-batches until caught up or out of time; each one is an exactly-once commit."""
        import time

        from airflow_provider_chimera.governance.wap import combined

        settings = load_settings()
        deadline = time.monotonic() + settings.stream_run_seconds
        rows = written = batches = 0
        snapshot_id = None
        checks = []
        while True:
            result, stats = self._ingest(context, run_id, meter, limit=settings.stream_batch_rows)
            if result["committed"]:
                batches += 1
                checks.append(result["checks"])
                rows += result["rows"]
                written += stats.bytes_written
                snapshot_id = result["snapshot_id"]
            if not result["committed"] or result["rows"] < settings.stream_batch_rows or time.monotonic() >= deadline:
                break
        meter.committed(rows, written, snapshot_id)
        stats = meter.stop()
        self.log.info("%s: %d micro-batch(es), %d rows", self.pipeline.id, batches, rows)
        summary = {"rows": rows, "snapshot_id": snapshot_id, "micro_batches": batches, "committed": batches > 0}
        summary.update(published=batches > 0, checks=combined(checks) if checks else None)
        return {**result, **stats.as_dict(), **summary}, stats

    def _ingest(self, context: Any, run_id: str, meter, limit: int | None = None) -> tuple[dict[str, Any], Any]:
        # Imported here, not at module level: DAG files import this module on every parse, and
        # the readers and writer pull in pyiceberg, pyarrow and the drivers (~0.7 s per parse).
        from airflow_provider_chimera.faults import fault_point
        from airflow_provider_chimera.governance.checks import LoadCounts
        from airflow_provider_chimera.governance.protect import classification_property, protect_extract
        from airflow_provider_chimera.governance.quarantine_gate import check_quarantine_share
        from airflow_provider_chimera.governance.wap import audit_and_publish, audit_branch
        from airflow_provider_chimera.operators.readahead import read_ahead
        from airflow_provider_chimera.operators.resume import Start, run_conf, start_position
        from airflow_provider_chimera.operators.runstats import bytes_added, current_snapshot_id
        from airflow_provider_chimera.sources import source_reader
        from airflow_provider_chimera.writer import CommitInfo, IcebergWriter, chimera_catalog
        from airflow_provider_chimera.writer.ownership import claim_pipeline_tables
        from airflow_provider_chimera.writer.partitions import partition_fields, run_window
        from airflow_provider_chimera.writer.quarantine import QuarantineSpool

        pipeline = self.pipeline
        settings = load_settings()
        mode = pipeline.ingestion.mode
        if isinstance(mode, StreamMode) and pipeline.source.type != "kafka":
            raise UnsupportedModeError(
                f"{pipeline.intent_file}: pipeline {pipeline.id}: 'stream' mode reads Kafka topics; "
                f"a '{pipeline.source.type}' source takes 'incremental'"
            )
        if not isinstance(mode, (FullMode, IncrementalMode, PartitionedMode, StreamMode)):
            raise UnsupportedModeError(
                f"{pipeline.intent_file}: pipeline {pipeline.id}: mode {mode.type!r} is not supported yet"
            )
        target = pipeline.ingestion.target
        if isinstance(mode, PartitionedMode) and target.kind in ("mdm", "reference"):
            raise UnsupportedModeError(
                f"{pipeline.intent_file}: pipeline {pipeline.id}: a 'partitioned' mode replaces rows, "
                f"a '{target.kind}' target keeps every version; use 'incremental' or 'full'"
            )
        writer_class, history = IcebergWriter, {}
        if target.kind in ("mdm", "reference"):
            # Versions per key (mdm) or bitemporal versions (reference); never replaced by `full`.
            from airflow_provider_chimera.writer.history import HistoryWriter

            # A key repeated within a run keeps its last row by the cursor, else by dedup's order_by.
            cursor = mode.cursor if isinstance(mode, IncrementalMode) else None
            dedup = pipeline.ingestion.dedup
            writer_class, history = HistoryWriter, {
                "kind": target.kind,
                "keys": target.keys,
                "order_by": cursor or (dedup.order_by if dedup else None),
                "schema_evolution": pipeline.ingestion.schema_evolution,
            }
        writer = writer_class(
            chimera_catalog(settings),
            pipeline.target_namespace,
            target.table,
            partition_by=partition_fields(pipeline.ingestion),
            properties={
                "write.parquet.compression-codec": settings.parquet_compression,
                "write.target-file-size-bytes": str(settings.target_file_size_mb << 20),
                "chimera.pipeline": pipeline.id,
                "chimera.team": pipeline.team.name,
                **classification_property(pipeline, settings),
            },
            **history,
            **({} if history else {"schema_evolution": pipeline.ingestion.schema_evolution, "dedup": pipeline.ingestion.dedup}),
        )
        incremental = isinstance(mode, (IncrementalMode, StreamMode))
        from airflow_provider_chimera.tenancy.authorize import authorize_pipeline

        # Placeholders and files resolve within the team's grant as the tenancy file says now.
        hook = source_reader(pipeline.source, settings.batch_rows, grant=authorize_pipeline(self.pipeline, settings))
        # The newest snapshot's position, or an explicit adoption; never a guess (operators.resume).
        start = start_position(writer, pipeline, hook, run_conf(context)) if incremental else Start(None)
        claim_pipeline_tables(writer.catalog, pipeline, run_id, run_conf(context))  # its own tables, or adopted on purpose (writer.ownership)
        since = start.position
        # partitioned: the run's data interval, read from the source and replaced in the table.
        window = None
        if isinstance(mode, PartitionedMode):
            window = run_window(mode, context, f"{pipeline.intent_file}: pipeline {pipeline.id}")
        extract = hook.extract(pipeline.object, since, window=window, **({"limit": limit} if limit else {}))
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
                self.log.warning("%s: %d record(s) quarantined in %s__quarantine", pipeline.id, quarantined, writer.name)
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
                stage=branch,
                **({"window": window} if window else {}),
            )
        except BaseException:
            spool.discard()  # quarantine chunks not committed yet leave storage with the attempt (writer.attempt)
            raise
        checks = None
        if result.committed:
            self.log.info("%s: staged %d rows on branch %s of %s (snapshot %s)", pipeline.id, result.rows, branch.name, writer.name, result.snapshot_id)
            read = meter.rows_read - read_before + quarantined  # this load's records (a stream's meter counts all)
            counts = LoadCounts(rows_read=read, quarantined=quarantined, dropped=result.dropped)
            checks = audit_and_publish(pipeline, writer, result, counts, run_id, branch, self.log).summary()
            self.log.info("%s: published snapshot %s of %s", pipeline.id, result.snapshot_id, writer.name)
        else:
            self.log.info("%s: nothing new since the last commit; %s unchanged", pipeline.id, writer.name)
        meter.committed(result.rows, bytes_added(writer.load(), before) if result.committed else 0, result.snapshot_id)
        fault_point("after_commit")
        # The snapshot is the truth; the source may mirror it (Kafka: the group's offsets).
        acknowledged = extract.position() if result.committed else since
        if acknowledged is not None:
            try:
                hook.committed(pipeline.object, acknowledged, pipeline.id)
            except Exception as exc:  # the next run acknowledges the snapshot's position again
                self.log.warning("%s: committed, but the source was not told the new position: %s", pipeline.id, exc)
        stats = meter.stop()
        return {
            "pipeline": pipeline.id,
            "target": writer.name,
            "rows": result.rows,
            "snapshot_id": result.snapshot_id,
            "committed": result.committed,
            "published": result.committed,
            "quarantined": quarantined,
            "checks": checks,
            **stats.as_dict(),
        }, stats
