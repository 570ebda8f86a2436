"""The Airflow plugin (entry point ``airflow.plugins``: ``chimera``).

It mounts the Chimera app on the api-server at ``/chimera`` and adds two views to Airflow's UI: a
top-level "Chimera" entry (the pipelines board) and a "Chimera" tab on every DAG. Their ``href`` is
relative: Airflow's UI page has ``<base href>`` set to Airflow's base URL, so ``chimera/`` works
under a base URL with a path too; on a DAG's page the UI replaces ``{DAG_ID}`` (URL-encoded).
Importing this module builds the app and does no database or network work.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_chimera.ui.app import create_app

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


class ChimeraPlugin(AirflowPlugin):
    """Chimera's pages inside the Airflow UI (docs/ui.md)."""

    name = "chimera"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Chimera"}]
    external_views = [BOARD_VIEW, DAG_TAB_VIEW]
