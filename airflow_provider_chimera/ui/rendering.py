"""Rendering pages: Jinja2 with autoescape on (every intent name and error text is escaped), and
the URLs a page needs wherever Airflow is mounted (``[api] base_url`` with a path included).

A page's ``<base href>`` is the app's own root (``.../chimera/``), so the pages' relative links
and the ``fetch("api/...")`` calls of their script resolve the same from every page; links into
Airflow (the grid) are made from the part of the path before the app's mount point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from airflow_provider_chimera.ui.formatting import FILTERS

TEMPLATES = Path(__file__).with_name("templates")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(FILTERS)


def app_root(request: Request) -> str:
    """The app's own URL path with a trailing slash (``/chimera/``, or ``/airflow/chimera/``)."""
    return request.scope.get("root_path", "").rstrip("/") + "/"


def airflow_root(request: Request) -> str:
    """Airflow's own URL path with a trailing slash: the app's root without its mount point."""
    root = request.scope.get("root_path", "").rstrip("/")
    base, _, _ = root.rpartition("/")
    return base + "/"


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` plus ``app_root`` and ``airflow_root``."""
    html = _env.get_template(template).render(
        app_root=app_root(request), airflow_root=airflow_root(request), **context
    )
    return HTMLResponse(html, status_code=status_code)

