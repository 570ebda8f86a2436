"""The onboarding page: ``GET /onboarding`` (HTML) and ``GET /api/onboarding`` (JSON): each
intent's state, the onboarding steps done and the pipelines it covers (those the user may read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.ui.registry_access import page_registry
from airflow_provider_chimera.ui.rendering import render
from airflow_provider_chimera.ui.security import CurrentUser, can_read_all_dags, readable_dag_ids
from airflow_provider_chimera.ui.views.onboarding import Onboarding, load_onboarding

router = APIRouter()
PageRegistry = Annotated[Registry, Depends(page_registry)]


def _onboarding(user, registry: Registry) -> Onboarding:
    return load_onboarding(registry, lambda dag_ids: readable_dag_ids(user, dag_ids), all_dags=can_read_all_dags(user))


@router.get("/api/onboarding", response_model=Onboarding)
def onboarding_json(user: CurrentUser, registry: PageRegistry) -> Onboarding:
    """Every intent's onboarding, as JSON."""
    return _onboarding(user, registry)


@router.get("/onboarding", response_class=HTMLResponse)
def onboarding_page(request: Request, user: CurrentUser, registry: PageRegistry) -> HTMLResponse:
    """Every intent's onboarding, as a page."""
    return render(request, "onboarding.html", page="onboarding", onboarding=_onboarding(user, registry))
