"""Chimera's DAG file: one Airflow DAG per pipeline declared in the intents folder."""

from airflow_provider_chimera.factory import build_dags

globals().update(build_dags())
