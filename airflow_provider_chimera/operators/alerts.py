"""The Airflow side of failure alerts (:mod:`airflow_provider_chimera.governance.alerts`).

:class:`AlertOnFailure` is the ``on_failure_callback`` the factory sets on a pipeline's tasks.
Airflow 3 runs it in the task's process once the task failed for good (``on_retry_callback`` runs
instead for a try that will be retried); it turns the task's context into plain values and hands
them to :func:`~airflow_provider_chimera.governance.alerts.notify_failure`. It never raises: the
task fails with its own error whatever becomes of the alert.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_chimera.pipelines import Pipeline

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://localhost:8080"


class AlertOnFailure:
    """``on_failure_callback`` of ``pipeline``'s tasks: alerts its team once per failed run."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    def __call__(self, context: Any) -> None:
        try:
            from airflow_provider_chimera.governance.alerts import Channels, notify_failure
            from airflow_provider_chimera.registry.db import open_registry
            from airflow_provider_chimera.settings import load_settings

            settings = load_settings()
            failure = failure_of(context)
            try:
                registry = open_registry(settings)
            except Exception as exc:  # sent all the same, without the once-per-run guarantee
                log.warning("%s: registry not reachable for the alert: %s", self.pipeline.id, type(exc).__name__)
                registry = None
            notify_failure(self.pipeline, failure, Channels.of(settings), base_url(), registry, logger=log)
        except Exception as exc:  # an alert never masks the task's own failure
            log.warning("%s: no alert sent: %s: %s", self.pipeline.id, type(exc).__name__, exc)

    def __repr__(self) -> str:
        return f"AlertOnFailure({self.pipeline.id!r})"


def failure_of(context: Any):
    """The failed try in ``context``, as plain values."""
    from airflow_provider_chimera.governance.alerts import Failure

    ti = context.get("ti") or context.get("task_instance")
    state = getattr(ti, "state", None)
    return Failure(
        dag_id=str(getattr(ti, "dag_id", None) or context["dag"].dag_id),
        run_id=str(context.get("run_id") or getattr(ti, "run_id", "")),
        task_id=str(getattr(ti, "task_id", "") or getattr(context.get("task"), "task_id", "")),
        try_number=getattr(ti, "try_number", None),
        max_tries=getattr(ti, "max_tries", None),
        state=getattr(state, "value", state),
        error=context.get("exception"),
    )


def base_url() -> str:
    """Airflow's ``[api] base_url``: where its UI is reached."""
    try:
        from airflow.configuration import conf

        return conf.get("api", "base_url", fallback=None) or DEFAULT_BASE_URL
    except Exception:
        return DEFAULT_BASE_URL
