"""The onboarding step task, and the check that holds an ingestion run until onboarding completed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_chimera.operators.failing import failing_fast

if TYPE_CHECKING:
    from airflow_provider_chimera.settings import ChimeraSettings


class OnboardingStepOperator(BaseOperator):
    """Runs one step of :mod:`~airflow_provider_chimera.onboarding.workflow` on an intent file.

    A failing step has written ``onboarding.failed`` and told the team before the task fails;
    clearing the task after fixing the cause resumes the onboarding from this step.
    """

    ui_color = "#fff1c9"

    def __init__(self, *, step: str, intent_file: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.step = step
        self.intent_file = intent_file

    def execute(self, context: Any) -> dict[str, str]:
        with failing_fast():  # a FixRequired error fails at once (operators.failing)
            from airflow_provider_chimera.onboarding.workflow import run_step
            from airflow_provider_chimera.registry.audit import task_actor

            actor = task_actor(context["dag"].dag_id, context["run_id"])
            outcome = run_step(self.step, self.intent_file, actor=actor)
            self.log.info("%s of %s (%s): %s", self.step, outcome.intent, outcome.intent_hash[:12], outcome.summary())
            return {"step": self.step, "intent": outcome.intent, "intent_hash": outcome.intent_hash, "outcome": outcome.outcome}


def skip_until_onboarded(intent: str, pipeline_id: str, log: Any, settings: ChimeraSettings | None = None) -> None:
    """Skips the ingestion run (``AirflowSkipException``, with the reason) until the pipeline's
    intent has completed onboarding; the ingest task calls it first (decisions 0022 and 0068).

    Reads the intent's onboarding state from the registry when the task runs (never while the DAG
    file is parsed); a skipped run ingests nothing and the pipeline runs on its next trigger after
    onboarding.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from airflow_provider_chimera.onboarding.state import ingestion_blocker
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry(settings) as registry, registry.session(read_only=True) as session:
        reason = ingestion_blocker(session, intent, pipeline_id)
    if reason:
        log.warning("%s", reason)
        raise AirflowSkipException(reason)
