"""Chimera's error report: rejected intent files show here as this file's DAG import error.

The pipelines of valid intents come from chimera_pipelines.py and are never hidden by it.
"""

from airflow_provider_chimera.factory import report_rejected_intents

report_rejected_intents()
