"""The timeliness task: every pipeline's SLA state, recorded in the registry, changes notified."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast


class TimelinessOperator(BaseOperator):
    """Runs :func:`~airflow_provider_chimera.governance.sla_check.run_timeliness` for every pipeline
    of ``[chimera] intents_dir`` with an ``sla``.

    The states are recorded even when a notice cannot be sent (the next run sends it again); the
    task fails when a pipeline's table could not be read, after recording all the others.
    """

    ui_color = "#fff3d6"

    def execute(self, context: Any) -> dict[str, int]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            from airflow_provider_chimera.governance.sla_check import run_timeliness
            from airflow_provider_chimera.registry.audit import task_actor
            from airflow_provider_chimera.settings import load_settings

            actor = task_actor(context["dag"].dag_id, context["run_id"])
            report = run_timeliness(load_settings(), actor=actor)
            counts = report.counts()
            self.log.info("timeliness checked: %s", counts)
            for failure in report.notice_failures:
                self.log.warning("notice not sent (retried on the next run): %s", failure)
            if report.errors:
                raise RuntimeError("timeliness not checked for: " + "; ".join(report.errors))
            return counts
