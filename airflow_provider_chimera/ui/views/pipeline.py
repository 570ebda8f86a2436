"""A DAG's "Chimera" tab (filled in below)."""

from __future__ import annotations

from pydantic import BaseModel

from airflow_provider_chimera.registry.db import Registry


class PipelineTab(BaseModel):
    pipeline_id: str


def load_tab(registry: Registry, dag_id: str) -> PipelineTab | None:
    return None
