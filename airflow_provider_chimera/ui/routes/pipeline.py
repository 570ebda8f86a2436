"""A DAG's "Chimera" tab: ``GET /dags/{dag_id}`` (HTML) and ``GET /api/dags/{dag_id}`` (JSON).

403 for a DAG the user may not read; a DAG that is not a Chimera pipeline gets a 404 page saying so.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.ui.registry_access import page_registry
from airflow_provider_chimera.ui.rendering import render
from airflow_provider_chimera.ui.security import CurrentUser, can_edit_dag, require_dag_read
from airflow_provider_chimera.ui.views.pipeline import PipelineTab, load_tab

router = APIRouter()
PageRegistry = Annotated[Registry, Depends(page_registry)]


def _tab(user, dag_id: str, registry: Registry) -> PipelineTab | None:
    require_dag_read(user, dag_id)
    return load_tab(registry, dag_id)


@router.get("/api/dags/{dag_id}", response_model=PipelineTab)
def tab_json(dag_id: str, user: CurrentUser, registry: PageRegistry) -> PipelineTab:
    """What the tab shows, as JSON; 404 for a DAG that is not a Chimera pipeline."""
    tab = _tab(user, dag_id, registry)
    if tab is None:
        raise HTTPException(404, f"{dag_id!r} is not a Chimera pipeline")
    return tab


@router.get("/dags/{dag_id}", response_class=HTMLResponse)
def tab_page(request: Request, dag_id: str, user: CurrentUser, registry: PageRegistry) -> HTMLResponse:
    """The tab as a page."""
    tab = _tab(user, dag_id, registry)
    if tab is None:
        return render(request, "not_chimera.html", status_code=404, page="tab", dag_id=dag_id)
    return render(request, "pipeline.html", page="tab", tab=tab, can_edit=can_edit_dag(user, dag_id))
