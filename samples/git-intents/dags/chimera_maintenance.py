"""Chimera's own DAGs in a git DAG bundle (the registry sync, table maintenance): they read this repository's intents."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory import build_maintenance_dags  # noqa: E402

globals().update(build_maintenance_dags())
