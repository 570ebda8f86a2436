"""Failure alerts on real services: a quality gate that stops a real load, and a quarantine
threshold breach, alert the team once per run through a local SMTP server and the local Kafka."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from airflow_provider_chimera.governance.wap import QualityGateError
from tests.conftest import SERVICES
from tests.helpers import intent_with, json_events_on, run_task, single_object_source

SMTP_CONN = "chimera_test_smtp"
EVENTS_CONN = "chimera_test_events"
SUPPORT = "qa@example.com"
BASE_URL = "http://airflow.example.com:8080"
NO_NEGATIVES = {"check": "failed_rows", "expression": "amount < 0", "name": "no negative amounts"}


@pytest.fixture
def home(tmp_path, monkeypatch, kafka_topic, smtp_server):
    """A registry, SMTP server and alert topic of the test's own; ``home.source(...)`` writes a
    file source's intent and returns its pipeline."""
    from airflow_provider_chimera.pipelines import discover

    topic = kafka_topic("chimera.pipeline-failed.test", conn_id=EVENTS_CONN)
    smtp = smtp_server(SMTP_CONN)
    intents = tmp_path / "intents"
    intents.mkdir()
    for option, value in {
        "SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'registry.db'}",
        "STATE_DIR": tmp_path / "state",
        "INTENTS_DIR": intents,
        "SMTP_CONN_ID": SMTP_CONN,
        "EVENTS_KAFKA_CONN_ID": EVENTS_CONN,
        "PIPELINE_FAILED_TOPIC": topic,
    }.items():
        monkeypatch.setenv(f"AIRFLOW__CHIMERA__{option}", str(value))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)

    def source(folder: Path, quality: list | None = None):
        fields = [{"name": "id", "type": "long", "nullable": False}, {"name": "amount", "type": "decimal(12,2)"}]
        src = single_object_source("file", {"uri": folder.as_uri()}, "drops", {"type": "incremental"}, "orders",
                                   path="*.jsonl", format="json", schema={"fields": fields})
        src["objects"][0]["ingestion"]["quality"] = quality or []
        (intents / "qa_intent.json").write_text(json.dumps(intent_with(src)))
        (pipeline,) = discover(intents).pipelines
        return pipeline

    return SimpleNamespace(topic=topic, smtp=smtp, source=source)


def _drop(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text("".join(line + "\n" for line in lines))


def _context(pipeline, run_id: str, error: BaseException, *, state: str = "failed", try_number: int = 2):
    """The context Airflow 3's task runner gives ``on_failure_callback``: a real Task SDK task
    instance (its state set as the runner sets it), the run id and the exception."""
    import datetime as dt

    from airflow.sdk import DAG
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    from airflow_provider_chimera.operators.ingest import IngestOperator

    with DAG(pipeline.id, schedule=None):
        operator = IngestOperator(task_id="ingest", pipeline=pipeline)
    now = dt.datetime.now(dt.UTC)
    dag_run = DagRun(dag_id=pipeline.id, run_id=run_id, logical_date=now, data_interval_start=None, data_interval_end=None,
                     run_after=now, start_date=now, end_date=None, run_type="manual", state="running", conf={},
                     consumed_asset_events=[], partition_key=None)
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(), task_id="ingest", dag_id=pipeline.id, run_id=run_id, try_number=try_number,
        dag_version_id=uuid.uuid4(), map_index=-1, task=operator, start_date=now, max_tries=1, state=state,
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=1),
    )
    return {**ti.get_template_context(), "exception": error}


def _events(topic: str, count: int) -> list[dict]:
    return json_events_on(SERVICES["CHIMERA_KAFKA_BOOTSTRAP"], topic, count)


def _alert_rows():
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.models import AlertRow

    with open_registry() as registry, registry.session(read_only=True) as session:
        return list(session.scalars(select(AlertRow)))


def test_a_quality_gate_that_stops_a_publish_alerts_the_team_once(tmp_path, catalog, home):
    from airflow_provider_chimera.operators.alerts import AlertOnFailure
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    data = tmp_path / "data"
    pipeline = home.source(data, quality=[NO_NEGATIVES])
    _drop(data, "a.jsonl", [json.dumps({"id": 1, "amount": "-7.25"}), json.dumps({"id": 2, "amount": "3.00"})])
    with pytest.raises(QualityGateError) as failed:
        run_task(pipeline, run_id="scheduled__1")
    alert = AlertOnFailure(pipeline)
    alert(_context(pipeline, "scheduled__1", failed.value, try_number=1))
    alert(_context(pipeline, "scheduled__1", RuntimeError("a second failing task of the run")))  # nothing more

    ((recipients, mail),) = home.smtp.inbox.messages
    assert recipients == [SUPPORT]
    assert mail["Subject"] == "Chimera: run scheduled__1 of qa_intent_src_drops failed (quality gate)"
    body = next(part.get_payload(decode=True).decode() for part in mail.walk() if part.get_content_type() == "text/html")
    assert "no negative amounts (failed_rows): failed" in body and "-7.25" not in body
    assert f"{BASE_URL}/dags/qa_intent_src_drops/runs/scheduled__1" in body

    (event,) = _events(home.topic, 1)
    assert event["key"] == "qa_intent_src_drops" and event["headers"]["content-type"] == b"application/cloudevents+json"
    assert (event["type"], event["id"]) == ("chimera.pipeline.failed", "chimera-failed-qa_intent_src_drops-scheduled__1")
    data_ = event["data"]
    assert {k: data_[k] for k in ("pipeline", "intent", "team", "run_id", "attempt", "task_id", "step", "kind", "error")} == {
        "pipeline": "qa_intent_src_drops", "intent": "qa_intent", "team": "qa", "run_id": "scheduled__1", "attempt": 1,
        "task_id": "ingest", "step": "quality gate", "kind": "quality_gate", "error": "QualityGateError",
    }
    assert data_["reason"].startswith("quality gate: 1 of 3 check(s) failed: no negative amounts (failed_rows): failed")
    assert data_["link"] == f"{BASE_URL}/dags/qa_intent_src_drops/runs/scheduled__1"
    assert "-7.25" not in json.dumps({k: v for k, v in event.items() if k != "headers"})

    (row,) = _alert_rows()
    assert (row.run_id, row.kind, row.notified["email"]["status"], row.notified["kafka"]["status"]) == (
        "scheduled__1", "quality_gate", "sent", "sent")
    with open_registry() as registry, registry.session(read_only=True) as session:
        (audited,) = entries(session, action="pipeline.alerted")
        assert (audited.intent, audited.details["email"], audited.details["kafka"]) == ("qa_intent", "sent", "sent")


def test_a_quarantine_breach_alerts_without_the_value_and_a_dead_mail_server_masks_nothing(tmp_path, home, monkeypatch, caplog):
    from airflow_provider_chimera.operators.alerts import AlertOnFailure
    from tests.mailbox import free_port, smtp_connection

    monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP_CONN.upper()}", smtp_connection(free_port()))  # nobody listens there
    data = tmp_path / "data"
    pipeline = home.source(data)
    _drop(data, "a.jsonl", [json.dumps({"id": "alice@example.com", "amount": "1.00"})])
    with pytest.raises(QuarantineThresholdError) as failed:  # the record breaks the schema: quarantined
        run_task(pipeline, run_id="manual__1")
    # A try that will be retried sends nothing.
    AlertOnFailure(pipeline)(_context(pipeline, "manual__1", failed.value, state="up_for_retry", try_number=1))
    assert _alert_rows() == []
    AlertOnFailure(pipeline)(_context(pipeline, "manual__1", failed.value, state="failed", try_number=2))

    assert home.smtp.inbox.messages == []
    (event,) = _events(home.topic, 1)
    assert (event["data"]["step"], event["data"]["task_id"], event["data"]["attempt"]) == ("quarantine threshold", "ingest", 2)
    assert event["data"]["reason"].startswith("quarantine threshold: pipeline qa_intent_src_drops: 1 of 1 records read (100.0%) went")
    assert "alice" not in json.dumps({k: v for k, v in event.items() if k != "headers"})
    (row,) = _alert_rows()
    assert row.notified["email"]["status"] == "failed" and "ConnectionRefusedError" in row.notified["email"]["error"]
    assert row.notified["kafka"]["status"] == "sent"
    assert "email alert of run manual__1 not sent" in caplog.text
