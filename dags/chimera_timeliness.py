"""Chimera's timeliness DAG: every pipeline's SLA state, every five minutes."""

from airflow_provider_chimera.factory.timeliness import build_timeliness_dags

globals().update(build_timeliness_dags())
