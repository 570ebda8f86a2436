"""``chimera onboard`` on a PostgreSQL intent against the local services: every step, the three
events on Kafka, the team's mail, DataHub Lite; onboarding it again sends nothing; a source that
cannot be read stops at its step, and the team hears how to retry."""

from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tests.conftest import require_service
from tests.integration.onboarding.topics import topic_dropper
from tests.helpers import intent_with

PG_CONN = "qa_onboard_pg"
EVENTS_CONN = "qa_onboard_events"
SMTP_CONN = "qa_onboard_smtp"
TEAM = {"name": "qa", "support_email": "qa-onboard@example.com"}


@pytest.fixture
def home(tmp_path, monkeypatch, services, cleanups, pg_schema, smtp_server):
    from confluent_kafka.admin import AdminClient

    from airflow_provider_chimera.onboarding.events import STEPS

    bootstrap = services["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    monkeypatch.setenv(f"AIRFLOW_CONN_{EVENTS_CONN.upper()}", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap}}))
    suffix = uuid.uuid4().hex[:8]
    topics = {kind: f"chimera.test.onboard.{kind}.{suffix}" for kind in STEPS}
    for kind, option in STEPS.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option.upper()}", topics[kind])
    intents = tmp_path / "intents"
    intents.mkdir()
    for option, value in {
        "EVENTS_KAFKA_CONN_ID": EVENTS_CONN,
        "SMTP_CONN_ID": SMTP_CONN,
        "SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATE_DIR": str(tmp_path / "state"),
        "INTENTS_DIR": str(intents),
        "WAREHOUSE": str(tmp_path / "warehouse"),
        "DATAHUB_LITE_PATH": str(tmp_path / "datahub-lite.duckdb"),
    }.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", value)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    cleanups(topic_dropper(admin, topics.values()))
    pg = pg_schema("qa_onboard", conn_id=PG_CONN)
    pg.execute("CREATE TABLE qa_onboard.customers (id bigint PRIMARY KEY, name text, updated_at timestamptz)")
    smtp = smtp_server(SMTP_CONN)
    return SimpleNamespace(intents=intents, topics=topics, bootstrap=bootstrap, smtp=smtp, state=tmp_path / "state", pg=pg)


def _intent_file(folder, table: str):
    data = intent_with(
        {
            "name": "crm",
            "type": "postgres",
            "connection": {"conn_id": PG_CONN},
            "objects": [
                {
                    "name": f"qa_onboard.{table}",
                    "ingestion": {
                        "trigger": {"type": "timed", "schedule": "@hourly"},
                        "mode": {"type": "incremental", "cursor": "updated_at"},
                        "target": {"namespace": "qa", "table": table},
                    },
                }
            ],
        },
        name="qa_onboard",
        team=TEAM,
    )
    path = folder / "qa_onboard.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _messages(bootstrap: str, topic: str, timeout: float = 20.0) -> list:
    """Every message of ``topic`` (waits for at least one, then 3 s more)."""
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found, deadline, quiet = [], time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline and (quiet is None or time.monotonic() < quiet):
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                found.append(json.loads(message.value()))
                quiet = time.monotonic() + 3
    finally:
        consumer.close()
    return found


def _steps(output: str) -> list[str]:
    """The mark and name of each step the command printed (``✓ validate``)."""
    return [line.split(":")[0] for line in output.splitlines() if line[:2] in ("✓ ", "= ", "- ", "✗ ")]


def _onboard(*args: str):
    from airflow_provider_chimera.cli.app import app

    return CliRunner().invoke(app, ["onboard", *args])


def test_chimera_onboard_runs_every_step_once_against_the_real_services(home):
    from airflow_provider_chimera.onboarding.state import ingestion_blocker
    from airflow_provider_chimera.onboarding.workflow import STEPS

    path = _intent_file(home.intents, "customers")

    first = _onboard(str(path))

    assert first.exit_code == 0, first.output
    assert _steps(first.output) == [f"✓ {step}" for step in STEPS]
    assert any(line.startswith("qa_onboard version ") and line.endswith(": onboarding completed") for line in first.output.splitlines())
    events = {kind: _messages(home.bootstrap, topic) for kind, topic in home.topics.items()}
    assert {kind: [e["type"] for e in found] for kind, found in events.items()} == {
        kind: [f"io.chimera.{kind}"] for kind in home.topics
    }
    data = events["onboarding-completion"][0]["data"]
    assert (data["intent"], data["targets"]) == ("qa_onboard", ["qa.customers"])
    assert data["datahub_urns"]["crm/qa_onboard.customers"].startswith("urn:li:dataset:(urn:li:dataPlatform:postgres,")
    assert [(rcpt, m["Subject"]) for rcpt, m in home.smtp.inbox.messages] == [
        ([TEAM["support_email"]], "Chimera: qa_onboard onboarding completed"),
        ([TEAM["support_email"]], "Chimera: qa_onboard data discovery available"),
    ]
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry, registry.session(read_only=True) as session:
        assert ingestion_blocker(session, "qa_onboard", "qa_onboard_crm_qa_onboard_customers") is None

    again = _onboard(str(path))

    assert again.exit_code == 0, again.output
    assert _steps(again.output) == [f"= {step}" for step in STEPS]
    assert {kind: len(_messages(home.bootstrap, topic, timeout=5)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 1)
    assert len(home.smtp.inbox.messages) == 2


def test_a_table_that_does_not_exist_stops_onboarding_at_the_connectivity_test(home):
    path = _intent_file(home.intents, "no_such_table")

    failed = _onboard(str(path))

    assert failed.exit_code == 2, failed.output
    assert _steps(failed.output) == ["✓ validate", "✗ test_connectivity"]
    assert "✗ test_connectivity: source crm (postgres): 1 of 1 object(s) cannot be read: qa_onboard.no_such_table" in failed.output
    assert "to retry: fix the cause, then clear task test_connectivity of DAG chimera_onboard__qa_onboard" in failed.output
    assert f"`chimera onboard {path} --from-step test_connectivity`" in failed.output
    assert [m["Subject"] for _, m in home.smtp.inbox.messages] == ["Chimera: qa_onboard onboarding failed at test_connectivity"]
    assert {kind: len(_messages(home.bootstrap, topic, timeout=3)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 0)

    # The source is fixed; the retry resumes at the failed step and completes, each event once.
    home.pg.execute("CREATE TABLE qa_onboard.no_such_table (id bigint PRIMARY KEY, name text, updated_at timestamptz)")
    retried = _onboard(str(path), "--from-step", "test_connectivity")

    assert retried.exit_code == 0, retried.output
    assert _steps(retried.output)[0] == "✓ test_connectivity"
    assert {kind: len(_messages(home.bootstrap, topic)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 1)
    again = _onboard(str(path))
    assert again.exit_code == 0, again.output
    assert {kind: len(_messages(home.bootstrap, topic, timeout=5)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 1)


def _audited(intent: str) -> list[str]:
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry, registry.session(read_only=True) as session:
        return [e.action for e in reversed(entries(session, intent=intent, limit=None))]


def test_a_missing_event_connection_stops_onboarding_before_any_step_naming_how_to_create_it(home, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__EVENTS_KAFKA_CONN_ID", "qa_onboard_no_events")
    path = _intent_file(home.intents, "customers")

    failed = _onboard(str(path))

    assert failed.exit_code == 2, failed.output
    assert _steps(failed.output) == ["✗ preflight"]
    assert "✗ preflight: 1 problem(s) to fix before onboarding qa_onboard; no step has run" in failed.output
    assert ("1. event connection: connection 'qa_onboard_no_events' is not defined ([chimera] events_kafka_conn_id): "
            "onboarding publishes its events through it") in failed.output
    assert ("to fix: create it: `airflow connections add qa_onboard_no_events --conn-type kafka --conn-extra "
            "'{\"bootstrap.servers\": \"<host:port>,...\"}'`") in failed.output
    assert _audited("qa_onboard") == []
    assert home.smtp.inbox.messages == []
    assert {kind: len(_messages(home.bootstrap, topic, timeout=3)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 0)

    # Created as it says, onboarding runs every step.
    monkeypatch.setenv("AIRFLOW_CONN_QA_ONBOARD_NO_EVENTS", json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": home.bootstrap}}))
    fixed = _onboard(str(path))
    assert fixed.exit_code == 0, fixed.output
    assert {kind: len(_messages(home.bootstrap, topic)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 1)


def test_a_missing_mail_connection_warns_and_onboards(home, monkeypatch):
    from airflow_provider_chimera.onboarding.workflow import STEPS

    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", "qa_onboard_no_smtp")
    path = _intent_file(home.intents, "customers")

    result = _onboard(str(path))

    assert result.exit_code == 0, result.output
    assert _steps(result.output) == [f"✓ {step}" for step in STEPS]
    assert ("⚠ mail connection: connection 'qa_onboard_no_smtp' is not defined ([chimera] smtp_conn_id): team 'qa' "
            "(qa-onboard@example.com) is not mailed about this onboarding or its pipelines; onboarding goes on") in result.output
    assert "to fix: create it: `airflow connections add qa_onboard_no_smtp --conn-type smtp" in result.output
    assert home.smtp.inbox.messages == []
    assert {kind: len(_messages(home.bootstrap, topic)) for kind, topic in home.topics.items()} == dict.fromkeys(home.topics, 1)
    assert _audited("qa_onboard")[-1] == "onboarding.notify"


def test_an_empty_landing_folder_warns_and_onboards(home, tmp_path):
    from airflow_provider_chimera.onboarding.workflow import STEPS

    landing = tmp_path / "landing"
    landing.mkdir()
    data = intent_with(
        {
            "name": "drops",
            "type": "file",
            "connection": {"uri": landing.as_uri()},
            "objects": [{
                "name": "orders",
                "path": "orders/*.csv",
                "format": "csv",
                "schema": {"fields": [{"name": "id", "type": "long", "nullable": False}, {"name": "total", "type": "double"}]},
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "incremental"},
                              "target": {"namespace": "qa", "table": "landing_orders"}},
            }],
        },
        name="qa_landing",
        team=TEAM,
    )
    path = home.intents / "qa_landing.json"
    path.write_text(json.dumps(data, indent=1))

    result = _onboard(str(path))

    assert result.exit_code == 0, result.output
    assert _steps(result.output) == [f"✓ {step}" for step in STEPS]
    assert ("  ⚠ source drops (file): orders: path 'orders/*.csv' matches no file yet; its schema is declared, so "
            "onboarding goes on and its runs load the files as they arrive") in result.output.splitlines()
    data = _messages(home.bootstrap, home.topics["onboarding-completion"])[0]["data"]
    assert (data["intent"], data["targets"]) == ("qa_landing", ["qa.landing_orders"])
