"""The DAG factory inside a running Airflow 3: every trigger kind, pools, and a broken intent.

Runs on the real processes (see airflow_stack.py) that this module shares with others (see
conftest.py), with its own intents sub-folder; each test drives them through the REST API v2, as a
user would.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import SERVICES
from tests.e2e.airflow_stack import AirflowStack
from tests.helpers import DECLARATION

TOPIC = f"e2e.clicks.{uuid.uuid4().hex[:8]}"
CUSTOMERS = {
    "fields": [
        {"name": "customer_id", "type": "long", "nullable": False},
        {"name": "name", "type": "string"},
        {"name": "email", "type": "string"},
        {"name": "country", "type": "string"},
        {"name": "signup_date", "type": "date"},
    ]
}
CLICKS = {"fields": [{"name": "user_id", "type": "string"}, {"name": "n", "type": "long"}]}


def _object(name: str, trigger: dict, table: str, mode: str = "full", priority: str = "medium") -> dict:
    return {
        "name": name,
        "path": "customers.csv",
        "format": "csv",
        "schema": CUSTOMERS,
        "ingestion": {"trigger": trigger, "mode": {"type": mode}, "target": {"table": table}, "priority": priority},
    }


INTENT = {
    "version": 1,
    "name": "e2e_shop",
    "team": {"name": "e2e-team", "support_email": "e2e@example.com"},
    "project": "e2e",
    "declaration": DECLARATION,
    "sources": [
        {
            "name": "files",
            "type": "file",
            "connection": {"uri": "file://${env:CHIMERA_SAMPLE_DATA}/retail"},
            "objects": [
                _object("adhoc", {"type": "adhoc"}, "customers", priority="critical"),
                _object("timed", {"type": "timed", "schedule": "* * * * *"}, "customers_timed"),
                _object("downstream", {"type": "event", "on": "iceberg://chimera.e2e.customers"}, "customers_downstream"),
            ],
        },
        {
            "name": "clicks",
            "type": "kafka",
            "connection": {"conn_id": "e2e_kafka"},
            "objects": [
                {
                    "name": TOPIC,
                    "schema": CLICKS,
                    "ingestion": {
                        "trigger": {"type": "event", "on": TOPIC},
                        "mode": {"type": "incremental"},
                        "target": {"table": "clicks"},
                    },
                }
            ],
        },
    ],
}
TOPIC_ID = "e2e_shop_clicks_" + TOPIC.replace(".", "_")
IDS = {"e2e_shop_files_adhoc", "e2e_shop_files_timed", "e2e_shop_files_downstream", TOPIC_ID}
OWN = {"chimera_registry_sync", "chimera_maintenance", "chimera_metadata", "chimera_timeliness", "chimera_recovery", "chimera_onboard__e2e_shop"}


@pytest.fixture(scope="module")
def airflow(shared_airflow):
    bootstrap = SERVICES["CHIMERA_KAFKA_BOOTSTRAP"]
    from tests.helpers import create_kafka_topic

    admin = create_kafka_topic(bootstrap, TOPIC)

    stack = shared_airflow.airflow
    intents = shared_airflow.folder("factory")
    (intents / "e2e_shop.json").write_text(json.dumps(INTENT))
    (intents / "broken_team.json").write_text(json.dumps({**INTENT, "name": "broken_team", "team": {"name": "x"}}))
    try:
        # Pools first, as an operator would: `chimera pools sync` is idempotent.
        stack.run("chimera", "pools", "sync")
        # chimera_registry_sync (every minute here) starts the intent's onboarding by itself.
        stack.wait_for_run("chimera_onboard__e2e_shop", timeout=300)
        stack.wait(lambda: IDS <= stack.dag_ids(), 180, "the factory's DAGs to be parsed")
        yield stack
    finally:
        for dag_id in IDS & stack.dag_ids():  # the timed DAG and the topic's watcher load no later module
            stack.pause(dag_id)
        admin.delete_topics([TOPIC])


def _rows(stack: AirflowStack, table: str) -> int:
    out = stack.run("chimera", "tables", "--format", "json").stdout
    return {row["target"]: row["rows"] for row in json.loads(out)}.get(table, 0)


def test_exactly_the_expected_dags_and_the_broken_intent_is_an_import_error(airflow, shared_airflow):
    shared = shared_airflow
    assert shared.of("factory", airflow.dag_ids()) == IDS | OWN
    listed = airflow.run("airflow", "dags", "list", "--output", "json")
    line = next(l for l in listed.stdout.splitlines() if l.startswith("["))
    assert shared.of("factory", {d["dag_id"] for d in json.loads(line)}) == IDS | OWN
    # Exits 1 when there are import errors, as here.
    import_errors = airflow.run("airflow", "dags", "list-import-errors", "--output", "json", check=False).stdout
    assert "chimera_intent_errors.py" in import_errors and "broken_team.json" in import_errors
    errors = airflow.wait(lambda: airflow.get("/importErrors")["import_errors"], 60, "the import error")
    (error,) = errors
    assert error["filename"].endswith("chimera_intent_errors.py")
    assert "broken_team.json: /team/support_email: Field required" in error["stack_trace"]
    cli = airflow.run("chimera", "dags", "list", "--errors", check=False)
    assert "broken_team.json" in cli.stdout + cli.stderr


def test_adhoc_runs_from_the_rest_api_and_its_table_event_triggers_the_downstream_dag(airflow):
    downstream = "e2e_shop_files_downstream"
    airflow.unpause(downstream)
    airflow.unpause("e2e_shop_files_adhoc")
    assert airflow.runs("e2e_shop_files_adhoc") == []  # adhoc: no schedule
    airflow.trigger("e2e_shop_files_adhoc")
    run = airflow.wait_for_run("e2e_shop_files_adhoc")
    assert run["run_type"] == "manual"
    assert _rows(airflow, "e2e.customers") == 50
    # The adhoc run's commit is an event on iceberg://chimera.e2e.customers: the downstream DAG runs.
    event_run = airflow.wait_for_run(downstream, run_type="asset_triggered")
    assert event_run["state"] == "success"
    assert _rows(airflow, "e2e.customers_downstream") == 50
    ti = airflow.get(f"/dags/e2e_shop_files_adhoc/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"][0]
    assert ti["pool"] == "chimera__e2e_team__file"
    assert ti["priority_weight"] == 1000


def test_timed_dag_runs_on_its_schedule(airflow):
    airflow.unpause("e2e_shop_files_timed")
    run = airflow.wait_for_run("e2e_shop_files_timed", timeout=180, run_type="scheduled")
    assert run["run_type"] == "scheduled"
    assert _rows(airflow, "e2e.customers_timed") == 50


def test_kafka_topic_event_starts_a_run_through_the_asset_watcher(airflow):
    from confluent_kafka import Producer

    airflow.unpause(TOPIC_ID)
    producer = Producer({"bootstrap.servers": SERVICES["CHIMERA_KAFKA_BOOTSTRAP"]})
    for n in range(5):
        producer.produce(TOPIC, json.dumps({"user_id": f"u{n}", "n": n}).encode())
    assert producer.flush(30) == 0
    run = airflow.wait_for_run(TOPIC_ID, timeout=240, run_type="asset_triggered")
    assert run["run_type"] == "asset_triggered"
    assert _rows(airflow, "e2e.clicks") >= 1


def test_pools_exist_with_their_slots(airflow):
    pools = {p["name"]: p["slots"] for p in airflow.get("/pools")["pools"]}
    assert pools["chimera__e2e_team__file"] >= 1
    assert pools["chimera__e2e_team__e2e_kafka"] >= 1
    again = airflow.run("chimera", "pools", "sync", "--format", "json")
    assert {p["change"] for p in json.loads(again.stdout)["pools"]} == {"unchanged"}


def test_registry_sync_dag_audits_the_factory_decisions(airflow, shared_airflow):
    """chimera_registry_sync runs unpaused on its schedule and records each decision once."""
    airflow.wait_for_run("chimera_registry_sync", timeout=240)

    def audited():
        out = airflow.run("chimera", "audit", "--format", "json", check=False).stdout
        return json.loads(out) if out.strip().startswith("[") else []

    entries = airflow.wait(audited, 60, "audit entries")
    created = sorted(e["details"]["pipeline"] for e in entries if e["action"] == "pipeline.created")
    ours = shared_airflow.of("factory", set(created))  # the other modules' pipelines left out, not the repeats
    assert [d for d in created if d in ours] == sorted(IDS)
    rejected = [e for e in entries if e["action"] == "intent.rejected"]
    assert [e["intent"] for e in rejected] == ["broken_team"]
    assert all(e["actor"].startswith("airflow:chimera_registry_sync/") for e in rejected)
