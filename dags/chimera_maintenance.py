"""Chimera's own DAGs (the registry sync, table maintenance), separate from the pipelines' DAG file."""

from airflow_provider_chimera.factory import build_maintenance_dags

globals().update(build_maintenance_dags())
