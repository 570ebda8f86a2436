"""The pipelines board: ``GET /`` (HTML) and ``GET /api/pipelines`` (JSON), one row per pipeline
the user may read, filtered and paginated (``views/board.py`` runs the queries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.ui.registry_access import page_registry
from airflow_provider_chimera.ui.rendering import render
from airflow_provider_chimera.ui.security import CurrentUser, readable_dag_ids
from airflow_provider_chimera.ui.views.board import Board, BoardFilters, load_board

router = APIRouter()


def _filters(
    team: Annotated[str | None, Query(description="only this team's pipelines")] = None,
    source_type: Annotated[str | None, Query(description="only pipelines reading this source type")] = None,
    sla: Annotated[str | None, Query(description="only pipelines in this SLA state")] = None,
    failing: Annotated[bool, Query(description="only pipelines whose last run failed")] = False,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> BoardFilters:
    return BoardFilters(
        team=team or None, source_type=source_type or None, sla=sla or None, failing=failing, page=page, page_size=page_size
    )


Filters = Annotated[BoardFilters, Depends(_filters)]
PageRegistry = Annotated[Registry, Depends(page_registry)]


def _board(user, filters: BoardFilters, registry: Registry) -> Board:
    return load_board(registry, filters, lambda dag_ids: readable_dag_ids(user, dag_ids))


@router.get("/api/pipelines", response_model=Board)
def board_json(user: CurrentUser, filters: Filters, registry: PageRegistry) -> Board:
    """The board's rows as JSON."""
    return _board(user, filters, registry)


@router.get("/", response_class=HTMLResponse)
def board_page(request: Request, user: CurrentUser, filters: Filters, registry: PageRegistry) -> HTMLResponse:
    """The board as a page."""
    return render(request, "board.html", page="board", board=_board(user, filters, registry), filters=filters)
