"""The plugin as Airflow sees it: the entry point resolves, the views are listed, the routes are
unique, importing it touches no database."""

from __future__ import annotations

import configparser
import importlib.metadata
import sys
from pathlib import Path

from fastapi.routing import APIRoute

from airflow_provider_chimera.provider_info import get_provider_info

REPO = Path(__file__).resolve().parents[3]


def test_the_entry_point_and_provider_info_name_the_plugin_class():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    entry = config["options.entry_points"]["airflow.plugins"].strip()
    assert entry == "chimera = airflow_provider_chimera.ui.plugin:ChimeraPlugin"
    point = importlib.metadata.EntryPoint(name="chimera", value=entry.split("=", 1)[1].strip(), group="airflow.plugins")
    plugin = point.load()
    assert plugin.name == "chimera"
    assert get_provider_info()["plugins"] == [
        {"name": "chimera", "plugin-class": "airflow_provider_chimera.ui.plugin.ChimeraPlugin"}
    ]


def test_the_plugin_mounts_the_app_and_lists_two_views():
    from airflow_provider_chimera.ui.plugin import ChimeraPlugin

    (app,) = ChimeraPlugin.fastapi_apps
    assert app["url_prefix"] == "/chimera" and app["name"] == "Chimera"
    views = {view["url_route"]: view for view in ChimeraPlugin.external_views}
    assert views["chimera"]["destination"] == "nav" and views["chimera"]["href"] == "chimera/"
    assert views["chimera-dag"]["destination"] == "dag" and views["chimera-dag"]["href"] == "chimera/dags/{DAG_ID}"
    assert {view["name"] for view in views.values()} == {"Chimera"}


def test_loading_the_plugin_builds_no_app_until_its_first_request():
    """Every Airflow process loads plugins (task processes too): the pages' modules wait for a request."""
    import subprocess
    import sys

    probe = ("import sys, httpx, asyncio\n"
             "from airflow_provider_chimera.ui.plugin import ChimeraPlugin\n"
             "print('routes' if 'airflow_provider_chimera.ui.routes' in sys.modules else 'declared only')\n"
             "app = ChimeraPlugin.fastapi_apps[0]['app']\n"
             "async def get():\n"
             "    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='http://t') as c:\n"
             "        return (await c.get('/')).status_code\n"
             "print(asyncio.run(get()))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["declared", "only", "401"]  # built on the first request, which needs a login


def test_airflow_accepts_the_views_as_its_plugins_api_lists_them():
    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    from airflow_provider_chimera.ui.plugin import ChimeraPlugin

    for view in ChimeraPlugin.external_views:
        ExternalViewResponse.model_validate(view)


def test_route_paths_are_unique():
    from airflow_provider_chimera.ui.app import create_app

    seen = [(method, route.path) for route in create_app().routes if isinstance(route, APIRoute) for method in route.methods]
    assert len(seen) == len(set(seen))
    assert {path for _, path in seen} >= {"/", "/api/pipelines", "/dags/{dag_id}", "/api/dags/{dag_id}", "/onboarding", "/api/onboarding"}


def test_importing_the_plugin_opens_no_registry(monkeypatch):
    import airflow_provider_chimera.registry.db as db

    opened = []
    monkeypatch.setattr(db, "open_registry", lambda *a, **k: opened.append(1))
    for name in [m for m in sys.modules if m.startswith("airflow_provider_chimera.ui")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.import_module("airflow_provider_chimera.ui.plugin")
    assert opened == []
