"""What a page answers when the registry does not: 503 with a sentence, never a stack trace or SQL."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from airflow_provider_chimera.registry.db import RegistryLockTimeout, RegistryUnreachable

log = logging.getLogger(__name__)


async def _registry_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # RegistryUnreachable names the registry with its password hidden; a driver error may quote
    # SQL and parameters, so it is logged, not shown.
    detail = str(exc) if isinstance(exc, (RegistryUnreachable, RegistryLockTimeout)) else "the Chimera registry did not answer"
    log.warning("Chimera page %s: %s", request.url.path, exc)
    return JSONResponse({"detail": f"{detail}; try again shortly"}, status_code=503, headers={"Retry-After": "30"})


def install_error_handlers(app: FastAPI) -> None:
    """503 for a registry that cannot be reached or fails a query."""
    for kind in (RegistryUnreachable, RegistryLockTimeout, DBAPIError):
        app.add_exception_handler(kind, _registry_unreachable)
