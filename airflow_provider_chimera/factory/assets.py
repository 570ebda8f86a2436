"""Airflow Assets for a pipeline: its source object (inlet) and its Iceberg table (outlet), named
by the URIs of ``pipelines.uris``."""

from __future__ import annotations

from airflow.sdk import Asset

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.pipelines.uris import source_uri, target_uri


def target_asset(pipeline: Pipeline, catalog: str) -> Asset:
    """The pipeline's Iceberg table. Named by its URI, like every Chimera asset, so that a DAG
    scheduling on ``Asset("iceberg://...")`` (or an intent's ``event`` trigger) meets the same
    asset: Airflow deactivates two assets that share a URI under different names."""
    uri = target_uri(pipeline, catalog)
    return Asset(uri=uri, name=uri, group="chimera")


def source_asset(pipeline: Pipeline) -> Asset:
    """The source object. Named by its URI: pipelines reading the same object share one Asset
    (Airflow deactivates two assets that share a URI under different names)."""
    uri = source_uri(pipeline)
    return Asset(uri=uri, name=uri, group="chimera-source")
