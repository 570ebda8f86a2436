"""Pipelines, Chimera's domain model: one per (intent, source, object) with an ``ingestion`` block.

``model`` says what a pipeline is, ``discover`` reads an intents folder into its pipelines, and
``resources`` gives each pipeline its pool and ``priority_weight``. The DAG factory, the
operators, the CLI and recovery build on these; nothing here imports Airflow.
"""

from airflow_provider_chimera.pipelines.discover import Catalogue, discover, intent_guard
from airflow_provider_chimera.pipelines.model import Pipeline, object_place, pipelines_of

__all__ = ["Catalogue", "Pipeline", "discover", "intent_guard", "object_place", "pipelines_of"]
