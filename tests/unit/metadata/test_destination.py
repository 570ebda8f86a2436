"""DataHub Lite by default; a DataHub server when the datahub_rest_default connection exists."""

from __future__ import annotations

import json

from airflow_provider_chimera.metadata.destination import select_destination
from airflow_provider_chimera.settings import load_settings


def test_datahub_lite_under_airflow_home_by_default(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW__CHIMERA__DATAHUB_LITE_PATH", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", raising=False)
    destination = select_destination(load_settings())
    assert (destination.kind, destination.location) == ("lite", str(tmp_path / "chimera" / "datahub-lite.duckdb"))
    assert destination.sink() == {"type": "datahub-lite", "config": {"type": "duckdb", "config": {"file": destination.location}}}


def test_the_rest_connection_wins_and_its_token_stays_out_of_sight(monkeypatch):
    connection = {"conn_type": "datahub-rest", "host": "datahub-gms", "port": 8080, "password": "tok-123"}
    monkeypatch.setenv("AIRFLOW_CONN_DATAHUB_REST_DEFAULT", json.dumps(connection))
    destination = select_destination(load_settings())
    assert (destination.kind, destination.location, destination.token) == ("rest", "http://datahub-gms:8080", "tok-123")
    assert "tok-123" not in repr(destination) and "tok-123" not in str(destination)
    assert destination.sink()["type"] == "datahub-rest"
