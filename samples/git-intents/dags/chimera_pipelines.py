"""Chimera's DAG file in a git DAG bundle: one Airflow DAG per pipeline of the intents in this repository."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory import build_dags  # noqa: E402

globals().update(build_dags())
