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


def test_writers_of_datahub_lite_queue_for_the_file_instead_of_failing(tmp_path):
    import threading
    import time

    from datahub.emitter.mce_builder import make_dataset_urn
    from datahub.emitter.mcp import MetadataChangeProposalWrapper
    from datahub.metadata.schema_classes import StatusClass
    from filelock import Timeout

    from airflow_provider_chimera.metadata.destination import Destination

    lite = Destination("lite", str(tmp_path / "lite.duckdb"), timeout=0.3)
    urn = make_dataset_urn("postgres", "db.public.orders")
    done: list[float] = []

    def emit():
        with lite.emitter(lock_timeout=30) as emitter:
            emitter.emit(MetadataChangeProposalWrapper(entityUrn=urn, aspect=StatusClass(removed=False)))
        done.append(time.monotonic())

    with lite.exclusive():  # another process's harvest, say
        try:
            lite.emitter()  # the default wait, the emit timeout (0.3 s), runs out
            raise AssertionError("the emitter did not wait for the lock")
        except Timeout:
            pass
        writer = threading.Thread(target=emit)
        writer.start()
        time.sleep(0.5)
        assert done == []  # still waiting, not failed
        released = time.monotonic()
    writer.join(30)
    assert done and done[0] >= released
    assert lite.get(urn)["status"] == {"removed": False}
