"""The registry task: records the intents folder and the factory's decisions in the audit log."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator


class RegistrySyncOperator(BaseOperator):
    """Runs :func:`~airflow_provider_chimera.registry.sync.sync_registry` on ``[chimera] intents_dir``.

    Parsing DAG files touches no database, so the factory's decisions (pipeline created,
    retired, pending onboarding, intent rejected) are recorded here, on a schedule, once each.
    """

    ui_color = "#e8e0ff"

    def execute(self, context: Any) -> dict[str, int]:
        from airflow_provider_chimera.registry.audit import task_actor
        from airflow_provider_chimera.registry.db import open_registry
        from airflow_provider_chimera.registry.sync import sync_registry
        from airflow_provider_chimera.settings import load_settings

        settings = load_settings()
        actor = task_actor(context["dag"].dag_id, context["run_id"])
        report = sync_registry(open_registry(settings), settings.intents_dir, actor=actor)
        counts = report.counts()
        self.log.info("registry synced with %s: %s", settings.intents_dir, counts)
        return counts
