"""Chimera's error report in a git DAG bundle: rejected intent files of this repository show here as this file's import error."""

from pathlib import Path

from airflow_provider_chimera.settings import use_intents_dir

use_intents_dir(Path(__file__).resolve().parent.parent / "intents")  # this checkout's intents/ folder

from airflow_provider_chimera.factory import report_rejected_intents  # noqa: E402

report_rejected_intents()
