"""Rerun one pipeline: ``POST /api/dags/{dag_id}/rerun`` (JSON body, may be ``{}``).

The button on the board and on the tab calls it; it calls Airflow's REST API with the user's own
token (:func:`airflow_provider_chimera.ui.actions.rerun`), so Airflow decides whether the user may
clear or trigger the DAG (its ``403`` is answered as it is) and writes its audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from airflow_provider_chimera.ui.actions import ActionRefused, RerunResult, rerun, user_api
from airflow_provider_chimera.ui.security import CurrentUser, JsonRequest, user_token

router = APIRouter()


@router.post("/api/dags/{dag_id}/rerun", response_model=RerunResult, dependencies=[JsonRequest])
def rerun_dag(dag_id: str, request: Request, user: CurrentUser) -> RerunResult:
    """Clear the DAG's failed latest run, or trigger its missed (or first) run; 409 when neither applies."""
    try:
        api = user_api(user_token(request))
        try:
            return rerun(api, dag_id, user.get_name())
        finally:
            api.close()
    except ActionRefused as refused:
        raise HTTPException(refused.status, refused.message) from None
