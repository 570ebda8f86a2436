"""The registry the pages read: opened on first use, once per api-server process and database URL."""

from __future__ import annotations

import threading

from airflow_provider_chimera.registry.db import Registry, open_registry
from airflow_provider_chimera.settings import load_settings

_open: dict[str, Registry] = {}
_lock = threading.Lock()


def page_registry() -> Registry:
    """The registry of ``[chimera] sql_alchemy_conn`` (a FastAPI dependency)."""
    settings = load_settings()
    url = settings.sql_alchemy_conn
    with _lock:
        if url not in _open:
            _open[url] = open_registry(settings)
        return _open[url]
