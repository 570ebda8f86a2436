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
