"""JSON over HTTP: REST APIs as a Chimera source type, built only on the plugin interface.

This module is what the ``chimera.sources`` entry point ``http`` names: it imports nothing but
Pydantic, and names its reader by path, so that validating intents never imports ``httpx``.
``docs/sources/http.md`` is the user's guide.
"""

from __future__ import annotations

from airflow_provider_chimera.sources.http.options import HttpObjectOptions, HttpOptions
from airflow_provider_chimera.sources.registry import INTERFACE_VERSION, Capabilities, SourcePlugin

plugin = SourcePlugin(
    type="http",
    interface_version=INTERFACE_VERSION,
    reader="airflow_provider_chimera.sources.http.reader:HttpReader",
    options=HttpOptions,
    object_options=HttpObjectOptions,
    capabilities=Capabilities(modes=("full", "incremental"), needs_schema=True, needs_path=True),
    description="JSON records from an HTTP/REST API, page by page",
)

__all__ = ["plugin"]
