"""The table maintenance task: one pipeline's target table, in the ``chimera_maintenance`` DAG."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast

from airflow_provider_chimera.pipelines import Pipeline

ACTOR = "chimera-maintenance"


class TableMaintenanceOperator(BaseOperator):
    """Applies ``retention``, compacts small files, expires old snapshots and deletes old orphan
    files of one table (:mod:`airflow_provider_chimera.maintenance`).

    Each action that ran is recorded in the audit log (``table.retention`` every time it runs,
    ``table.compaction``, ``table.expire_snapshots`` and ``table.remove_orphan_files`` when they
    changed the table), by the actor
    ``chimera-maintenance``. A failed action fails the task after the others have run; the
    registry being unreachable only warns (the table's snapshots record what was done).
    """

    ui_color = "#e0f0e0"

    def __init__(self, *, pipeline: Pipeline, **kwargs: Any):
        super().__init__(**kwargs)
        self.pipeline = pipeline

    def execute(self, context: Any) -> dict[str, Any]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            # Imported here: the DAG file imports this module on every parse.
            from airflow_provider_chimera.maintenance.table import MaintenanceError, maintain
            from airflow_provider_chimera.settings import load_settings
            from airflow_provider_chimera.writer import chimera_catalog

            pipeline = self.pipeline
            settings = load_settings()
            outcome = maintain(pipeline, chimera_catalog(settings), settings)
            if not outcome.exists:
                self.log.info("%s: table %s does not exist yet; nothing to maintain", pipeline.id, outcome.table)
            for action, details in outcome.done.items():
                self.log.info("%s: %s on %s: %s", pipeline.id, action, outcome.table, details)
            self._audit(outcome, context)
            if outcome.failed:
                raise MaintenanceError(
                    f"{pipeline.intent_file}: pipeline {pipeline.id}: maintenance of {outcome.table} failed: "
                    + "; ".join(f"{action}: {error}" for action, error in outcome.failed.items())
                )
            return {"pipeline": pipeline.id, "table": outcome.table, "exists": outcome.exists, **outcome.done}

    def _audit(self, outcome, context: Any) -> None:
        entries = [action for action in outcome.done if outcome.changed(action)]
        if not entries:
            return
        try:
            from airflow_provider_chimera.registry.audit import record
            from airflow_provider_chimera.registry.db import open_registry

            registry = open_registry()
            with registry.session() as session:
                for action in entries:
                    record(
                        session,
                        ACTOR,
                        action,
                        intent=self.pipeline.intent,
                        intent_hash=self.pipeline.intent_hash,
                        details={
                            "pipeline": self.pipeline.id,
                            "table": outcome.table,
                            "run_id": (context or {}).get("run_id"),
                            **outcome.done[action],
                        },
                    )
            registry.close()
        except Exception as exc:
            self.log.warning("%s: maintenance not recorded in the audit log: %s", self.pipeline.id, type(exc).__name__)
