"""The writer of a pipeline's target table, with the table properties every Chimera table carries."""

from __future__ import annotations

from airflow_provider_chimera.contract.model import IncrementalMode
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.settings import ChimeraSettings
from airflow_provider_chimera.writer.base import TableWriter


def open_writer(pipeline: Pipeline, settings: ChimeraSettings) -> TableWriter:
    """An :class:`~airflow_provider_chimera.writer.iceberg.IcebergWriter` for an ``append``
    target; a :class:`~airflow_provider_chimera.writer.history.HistoryWriter` for ``mdm``
    (versions per key) and ``reference`` (bitemporal versions), which ``full`` never replaces."""
    from airflow_provider_chimera.governance.protect import classification_property
    from airflow_provider_chimera.writer import IcebergWriter, chimera_catalog
    from airflow_provider_chimera.writer.aging import aging_properties
    from airflow_provider_chimera.writer.partitions import partition_fields

    ingestion = pipeline.ingestion
    target = ingestion.target
    table = {
        "partition_by": partition_fields(ingestion),
        "properties": {
            "write.parquet.compression-codec": settings.parquet_compression,
            "write.target-file-size-bytes": str(settings.target_file_size_mb << 20),
            "chimera.pipeline": pipeline.id,
            "chimera.team": pipeline.team.name,
            # Merged manifests, a bounded snapshot list and metadata log (writer.aging).
            **aging_properties(settings.snapshot_max_count),
            **classification_property(pipeline, settings),
        },
        "schema_evolution": ingestion.schema_evolution,
    }
    catalog = chimera_catalog(settings)
    if target.kind not in ("mdm", "reference"):
        return IcebergWriter(catalog, pipeline.target_namespace, target.table, dedup=ingestion.dedup, **table)
    from airflow_provider_chimera.writer.history import HistoryWriter

    # A key repeated within a run keeps its last row by the cursor, else by dedup's order_by.
    cursor = ingestion.mode.cursor if isinstance(ingestion.mode, IncrementalMode) else None
    order_by = cursor or (ingestion.dedup.order_by if ingestion.dedup else None)
    return HistoryWriter(
        catalog, pipeline.target_namespace, target.table, kind=target.kind, keys=target.keys, order_by=order_by, **table
    )
