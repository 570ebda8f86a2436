"""The Airflow plugin (entry point ``airflow.plugins``: ``chimera``).

It mounts the Chimera app on the api-server at ``/chimera`` and adds two views to Airflow's UI: a
top-level "Chimera" entry (the pipelines board) and a "Chimera" tab on every DAG. Their ``href`` is
relative: Airflow's UI page has ``<base href>`` set to Airflow's base URL, so ``chimera/`` works
under a base URL with a path too; on a DAG's page the UI replaces ``{DAG_ID}`` (URL-encoded).
Every Airflow process loads its plugins, each task process too (for its listeners), so importing
this module only declares: the app is built on the api-server's first request to it
(:class:`LazyApp`), not in every process that loads plugins (about 1 s of imports).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/chimera"

BOARD_VIEW = {
    "name": "Chimera",
    "href": "chimera/",
    "destination": "nav",
    "url_route": "chimera",
    "category": None,
    "nav_top_level": True,
}
DAG_TAB_VIEW = {
    "name": "Chimera",
    "href": "chimera/dags/{DAG_ID}",
    "destination": "dag",
    "url_route": "chimera-dag",
}


class LazyApp:
    """An ASGI app that builds the Chimera app (``ui.app.create_app``) on its first request."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_chimera.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class ChimeraPlugin(AirflowPlugin):
    """Chimera's pages inside the Airflow UI (docs/ui.md)."""

    name = "chimera"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "Chimera"}]
    external_views = [BOARD_VIEW, DAG_TAB_VIEW]
