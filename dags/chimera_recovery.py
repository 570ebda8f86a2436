"""Chimera's recovery DAG: triggered after an outage, it reruns what failed in priority and fair order."""

from airflow_provider_chimera.factory.recovery import build_recovery_dags

globals().update(build_recovery_dags())
