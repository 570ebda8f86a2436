"""Chimera's recovery DAG in a git DAG bundle."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory.recovery import build_recovery_dags  # noqa: E402

globals().update(build_recovery_dags())
