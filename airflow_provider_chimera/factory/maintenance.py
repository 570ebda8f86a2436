"""Chimera's own DAGs, beside the pipelines: ``chimera_registry_sync``, ``chimera_maintenance`` and
``chimera_metadata``."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_chimera.factory.own import chimera_dag

REGISTRY_SYNC = "chimera_registry_sync"
TABLE_MAINTENANCE = "chimera_maintenance"
METADATA_WRITER = "chimera_metadata"


def build_maintenance_dags() -> dict[str, DAG]:
    from airflow_provider_chimera.operators.registry import RegistrySyncOperator, intents_alias
    from airflow_provider_chimera.settings import load_settings

    with chimera_dag(
        REGISTRY_SYNC,
        load_settings().registry_sync_schedule,
        retry_delay=timedelta(minutes=1),
        doc_md=(
            "Records the intents folder in Chimera's registry on `[chimera] registry_sync_schedule` (every five minutes by default): new intent versions, "
            "and each factory decision (pipeline created, retired, pending onboarding, intent rejected) "
            "in the audit log (`chimera audit`). Parsing DAG files writes to no database, so this is "
            "where those decisions are written. It also starts the onboarding DAG of each new or changed "
            "intent (an event on the asset `chimera-intent://<intent>`)."
        ),
    ) as dag:
        # Emits an event for each intent waiting for onboarding: its onboarding DAG starts on it.
        RegistrySyncOperator(task_id="sync", outlets=[intents_alias()])
    return {REGISTRY_SYNC: dag, TABLE_MAINTENANCE: build_table_maintenance_dag(), METADATA_WRITER: build_metadata_writer_dag()}


def build_metadata_writer_dag() -> DAG:
    """``chimera_metadata``: writes the metadata and lineage queued by onboarding and ingest tasks to DataHub Lite."""
    from airflow_provider_chimera.operators.metadata import MetadataWriterOperator
    from airflow_provider_chimera.settings import load_settings

    with chimera_dag(
        METADATA_WRITER,
        load_settings().datahub_lite_write_schedule,
        retry_delay=timedelta(minutes=1),
        doc_md=(
            "Writes each onboarding's harvested metadata and each ingest run's lineage to DataHub Lite "
            "(`[chimera] datahub_lite_path`) on `[chimera] datahub_lite_write_schedule`. Onboarding and "
            "ingest tasks never open the DataHub Lite file (one process at a time may): they queue their "
            "metadata in Chimera's registry, and this task, the "
            "file's one writer, writes the queue in order and empties it. Nothing is lost while it does not "
            "run; with a DataHub server (connection `datahub_rest_default`) nothing is queued."
        ),
    ) as dag:
        MetadataWriterOperator(task_id="write")
    return dag


def build_table_maintenance_dag(intents_dir=None) -> DAG:
    """``chimera_maintenance``: daily, one task per pipeline's target table, in the pool
    ``chimera__maintenance``. Built from the intent files alone (no catalog, no database)."""
    from pathlib import Path

    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.pipelines.resources import MAINTENANCE_POOL
    from airflow_provider_chimera.operators.maintenance import TableMaintenanceOperator
    from airflow_provider_chimera.settings import load_settings

    settings = load_settings()
    pipelines = discover(Path(intents_dir) if intents_dir else settings.intents_dir).pipelines
    with chimera_dag(
        TABLE_MAINTENANCE,
        "@daily",
        retry_delay=timedelta(minutes=5),
        pool=MAINTENANCE_POOL,
        doc_md=(
            "Maintains each pipeline's Iceberg table once a day, one task per table, in the pool "
            f"`{MAINTENANCE_POOL}` (`[chimera] maintenance_slots`): deletes the rows older than the "
            "ingestion's `retention` (whole partitions where the table is partitioned by time), merges "
            "small files, expires snapshots older than `[chimera] snapshot_retention_days` and those of "
            "`main` beyond `[chimera] snapshot_max_count`, keeping the snapshot that holds the pipeline's "
            "read position, and deletes files no snapshot references "
            "once older than `[chimera] orphan_file_age_hours`. Each action is in the audit log "
            "(`chimera audit --actor chimera-maintenance`). A table that fails does not stop the others."
        ),
    ) as dag:
        for pipeline in sorted(pipelines, key=lambda p: p.id):
            TableMaintenanceOperator(task_id=pipeline.id, pipeline=pipeline)
    return dag
