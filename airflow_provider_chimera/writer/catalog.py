"""The Iceberg catalog pipelines write to.

Configured the pyiceberg way (``.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__<NAME>__*``) under
``[chimera] catalog_name``. Without such configuration Chimera uses an embedded SQL catalog on
SQLite with a local warehouse folder, so one laptop needs no catalog service.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.utils.config import Config

from airflow_provider_chimera.settings import ChimeraSettings


def embedded_catalog_properties(settings: ChimeraSettings) -> dict[str, str]:
    return {
        "type": "sql",
        "uri": f"sqlite:///{settings.catalog_db}",
        "warehouse": settings.warehouse.resolve().as_uri(),
    }


def chimera_catalog(settings: ChimeraSettings) -> Catalog:
    """Load the configured catalog, or the embedded default when pyiceberg knows none by that name."""
    name = settings.catalog_name
    if Config().get_catalog_config(name):
        return load_catalog(name)
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    return load_catalog(name, **embedded_catalog_properties(settings))


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create ``namespace`` unless it exists, also when another process creates it at the same
    moment (pyiceberg's SQL catalog then raises its database's unique-key error, not
    ``NamespaceAlreadyExistsError``)."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:
        if not any(found == (namespace,) for found in catalog.list_namespaces()):
            raise
