"""Chimera's timeliness DAG in a git DAG bundle: the SLA state of this repository's pipelines."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory.timeliness import build_timeliness_dags  # noqa: E402

globals().update(build_timeliness_dags())
