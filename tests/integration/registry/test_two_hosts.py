"""Two hosts, one PostgreSQL registry: what one worker onboards, another worker's tasks and DAG
files see, with nothing shared on disk but the data and the warehouse (issue 16).

Each "host" is a separate process with its own HOME, AIRFLOW_HOME, ``state_dir``, intents folder
and DataHub Lite file; only ``[chimera] sql_alchemy_conn`` is the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.helpers import intent_with, record_schema
from tests.integration.onboarding.topics import topic_dropper

REPO = Path(__file__).resolve().parents[3]
EVENTS_CONN, SMTP_CONN = "qa_two_hosts_events", "qa_two_hosts_smtp"
CUSTOMERS, ORDERS = "shop_files_customers", "shop_files_orders"

GUARD = """
import sys
from airflow.sdk.exceptions import AirflowSkipException
import logging
from airflow_provider_chimera.operators.onboarding import skip_until_onboarded
try:
    skip_until_onboarded("shop", sys.argv[1], logging.getLogger("guard"))
    print("ingests")
except AirflowSkipException as exc:
    print(f"skipped: {exc}")
"""
PARSE = """
import json
from airflow_provider_chimera.pipelines import discover
from airflow_provider_chimera.settings import load_settings
found = discover(load_settings().intents_dir)
print(json.dumps({"pipelines": sorted(p.id for p in found.pipelines), "pending": found.pending}))
"""
ONBOARD = "from airflow_provider_chimera.cli.app import main; main()"


def _object(name: str) -> dict:
    return {
        "name": name, "path": f"{name}.csv", "format": "csv", "schema": record_schema(["id"], id="long", label="string"),
        "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": f"two_hosts_{name}"}},
    }


class Host:
    """One machine: its own home, state folder, intents folder (a git checkout) and DataHub Lite file."""

    def __init__(self, base: Path, name: str, shared: dict[str, str]):
        self.home = base / name
        self.intents = self.home / "intents"
        self.intents.mkdir(parents=True)
        self.state_dir = self.home / "state"
        self.env = {
            **os.environ, **shared, "HOME": str(self.home), "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CHIMERA__STATE_DIR": str(self.state_dir), "AIRFLOW__CHIMERA__INTENTS_DIR": str(self.intents),
            "AIRFLOW__CHIMERA__DATAHUB_LITE_PATH": str(self.home / "datahub-lite.duckdb"),
            "PYTHONPATH": str(REPO),
        }

    def write_intent(self, data_dir: Path, *objects: str) -> Path:
        data = intent_with({"name": "files", "type": "file", "connection": {"uri": data_dir.as_uri()},
                            "objects": [_object(o) for o in objects]}, name="shop")
        path = self.intents / "shop.json"
        path.write_text(json.dumps(data, indent=1))
        return path

    def python(self, code: str, *args: str) -> str:
        done = subprocess.run([sys.executable, "-c", code, *args], env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def hosts(tmp_path, pg_url, services, monkeypatch, cleanups, smtp_server):
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS

    bootstrap = services["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    smtp_server(SMTP_CONN)  # its connection is in the environment both hosts inherit
    suffix = uuid.uuid4().hex[:8]
    topics = {option: f"chimera.test.two-hosts.{kind}.{suffix}" for kind, option in STEPS.items()}
    cleanups(topic_dropper(AdminClient({"bootstrap.servers": bootstrap}), topics.values()))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("customers", "orders"):
        (data / f"{name}.csv").write_text("id,label\n1,a\n")
    shared = {
        "AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN": pg_url[0],
        "AIRFLOW__CHIMERA__WAREHOUSE": str(tmp_path / "warehouse"),
        "AIRFLOW__CHIMERA__CATALOG_NAME": "chimera_test",
        "AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID": EVENTS_CONN,
        "AIRFLOW__CHIMERA__SMTP_CONN_ID": SMTP_CONN,
        f"AIRFLOW_CONN_{EVENTS_CONN.upper()}": json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap}}),
        **{f"AIRFLOW__CHIMERA__{option.upper()}": topic for option, topic in topics.items()},
    }
    return Host(tmp_path, "worker-a", shared), Host(tmp_path, "worker-b", shared), data


def test_a_run_on_worker_b_sees_the_onboarding_done_on_worker_a(hosts):
    a, b, data = hosts
    path_a = a.write_intent(data, "customers")
    b.write_intent(data, "customers")  # the same git checkout on both hosts

    assert b.python(GUARD, CUSTOMERS).startswith(f"skipped: pipeline {CUSTOMERS} waits for onboarding: intent shop has not completed")

    a.python(ONBOARD, "onboard", str(path_a))

    assert b.python(GUARD, CUSTOMERS) == "ingests"
    # A new version reaches worker B's checkout: its DAG file keeps the onboarded scope, which it
    # reads from the registry while parsing, and the added object waits for onboarding.
    b.write_intent(data, "customers", "orders")
    parsed = json.loads(b.python(PARSE))
    assert parsed["pipelines"] == [CUSTOMERS]
    assert parsed["pending"] == [f"{b.intents / 'shop.json'}: files/orders: added since the onboarded version; waits for onboarding"]
    assert "waits for onboarding" in b.python(GUARD, ORDERS)
    # Neither host kept any of it on its own disk: not even DataHub Lite's file, which the harvest
    # left to the chimera_metadata DAG's writer, queued in the shared registry.
    assert not a.state_dir.exists() and not b.state_dir.exists()
    assert not Path(a.env["AIRFLOW__CHIMERA__DATAHUB_LITE_PATH"]).exists()
    from airflow_provider_chimera.metadata.queue import queued_count
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry(url=a.env["AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN"]) as registry:
        assert queued_count(registry) > 0
