"""One onboarding DAG per intent, ``chimera_onboard__<intent>``: a task per onboarding step.

Each DAG is scheduled on its intent's asset, ``chimera-intent://<intent>``. The registry sync
(``chimera_registry_sync``, every five minutes) emits an event for that asset, through the asset
alias ``chimera-intents``, for each intent whose new or changed version waits for onboarding
(:mod:`~airflow_provider_chimera.onboarding.trigger`): onboarding starts within one sync cycle,
with no person involved. A failing step fails its own task; clearing it resumes from there.
Built from the intent files alone (no database, no network).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, chain

from airflow_provider_chimera.onboarding.workflow import STEPS, onboarding_dag_id
from airflow_provider_chimera.operators.registry import intent_asset

log = logging.getLogger(__name__)

def build_onboarding_dag(path: Path, intent_name: str, team: str, queue_template: str = "") -> DAG:
    """``queue_template``: ``[chimera] team_queue``; the steps run on the team's workers, as its pipelines do."""
    from airflow_provider_chimera.operators.onboarding import OnboardingStepOperator
    from airflow_provider_chimera.pipelines.resources import queue_args

    with DAG(
        dag_id=onboarding_dag_id(intent_name),
        schedule=[intent_asset(intent_name)],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["chimera", "chimera-onboarding", team],
        doc_md=(
            f"Onboards intent `{intent_name}` (`{path}`): one task per step, in order — "
            f"{' → '.join(STEPS)}. Started by the registry sync when a new or changed version of the "
            "intent is in the folder; each step is audited (`chimera audit --action 'onboarding.*'`). "
            "A failed step notifies the team; fix the cause and clear the failed task to resume from it "
            f"(or run `chimera onboard {path} --from-step STEP`). The intent's ingestion DAGs skip their "
            "runs (task `onboarded`) until onboarding has completed."
        ),
        # No automatic retry: a failure tells the team once, with the reason and how to retry.
        default_args={"owner": team, "retries": 0, **queue_args(team, queue_template)},
    ) as dag:
        chain(*(OnboardingStepOperator(task_id=step, step=step, intent_file=str(path)) for step in STEPS))
    return dag


def build_onboarding_dags(intents_dir: Path | str | None = None) -> dict[str, DAG]:
    """One onboarding DAG per intent file of the folder that the factory accepts (``[chimera] intents_dir``)."""
    from airflow_provider_chimera.settings import load_settings

    from airflow_provider_chimera.pipelines import discover, intent_guard

    settings = load_settings()
    folder = Path(intents_dir) if intents_dir else settings.intents_dir
    if not folder.is_dir():
        return {}
    # Rejected files (invalid, unauthorized, an intent name taken) are reported by the
    # error-report DAG file; nothing to onboard until they are accepted.
    dags = {}
    errors: list = []
    for path, loaded in discover(folder).intents.items():
        with intent_guard(path, errors):  # one intent's failure never hides another's DAG
            dag = build_onboarding_dag(path, loaded.intent.name, loaded.intent.team.name, settings.team_queue)
            dags[dag.dag_id] = dag
    for error in errors:
        log.error("intent's onboarding DAG not built:\n%s", error)
    return dags
