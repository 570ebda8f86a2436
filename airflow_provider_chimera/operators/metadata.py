"""The DataHub Lite writer task: the ``chimera_metadata`` DAG's one task (``metadata.queue``)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast


class MetadataWriterOperator(BaseOperator):
    """Writes the metadata proposals queued in the registry to DataHub Lite, oldest first.

    The only task that opens the DuckDB file, for onboarding's harvests and ingest runs' lineage; runs one at a time (the DAG's
    ``max_active_runs`` and a registry lock). A failure leaves what was not written queued for the
    next run; the ingest tasks never wait for it.
    """

    ui_color = "#e0e8f0"

    def execute(self, context: Any) -> dict[str, Any]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            from airflow_provider_chimera.metadata.destination import lite_destination
            from airflow_provider_chimera.metadata.queue import write_queued
            from airflow_provider_chimera.registry.db import open_registry
            from airflow_provider_chimera.settings import load_settings

            settings = load_settings()
            with open_registry(settings) as registry:
                report = write_queued(registry, lite_destination(settings))
            self.log.info("%d metadata proposal(s) written to %s; %d left queued", report.written, report.destination, report.left)
            return {"written": report.written, "left": report.left}
