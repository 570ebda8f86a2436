"""The Chimera app mounted on Airflow's api-server under ``/chimera`` (``plugin.py``).

``create_app()`` builds it: one router per page (``routes/``), Airflow's authentication on every
route (``security.py``), same-origin framing headers on every response. Creating it does no
database or network work: the registry is opened on a request's first use of it.
"""

from __future__ import annotations

from fastapi import FastAPI

from airflow_provider_chimera.ui.routes import actions, board, onboarding, pipeline, recovery
from airflow_provider_chimera.ui.security import FrameHeaders


def create_app() -> FastAPI:
    """A new Chimera app (one per api-server process, made by ``plugin.py``)."""
    app = FastAPI(
        title="Chimera",
        description="Chimera's pipelines board, pipeline tab, onboarding and recovery pages (docs/ui.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(FrameHeaders)
    from airflow_provider_chimera.ui.errors import install_error_handlers  # here: apart from the routers' imports

    install_error_handlers(app)
    app.include_router(board.router)
    app.include_router(pipeline.router)
    app.include_router(onboarding.router)
    app.include_router(actions.router)
    app.include_router(recovery.router)
    return app
