"""Who may see and do what in Chimera's pages: Airflow's own users and permissions, nothing else.

Every route depends on :data:`CurrentUser`, Airflow's ``get_user`` (a bearer token or the UI's
``_token`` cookie; 401 without one). What a user may see of a DAG is the auth manager's answer
(``get_auth_manager()``: the app is mounted on Airflow's api-server, whose ``request.app`` is the
sub-app, so ``app.state.auth_manager`` is not there). Mutating routes also need
:func:`require_json_request`: a JSON body and the ``X-Chimera-Request: 1`` header, which a
cross-site HTML form cannot send (decision 0062). :func:`frame_headers` lets only the same origin
frame the pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
from airflow.api_fastapi.core_api.security import get_user

CurrentUser = Annotated[BaseUser, Depends(get_user)]
"""The signed-in Airflow user of a request (401 when there is none)."""

REQUEST_HEADER = "X-Chimera-Request"
FRAME_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def can_read_dag(user: BaseUser, dag_id: str) -> bool:
    """Whether ``user`` may read the DAG ``dag_id`` (Airflow's auth manager decides)."""
    return get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=dag_id), user=user)


def can_read_all_dags(user: BaseUser) -> bool:
    """Whether ``user`` may read every DAG (Airflow's "all DAGs" permission: no DAG named)."""
    return get_auth_manager().is_authorized_dag(method="GET", user=user)


def can_edit_dag(user: BaseUser, dag_id: str) -> bool:
    """Whether ``user`` may edit the DAG ``dag_id`` (clear and trigger its runs)."""
    return get_auth_manager().is_authorized_dag(method="PUT", details=DagDetails(id=dag_id), user=user)


def require_dag_read(user: BaseUser, dag_id: str) -> None:
    """403 naming the DAG unless ``user`` may read it."""
    if not can_read_dag(user, dag_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not read the DAG {dag_id!r}")


def require_dag_edit(user: BaseUser, dag_ids: Iterable[str]) -> None:
    """403 naming the first DAG of ``dag_ids`` that ``user`` may not edit."""
    for dag_id in dag_ids:
        if not can_edit_dag(user, dag_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not edit the DAG {dag_id!r}")


def readable_dag_ids(user: BaseUser, dag_ids: Iterable[str]) -> set[str]:
    """The DAGs of ``dag_ids`` that ``user`` may read: one call to the auth manager for the whole
    fleet (``get_authorized_dag_ids``, which auth managers such as FAB answer with one query),
    not one per row."""
    return set(dag_ids) & get_auth_manager().get_authorized_dag_ids(user=user, method="GET")


def user_token(request: Request) -> str | None:
    """The caller's own Airflow token (the bearer token, else the UI's ``_token`` cookie), which
    actions pass on to Airflow's REST API so that Airflow checks the user's rights."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN) or None


def require_json_request(request: Request) -> None:
    """Mutating routes: 415 unless the body is JSON, 403 unless ``X-Chimera-Request: 1`` is sent.

    A cross-site ``<form>`` can neither send JSON nor add a header, and a cross-site ``fetch``
    with a custom header needs a CORS preflight that this app never grants (decision 0062)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send the request body as application/json")
    if request.headers.get(REQUEST_HEADER) != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {REQUEST_HEADER}: 1 header is required")


JsonRequest = Depends(require_json_request)


class FrameHeaders:
    """ASGI middleware: every response (errors included) may be framed by the same origin only."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode("latin-1").lower() not in _FRAME_KEYS]
                headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in FRAME_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_FRAME_KEYS = {key.lower() for key in FRAME_HEADERS}
