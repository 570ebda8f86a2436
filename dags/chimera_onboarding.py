"""Chimera's onboarding DAGs: one per intent, started by the registry sync when the intent is new or changed."""

from airflow_provider_chimera.factory.onboarding import build_onboarding_dags

globals().update(build_onboarding_dags())
