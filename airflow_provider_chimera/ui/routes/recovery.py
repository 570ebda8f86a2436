"""The recovery page: ``GET /recovery`` (pick "since", see the plan, run it; recent recoveries
with their audit trail), ``GET /api/recovery/plan?since=6h`` (exactly the JSON of ``chimera
recover --since 6h --dry-run --format json``) and ``POST /api/recovery/run`` (JSON ``{"since": ...,
"pipelines": [...]}``).

The plan is found through Airflow's REST API with the user's own token, over the pipelines the
user may read. Running it needs edit rights on every DAG of the plan (checked here, 403 naming the
first that fails) and the right to trigger ``chimera_recovery`` (checked by Airflow, which is
called with the user's token); the recovery is restricted to the plan's pipelines (decision 0064).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.ui.actions import (
    ActionRefused,
    RecoveryStarted,
    audit_recovery_requested,
    plan_dags,
    recent_recoveries,
    recovery_plan,
    start_recovery,
    user_api,
)
from airflow_provider_chimera.ui.rendering import render
from airflow_provider_chimera.ui.security import CurrentUser, JsonRequest, readable_dag_ids, require_dag_edit, user_token

router = APIRouter()
DEFAULT_SINCE = "6h"
SINCE_HEADER = "X-Chimera-Since"


class RecoveryRequest(BaseModel):
    """Run the previewed plan: its ``since`` and its pipelines (the plan's item ids or DAG ids)."""

    since: str = Field(min_length=1, max_length=64)
    pipelines: list[str] = Field(max_length=5000)


@router.get("/api/recovery/plan")
def plan_json(request: Request, user: CurrentUser, since: str = Query(DEFAULT_SINCE, max_length=64)) -> JSONResponse:
    """The recovery plan since ``since`` (a time or a span back from now), as the CLI's dry run
    prints it; the header ``X-Chimera-Since`` is ``since`` as a time, which the page's run button
    sends back so that the recovery starts from the moment previewed."""
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.recovery.run import parse_since

    settings = load_settings()
    ids = {p.id for p in discover(settings.intents_dir).pipelines}
    readable = readable_dag_ids(user, ids)
    try:
        at = parse_since(since).isoformat()
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        api = user_api(user_token(request))
        try:
            plan = recovery_plan(api, settings, at, user.get_name(), None if readable == ids else readable)
            return JSONResponse(plan, headers={SINCE_HEADER: at})
        finally:
            api.close()
    except ActionRefused as refused:
        raise HTTPException(refused.status, refused.message) from None


@router.post("/api/recovery/run", response_model=RecoveryStarted, dependencies=[JsonRequest])
def run_plan(body: RecoveryRequest, request: Request, user: CurrentUser) -> RecoveryStarted:
    """Start ``chimera_recovery`` for the plan's pipelines, as the user; audited ``ui.recovery.requested``."""
    require_dag_edit(user, plan_dags(body.pipelines))
    settings = load_settings()
    try:
        api = user_api(user_token(request))
        try:
            started = start_recovery(api, body.since, body.pipelines, user.get_name())
        finally:
            api.close()
    except ActionRefused as refused:
        raise HTTPException(refused.status, refused.message) from None
    audit_recovery_requested(settings, user.get_name(), started)
    return started


@router.get("/recovery", response_class=HTMLResponse)
def recovery_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """Pick "since", see the plan, run it; the recent recoveries and their audit trail."""
    return render(request, "recovery.html", page="recovery", since=DEFAULT_SINCE, recoveries=recent_recoveries(load_settings(), may_read=lambda dags: readable_dag_ids(user, dags)))
