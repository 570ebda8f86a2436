"""A fresh PostgreSQL registry per test: a schema of its own on the local server."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import postgres_uri


@pytest.fixture
def pg_url(pg_schema, services, monkeypatch, tmp_path):
    """``(url, schema, admin)``: a registry URL whose tables go to a new, empty schema."""
    schema = f"chimera_registry_{uuid.uuid4().hex[:12]}"
    admin = pg_schema(schema)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    # Plain postgresql:// as an operator would write it; the schema through libpq's options.
    return f"{postgres_uri(services)}?options=-csearch_path%3D{schema}", schema, admin


@pytest.fixture
def mysql_url(services, monkeypatch, tmp_path, cleanups):
    """``(url, admin)``: a registry URL on the local MariaDB whose tables go to a new, empty
    database, and an autocommit MySQLdb connection to the server; the database is dropped after."""
    import MySQLdb

    from tests.conftest import require_service

    host, port = services["CHIMERA_MYSQL_HOST"], int(services["CHIMERA_MYSQL_PORT"])
    require_service("MariaDB", host, port)
    user, password = services["CHIMERA_MYSQL_USER"], services["CHIMERA_MYSQL_PASSWORD"]
    database = f"chimera_registry_{uuid.uuid4().hex[:12]}"
    admin = MySQLdb.connect(host=host, port=port, user=user, password=password, autocommit=True)
    admin.cursor().execute(f"CREATE DATABASE {database}")

    def drop():
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()

    cleanups(drop)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    return f"mysql://{user}:{password}@{host}:{port}/{database}", admin
