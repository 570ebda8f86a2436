"""The timeliness check on a real Iceberg table: on time, early warning, late — recorded in the
registry, mailed to the team through a local SMTP server, and published on a Kafka topic."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import time
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tests.conftest import SERVICES
from tests.helpers import intent_with, json_events_on

PIPELINE = "qa_sla_files_things"
UNRUN = "qa_sla_files_later"  # same intent, never run: its table does not exist
SMTP_CONN = "chimera_test_smtp"
EVENTS_CONN = "chimera_test_events"
SUPPORT = "qa-support@example.com"


@pytest.fixture
def smtp(smtp_server):
    """``smtp.start()`` runs a local SMTP server on the port the ``chimera_test_smtp`` connection names."""
    return smtp_server(SMTP_CONN, started=False)


@pytest.fixture
def home(tmp_path, monkeypatch, kafka_topic):
    """Settings of a fresh warehouse, registry and intents folder; the qa_sla intent in it."""
    from airflow_provider_chimera.settings import load_settings

    topic = kafka_topic("chimera.events.test", conn_id=EVENTS_CONN)
    data = tmp_path / "data"
    data.mkdir()
    (data / "things.csv").write_text("id,name\n1,one\n2,two\n")
    intents = tmp_path / "intents"
    intents.mkdir()

    def obj(name: str, table: str, sla: dict) -> dict:
        schema = {"fields": [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}]}
        ingestion = {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": table}, "sla": sla}
        return {"name": name, "path": "*.csv", "format": "csv", "schema": schema, "ingestion": ingestion}

    source = {
        "name": "files",
        "type": "file",
        "connection": {"uri": data.as_uri()},
        "objects": [obj("things", "things", {"fresh_within": "PT2H", "warn_after": "PT90M"}), obj("later", "later", {"fresh_within": "P1D"})],
    }
    intent = intent_with(source, name="qa_sla", team={"name": "qa", "support_email": SUPPORT})
    (intents / "qa_sla.json").write_text(json.dumps(intent))
    for option, value in {
        "WAREHOUSE": tmp_path / "warehouse",
        "CATALOG_NAME": "chimera_test",
        "SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATE_DIR": tmp_path / "state",
        "INTENTS_DIR": intents,
        "SMTP_CONN_ID": SMTP_CONN,
        "EVENTS_KAFKA_CONN_ID": EVENTS_CONN,
        "EVENTS_TOPIC": topic,
    }.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", str(value))
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    return SimpleNamespace(settings=load_settings(), topic=topic)


def _events_on(topic: str, count: int) -> list[dict]:
    return json_events_on(SERVICES["CHIMERA_KAFKA_BOOTSTRAP"], topic, count)


def _registry(home):
    from airflow_provider_chimera.registry.db import open_registry

    return open_registry(home.settings)


def _rows(home, model):
    from sqlalchemy import select

    with _registry(home).session() as session:
        return list(session.scalars(select(model).order_by(*model.__table__.primary_key.columns)))


def test_stale_pipeline_warns_then_is_late_and_the_team_is_told(home, smtp):
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.governance.sla_check import run_timeliness
    from airflow_provider_chimera.operators.timeliness import TimelinessOperator
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.models import SlaEventRow, SlaStatusRow
    from airflow_provider_chimera.writer.catalog import chimera_catalog
    from tests.helpers import run_pipeline

    (pipeline,) = [p for p in discover(home.settings.intents_dir).pipelines if p.id == PIPELINE]
    assert run_pipeline(pipeline)["rows"] == 2
    table = chimera_catalog(home.settings).load_table("qa.things")
    published_snapshot = table.current_snapshot()
    published = dt.datetime.fromtimestamp(published_snapshot.timestamp_ms / 1000, dt.UTC)
    # A later commit that is not the pipeline's (as compaction or retention makes) is no fresh data.
    time.sleep(0.01)
    table.append(table.scan().to_arrow().slice(0, 1))
    assert table.refresh().current_snapshot().snapshot_id != published_snapshot.snapshot_id

    # The DAG's task, now: on time, recorded without a notice; the unrun pipeline is unknown.
    counts = TimelinessOperator(task_id="check").execute({"dag": SimpleNamespace(dag_id="chimera_timeliness"), "run_id": "manual__1"})
    assert counts == {"checked": 2, "changed": 2, "notified": 0, "notice_failures": 0, "errors": 0}
    status = {row.pipeline_id: row for row in _rows(home, SlaStatusRow)}
    assert (status[PIPELINE].state, status[PIPELINE].since, status[PIPELINE].last_published_at) == ("on_time", published, published)
    assert (status[UNRUN].state, status[UNRUN].last_published_at) == ("unknown", None)

    # 100 minutes after the publication, with the SMTP server down: an early warning, recorded
    # and sent on Kafka; the email fails and is kept for the next run.
    report = run_timeliness(home.settings, now=published + dt.timedelta(minutes=100))
    assert report.changed == [PIPELINE]
    assert [f.split(": ")[:3] for f in report.notice_failures] == [[PIPELINE, "email", "ConnectionRefusedError"]]
    (warning,) = [e for e in _rows(home, SlaEventRow) if e.to_state == "warning"]
    assert warning.notified["email"]["status"] == "failed" and warning.notified["email"]["attempts"] == 1
    assert warning.notified["kafka"] == {**warning.notified["kafka"], "status": "sent", "to": home.topic, "attempts": 1}

    # Ten minutes later, server up: still a warning (no new change), and the email goes out now.
    smtp.start()
    report = run_timeliness(home.settings, now=published + dt.timedelta(minutes=110))
    assert (report.changed, report.notified, report.notice_failures) == ([], [PIPELINE], [])

    # Past fresh_within: late, both notices sent at once.
    report = run_timeliness(home.settings, now=published + dt.timedelta(minutes=121))
    assert (report.changed, report.notified, report.notice_failures) == ([PIPELINE], [PIPELINE], [])

    events = [(e.pipeline_id, e.from_state, e.to_state, e.last_published_at) for e in _rows(home, SlaEventRow)]
    assert events == [
        (PIPELINE, None, "on_time", published),
        (UNRUN, None, "unknown", None),
        (PIPELINE, "on_time", "warning", published),
        (PIPELINE, "warning", "late", published),
    ]
    notified = [{c: (n["status"], n["attempts"]) for c, n in e.notified.items()} for e in _rows(home, SlaEventRow)]
    assert notified == [{}, {}, {"email": ("sent", 2), "kafka": ("sent", 1)}, {"email": ("sent", 1), "kafka": ("sent", 1)}]
    status = {row.pipeline_id: row for row in _rows(home, SlaStatusRow)}
    assert (status[PIPELINE].state, status[PIPELINE].since) == ("late", published + dt.timedelta(minutes=120))
    assert status[PIPELINE].checked_at == published + dt.timedelta(minutes=121)
    assert status[UNRUN].state == "unknown"  # one day not yet past since it was recorded

    # The emails reached the server, addressed to the team's support address.
    assert [(rcpt, m["Subject"]) for rcpt, m in smtp.inbox.messages] == [
        ([SUPPORT], f"Chimera: {PIPELINE} is in early warning (was on time)"),
        ([SUPPORT], f"Chimera: {PIPELINE} is late (was in early warning)"),
    ]
    body = smtp.inbox.messages[1][1].get_payload()[0].get_payload(decode=True).decode()
    assert "qa.things" in body and "PT2H" in body and "PT90M" in body

    # The events, keyed by pipeline, in CloudEvents' structured mode.
    kafka = _events_on(home.topic, 2)
    assert [(e["key"], e["type"], e["data"]["from"], e["data"]["to"]) for e in kafka] == [
        (PIPELINE, "chimera.sla.changed", "on_time", "warning"),
        (PIPELINE, "chimera.sla.changed", "warning", "late"),
    ]
    assert kafka[1]["headers"] == {"content-type": b"application/cloudevents+json"}
    assert kafka[1]["data"] == {
        "pipeline": PIPELINE,
        "intent": "qa_sla",
        "team": "qa",
        "target_table": "qa.things",
        "from": "warning",
        "to": "late",
        "last_published_at": published.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "fresh_within": "PT2H",
        "warn_after": "PT90M",
    }
    assert kafka[0]["specversion"] == "1.0" and kafka[0]["id"] != kafka[1]["id"]

    # Each change is audited; the task's changes under the task's name.
    with _registry(home).session() as session:
        audited = [(e.actor, e.details["pipeline"], e.details["from"], e.details["to"]) for e in entries(session, action="sla.changed")]
    assert audited == [  # newest first
        (getpass.getuser(), PIPELINE, "warning", "late"),
        (getpass.getuser(), PIPELINE, "on_time", "warning"),
        ("airflow:chimera_timeliness/manual__1", UNRUN, None, "unknown"),
        ("airflow:chimera_timeliness/manual__1", PIPELINE, None, "on_time"),
    ]

    # The board.
    from airflow_provider_chimera.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "pipeline": PIPELINE,
            "team": "qa",
            "state": "late",
            "since": (published + dt.timedelta(minutes=120)).isoformat(timespec="seconds"),
            "last_published_at": published.isoformat(timespec="seconds"),
            "checked_at": (published + dt.timedelta(minutes=121)).isoformat(timespec="seconds"),
            "fresh_within": "PT2H",
            "warn_after": "PT90M",
        },
        {
            "pipeline": UNRUN,
            "team": "qa",
            "state": "unknown",
            "since": status[UNRUN].since.isoformat(timespec="seconds"),
            "last_published_at": None,
            "checked_at": (published + dt.timedelta(minutes=121)).isoformat(timespec="seconds"),
            "fresh_within": "P1D",
            "warn_after": None,
        },
    ]
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if PIPELINE in line or UNRUN in line]
    assert len(lines) == 2
    assert "late" in lines[0] and "PT2H" in lines[0] and "PT90M" in lines[0]
    assert "unknown" in lines[1] and "never" in lines[1] and "P1D" in lines[1]
    result = runner.invoke(app, ["status", "--team", "someone-else"])
    assert (result.exit_code, result.output.strip()) == (0, "no pipeline with an sla for team someone-else")
