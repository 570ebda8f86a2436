"""The Iceberg catalog pipelines write to.

Configured the pyiceberg way (``.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__<NAME>__*``) under
``[chimera] catalog_name``. Without such configuration Chimera uses an embedded SQL catalog on
SQLite with a local warehouse folder, so one laptop needs no catalog service.

A catalog service that does not answer when the catalog is opened (connection refused, no such
host) raises :class:`CatalogUnreachable`, a :class:`~airflow_provider_chimera.errors.Transient`
error naming the catalog and its address (without credentials).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.table import Table
from pyiceberg.utils.config import Config

from airflow_provider_chimera.errors import Transient
from airflow_provider_chimera.settings import ChimeraSettings


class CatalogUnreachable(Transient, ConnectionError):
    """The configured catalog's service did not answer; retry once it is back."""


def _address(uri: object) -> str:
    """``uri`` as scheme, host and port only: no user, password, path or query."""
    parts = urlsplit(str(uri or ""))
    if not parts.scheme or not parts.hostname:
        return "its configured address"
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def embedded_catalog_properties(settings: ChimeraSettings) -> dict[str, str]:
    return {
        "type": "sql",
        "uri": f"sqlite:///{settings.catalog_db}",
        "warehouse": settings.warehouse.resolve().as_uri(),
    }


def chimera_catalog(settings: ChimeraSettings) -> Catalog:
    """Load the configured catalog, or the embedded default when pyiceberg knows none by that name."""
    name = settings.catalog_name
    # Read now, not when pyiceberg was imported: ``load_catalog`` alone would use the environment
    # as it was then.
    if config := Config().get_catalog_config(name):
        try:
            return _open(name, config)
        except OSError as exc:  # requests' ConnectionError (a REST catalog), a socket error
            kind = config.get("type", "configured")
            raise CatalogUnreachable(
                f"Iceberg catalog {name!r} ({kind} catalog at {_address(config.get('uri'))}) does not answer: "
                f"{type(exc).__name__}; a retry may pass once it is back"
            ) from exc
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    return _open(name, embedded_catalog_properties(settings))


def _open(name: str, properties: dict[str, Any], tries: int = 5) -> Catalog:
    """``load_catalog``, opened again when another process created a SQL catalog's tables at the
    same moment: pyiceberg's SQL catalog checks for its tables, then creates the missing ones, so
    two processes opening a new catalog at once (the first tasks on a fresh warehouse) can both
    find none and one fails with its database's "table ... already exists". Opened again, it
    finds the tables."""
    from sqlalchemy.exc import DBAPIError  # pyiceberg's SQL catalog is built on SQLAlchemy

    for tried in range(1, tries):
        try:
            return load_catalog(name, **properties)
        except DBAPIError as exc:
            if "already exists" not in str(exc):
                raise
            time.sleep(0.05 * tried)
    return load_catalog(name, **properties)


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create ``namespace`` unless it exists, also when another process creates it at the same
    moment (pyiceberg's SQL catalog then raises its database's unique-key error, not
    ``NamespaceAlreadyExistsError``)."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:
        if not any(found == (namespace,) for found in catalog.list_namespaces()):
            raise


def create_table(catalog: Catalog, identifier: tuple[str, str], **create: Any) -> Table:
    """The table ``identifier``, created (``create``: pyiceberg's ``create_table`` arguments) unless
    it exists, also when another process creates it at the same moment: pyiceberg's SQL catalog
    then raises its database's unique-key error, and Iceberg's REST catalog on a JDBC backend
    answers HTTP 500 (``UncheckedSQLException``), not ``TableAlreadyExistsError``."""
    try:
        return catalog.create_table_if_not_exists(identifier, **create)
    except Exception as exc:
        try:
            return catalog.load_table(identifier)  # the other process's table
        except Exception:
            raise exc from None  # not created: the creation's own error says why
