"""The ingest task: source hook → Iceberg writer, one atomic commit per run."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.contract.model import FullMode, IncrementalMode
from airflow_provider_chimera.factory.pipelines import Pipeline
from airflow_provider_chimera.settings import load_settings


class UnsupportedModeError(NotImplementedError):
    pass


class IngestOperator(BaseOperator):
    """Reads one source object and commits it to its Iceberg target.

    ``full`` replaces the table's contents in one commit; ``incremental`` appends what lies past
    the position recorded by the pipeline's last commit (cursor value, or files already read).
    Returns (and pushes to XCom) the rows written and the snapshot id; never a value of the data.
    """

    ui_color = "#cfe8ff"

    def __init__(self, *, pipeline: Pipeline, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> dict[str, Any]:
        # Imported here, not at module level: DAG files import this module on every parse, and
        # the readers and writer pull in pyiceberg, pyarrow and the drivers (~0.7 s per parse).
        from airflow_provider_chimera.sources import source_hook
        from airflow_provider_chimera.writer import CommitInfo, IcebergWriter, chimera_catalog
        from airflow_provider_chimera.writer.quarantine import quarantine

        pipeline = self.pipeline
        settings = load_settings()
        mode = pipeline.ingestion.mode
        if not isinstance(mode, (FullMode, IncrementalMode)):
            raise UnsupportedModeError(
                f"{pipeline.intent_file}: pipeline {pipeline.id}: mode {mode.type!r} is not supported yet"
            )
        target = pipeline.ingestion.target
        writer = IcebergWriter(
            chimera_catalog(settings),
            pipeline.target_namespace,
            target.table,
            partition_by=target.partition_by,
            properties={
                "write.parquet.compression-codec": settings.parquet_compression,
                "write.target-file-size-bytes": str(settings.target_file_size_mb << 20),
                "chimera.pipeline": pipeline.id,
                "chimera.team": pipeline.team.name,
            },
        )
        incremental = isinstance(mode, IncrementalMode)
        since = writer.last_position(pipeline.id) if incremental else None
        extract = source_hook(pipeline.source, settings.batch_rows).extract(pipeline.object, since)
        run_id = str(context.get("run_id", "manual")) if context else "manual"
        source_name = f"{pipeline.source.name}/{pipeline.object.name}"
        quarantined = 0

        def before_commit() -> CommitInfo:
            """Runs once every batch is read: rejected records go to quarantine before the commit."""
            nonlocal quarantined
            quarantined = quarantine(
                writer.catalog, pipeline.target_namespace, target.table,
                pipeline=pipeline.id, run_id=run_id, source=source_name, rejected=getattr(extract, "rejected", []),
            )
            if quarantined:
                self.log.warning("%s: %d record(s) quarantined in %s__quarantine", pipeline.id, quarantined, writer.name)
            return CommitInfo(
                pipeline=pipeline.id, run_id=run_id, source=source_name, position=extract.position(),
                record_anyway=quarantined > 0,
            )

        result = writer.write(
            extract.schema,
            extract.batches(),
            mode="append" if incremental else "overwrite",
            info=lambda: before_commit(),
            chunk_bytes=settings.target_file_size_mb << 20,
        )
        if result.committed:
            self.log.info("%s: committed %d rows to %s (snapshot %s)", pipeline.id, result.rows, writer.name, result.snapshot_id)
        else:
            self.log.info("%s: nothing new since the last commit; %s unchanged", pipeline.id, writer.name)
        return {
            "pipeline": pipeline.id,
            "target": writer.name,
            "rows": result.rows,
            "snapshot_id": result.snapshot_id,
            "committed": result.committed,
            "quarantined": quarantined,
        }
