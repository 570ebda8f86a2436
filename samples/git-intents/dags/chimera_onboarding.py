"""Chimera's onboarding DAGs in a git DAG bundle: one per intent of this repository, started by the registry sync."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory.onboarding import build_onboarding_dags  # noqa: E402

globals().update(build_onboarding_dags())
