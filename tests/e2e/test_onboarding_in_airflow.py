"""Onboarding inside a running Airflow 3: a team drops its intent file and does nothing else.

The real processes (see airflow_stack.py; the stack shared with other modules, see conftest.py)
watch an empty intents folder; the test copies the
sample intent into it and then only observes: the three onboarding events on their Kafka topics,
in order; the team's mailbox (a local SMTP server); DataHub Lite; a real Superset. A user then triggers the first
ingestion runs through the REST API, as they would, and the lineage edge and the "table ready"
mails follow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest

from tests.conftest import REPO, SERVICES
from tests.e2e.airflow_stack import AirflowStack
from tests.mailbox import Inbox

INTENT = REPO / "intents" / "retail_shop.json"
TEAM_EMAIL = "retail-data@example.com"
ORDERS = "retail_shop_shop_db_public_orders"
CUSTOMERS = "retail_shop_shop_files_customers"


def _messages(bootstrap: str, topic: str, until: float, want: int = 1) -> list:
    """The sample intent's messages of ``topic`` (waits until ``want`` arrived or ``until``, then 2 s
    more); the events of other modules' intents on the shared stack are left out."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found, quiet = [], None
    try:
        while time.monotonic() < until and (quiet is None or time.monotonic() < quiet):
            message = consumer.poll(0.5)
            if message is not None and not message.error() and json.loads(message.value())["subject"] == INTENT.stem:
                found.append((message.timestamp()[1], json.loads(message.value())))
                if len(found) >= want:
                    quiet = time.monotonic() + 2
    finally:
        consumer.close()
    return found


@pytest.fixture(scope="module")
def stack(shared_airflow):
    """The shared stack (tests/e2e/conftest.py) with this module's intents folder, empty: the team's
    file arrives while Airflow runs. Its ``inbox`` holds only the team's mails."""
    seed = subprocess.run([str(REPO / ".venv/bin/python"), "scripts/seed_demo.py"], env={**SERVICES}, cwd=REPO, capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr  # the sample intent's PostgreSQL table, public.orders
    shared = shared_airflow
    intents = shared.folder("onboarding")
    try:
        yield SimpleNamespace(airflow=shared.airflow, intents=intents, topics=shared.topics, bootstrap=shared.bootstrap,
                              inbox=_TeamInbox(shared.inbox, TEAM_EMAIL), superset=shared.superset)
    finally:
        dag_ids = shared.airflow.dag_ids()
        for dag_id in (ORDERS, CUSTOMERS):
            if dag_id in dag_ids:
                shared.airflow.pause(dag_id)


class _TeamInbox:
    """The mails of the shared SMTP server sent to ``rcpt`` alone (other modules' teams get theirs)."""

    def __init__(self, inbox: Inbox, rcpt: str):
        self._inbox, self._rcpt = inbox, rcpt

    @property
    def messages(self) -> list:
        return [(rcpts, message) for rcpts, message in self._inbox.messages if self._rcpt in rcpts]

    def subjects(self) -> list[str]:
        return [message["Subject"] for _, message in self.messages]


def _write_metadata(airflow: AirflowStack) -> None:
    """One run of DataHub Lite's writer (``chimera_metadata``): what is queued in the registry is in the file after."""
    run_id = airflow.trigger("chimera_metadata")

    def finished() -> dict | None:
        run = airflow.get(f"/dags/chimera_metadata/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    assert airflow.wait(finished, 120, f"chimera_metadata run {run_id}", every=2)["state"] == "success", airflow.logs()


def _show(airflow: AirflowStack, urn: str) -> dict:
    out = airflow.run("chimera", "catalog", "show", urn, "--format", "json")
    return json.loads(out.stdout)["aspects"]


def _tags(entity: dict) -> dict[str, list[str]]:
    info = entity["editableSchemaMetadata"]["editableSchemaFieldInfo"]
    return {i["fieldPath"]: [t["tag"] for t in i["globalTags"]["tags"]] for i in info}


def test_a_dropped_intent_file_is_onboarded_announced_and_its_tables_become_ready(stack):
    from airflow_provider_chimera.onboarding.superset import rison

    airflow, inbox = stack.airflow, stack.inbox
    shutil.copy(INTENT, stack.intents / INTENT.name)  # the team's only action

    # The registry sync notices the file and starts chimera_onboard__retail_shop; its steps run.
    until = time.monotonic() + 420
    events = {kind: _messages(stack.bootstrap, topic, until) for kind, topic in stack.topics.items()}
    assert {kind: len(found) for kind, found in events.items()} == dict.fromkeys(stack.topics, 1), airflow.logs()
    (onboarding, completion, discovery) = (events[k][0] for k in ("datasource-onboarding", "onboarding-completion", "data-discovery-available"))
    assert onboarding[0] <= completion[0] <= discovery[0]  # Kafka timestamps: in the workflow's order
    assert [e[1]["type"] for e in (onboarding, completion, discovery)] == [
        "io.chimera.datasource-onboarding", "io.chimera.onboarding-completion", "io.chimera.data-discovery-available",
    ]
    data = completion[1]["data"]
    assert (data["intent"], data["team"], data["project"]) == ("retail_shop", "retail-analytics", "retail")
    assert sorted(data["targets"]) == ["retail.customers", "retail.orders", "retail.web_events"]
    run = airflow.wait_for_run("chimera_onboard__retail_shop", timeout=120)
    assert run["run_type"] == "asset_triggered"  # started by the registry sync, not by a person
    airflow.wait(lambda: len(inbox.messages) >= 2, 60, "the onboarding mails")
    assert inbox.subjects() == ["Chimera: retail_shop onboarding completed", "Chimera: retail_shop data discovery available"]
    assert all(rcpt == [TEAM_EMAIL] for rcpt, _ in inbox.messages)

    # Superset: the PostgreSQL source is a database, its table a dataset, linked from the event.
    api = stack.superset.api()
    query = rison({"filters": [{"col": "database_name", "opr": "eq", "value": "chimera retail_shop shop_db"}]})
    (database_id,) = api.get("/api/v1/database/", params={"q": query}).raise_for_status().json()["ids"]
    query = rison({"filters": [{"col": "database", "opr": "rel_o_m", "value": database_id}], "columns": ["id", "schema", "table_name"]})
    (dataset,) = api.get("/api/v1/dataset/", params={"q": query}).raise_for_status().json()["result"]
    assert (dataset["schema"], dataset["table_name"]) == ("public", "orders")
    assert discovery[1]["data"]["superset"] == {
        "shop_db/public.orders": f"{stack.superset.url}/explore/?datasource_type=table&datasource_id={dataset['id']}"
    }

    # The harvest queued the sources and their Iceberg targets in the registry; once DataHub Lite's
    # one writer ran, it holds them, with fields, owner and tags.
    _write_metadata(airflow)
    urns = data["datahub_urns"]
    customers_source = _show(airflow, urns["shop_files/customers"])
    customers_target = _show(airflow, "urn:li:dataset:(urn:li:dataPlatform:iceberg,retail.customers,PROD)")
    for entity in (customers_source, customers_target):
        assert [f["fieldPath"] for f in entity["schemaMetadata"]["fields"]] == ["customer_id", "name", "email", "country", "signup_date"]
        assert entity["ownership"]["owners"][0]["owner"] == "urn:li:corpGroup:retail-analytics"
        assert _tags(entity) == {"name": ["urn:li:tag:pii"], "email": ["urn:li:tag:pii"]}
    orders_source = urns["shop_db/public.orders"]
    assert orders_source.startswith("urn:li:dataset:(urn:li:dataPlatform:postgres,")

    # A user runs the pipelines, now onboarded, from the REST API: the guard lets them through.
    for dag_id in (ORDERS, CUSTOMERS):
        airflow.unpause(dag_id)
        airflow.trigger(dag_id)
    for dag_id in (ORDERS, CUSTOMERS):
        done = airflow.wait_for_run(dag_id, timeout=240, run_type="manual")
        states = {ti["task_id"]: ti["state"] for ti in airflow.get(f"/dags/{dag_id}/dagRuns/{done['dag_run_id']}/taskInstances")["task_instances"]}
        assert states == {"ingest": "success"}

    # The ingest tasks queued their lineage in the registry; DataHub Lite's one writer writes it.
    _write_metadata(airflow)
    orders_target = _show(airflow, "urn:li:dataset:(urn:li:dataPlatform:iceberg,retail.orders,PROD)")
    assert [u["dataset"] for u in orders_target["upstreamLineage"]["upstreams"]] == [orders_source]
    airflow.wait(lambda: len(inbox.messages) >= 4, 60, "the table-ready mails")
    assert sorted(inbox.subjects()[2:]) == [
        "Chimera: retail.customers is ready to query (retail_shop)",
        "Chimera: retail.orders is ready to query (retail_shop)",
    ]

    # Nothing more happens on the next registry syncs: the intent is unchanged.
    airflow.wait(lambda: len([r for r in airflow.runs("chimera_registry_sync") if r["state"] == "success"]) >= 2, 150, "another registry sync")
    again = {kind: _messages(stack.bootstrap, topic, time.monotonic() + 5) for kind, topic in stack.topics.items()}
    assert {kind: len(found) for kind, found in again.items()} == dict.fromkeys(stack.topics, 1)
    assert len([r for r in airflow.runs("chimera_onboard__retail_shop")]) == 1
