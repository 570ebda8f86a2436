"""Failure alerts (governance/alerts.py): what they say, what they never say, when they are sent."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import select

from airflow_provider_chimera.errors import FixRequired
from airflow_provider_chimera.governance.alerts import (
    Channels,
    Failure,
    alert_of,
    cloud_event,
    explain,
    html_body,
    is_final,
    notify_failure,
    redact,
    run_link,
    subject,
)
from airflow_provider_chimera.governance.checks import Check
from airflow_provider_chimera.governance.quarantine_gate import check_quarantine_share
from airflow_provider_chimera.governance.soda import CheckResult
from airflow_provider_chimera.governance.wap import QualityGateError
from airflow_provider_chimera.sources.file import FileReadError
from tests.helpers import adhoc_ingestion, pipeline_for, record_schema

AT = dt.datetime(2026, 12, 7, 1, 30, 5, tzinfo=dt.UTC)
RUN = "manual__2026-12-07T01:29:00+00:00"
BASE = "https://airflow.example.com/"


@pytest.fixture
def pipeline():
    source = {"name": "files", "type": "file", "connection": {"uri": "file:///tmp/landing"},
              "objects": [{"name": "things", "path": "*.csv", "format": "csv", "schema": record_schema(id="long"),
                           "ingestion": adhoc_ingestion({"type": "full"}, "things")}]}
    return pipeline_for(source)


def failure(error: BaseException | None, *, state: str | None = "failed", try_number: int = 2, task_id: str = "ingest") -> Failure:
    return Failure(dag_id="qa_intent_files_things", run_id=RUN, task_id=task_id, try_number=try_number, max_tries=1,
                   state=state, error=error)


def gate_error() -> QualityGateError:
    def result(name, kind, column, outcome, severity="fail"):
        check = Check(name=name, type=kind, dataset="load", automatic=False, column=column, severity=severity)
        return CheckResult(check, outcome, {"value": "alice@example.com", "missing_count": 3})

    results = [result("ids_present", "missing", "id", "failed"), result("rows", "row_count", None, "passed"),
               result("emails_valid", "invalid", "email", "failed"), result("warn_only", "invalid", "name", "failed", "warn")]
    return QualityGateError("qa: 2 of 4 check(s) failed: ids_present ...; value 'alice@example.com'", results)


# --- final or retried -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "try_number", "max_tries", "final"),
    [
        ("failed", 1, 1, True),  # AirflowFailException on the first try: never retried
        ("failed", 2, 1, True),
        ("up_for_retry", 1, 1, False),
        ("up_for_reschedule", 1, 0, False),
        (None, 1, 1, False),  # no state: tries left
        (None, 2, 1, True),
        (None, 1, 0, True),
        (None, None, None, True),
    ],
)
def test_only_a_try_that_ends_the_task_is_final(state, try_number, max_tries, final):
    assert is_final(state, try_number, max_tries) is final


def test_a_try_that_will_be_retried_sends_nothing(pipeline, tmp_path):
    registry = _registry(tmp_path)
    assert notify_failure(pipeline, failure(RuntimeError("boom"), state="up_for_retry", try_number=1), CHANNELS, BASE, registry) is None
    assert _alerts(registry) == []


# --- what an alert says -----------------------------------------------------------------------------


def test_the_link_is_the_runs_page_in_airflow_3s_ui():
    assert run_link(BASE, "qa_dag", RUN) == "https://airflow.example.com/dags/qa_dag/runs/manual__2026-12-07T01%3A29%3A00%2B00%3A00"


def test_a_failure_names_pipeline_run_attempt_step_and_reason(pipeline):
    alert = alert_of(pipeline, failure(RuntimeError("connection reset by peer")), BASE, now=AT)
    assert subject(alert) == f"Chimera: run {RUN} of qa_intent_files_things failed (ingest)"
    event = cloud_event(alert)
    assert {k: v for k, v in event.items() if k != "data"} == {
        "specversion": "1.0", "type": "chimera.pipeline.failed", "source": "chimera/runs",
        "id": f"chimera-failed-qa_intent_files_things-{RUN}", "time": "2026-12-07T01:30:05Z",
        "subject": "qa_intent_files_things", "datacontenttype": "application/json",
    }
    assert event["data"] == {
        "pipeline": "qa_intent_files_things", "intent": "qa_intent", "team": "qa", "dag_id": "qa_intent_files_things",
        "run_id": RUN, "attempt": 2, "task_id": "ingest", "step": "ingest", "kind": "failed", "error": "RuntimeError",
        "reason": "RuntimeError: connection reset by peer", "link": run_link(BASE, "qa_intent_files_things", RUN),
    }
    json.dumps(event)  # plain JSON
    body = html_body(alert)
    for fact in ("qa_intent_files_things", RUN, "<th align='left'>Attempt</th><td>2</td>", "RuntimeError: connection reset by peer",
                 "failed after its last try", "href=\"https://airflow.example.com/dags/qa_intent_files_things/runs/"):
        assert fact in body


def test_a_quality_gate_is_named_in_plain_words_with_its_checks_not_their_figures(pipeline):
    from airflow.sdk.exceptions import AirflowFailException

    try:  # as the ingest task raises it: AirflowFailException from the gate's error
        try:
            raise gate_error()
        except QualityGateError as exc:
            raise AirflowFailException(f"{exc} (not retried)") from exc
    except AirflowFailException as wrapped:
        alert = alert_of(pipeline, failure(wrapped, try_number=1), BASE, now=AT)
    assert (alert.kind, alert.step, alert.error) == ("quality_gate", "quality gate", "QualityGateError")
    assert alert.reason == ("quality gate: 2 of 4 check(s) failed: ids_present (missing on id): failed; "
                            "emails_valid (invalid on email): failed; the load was not published")
    assert "alice" not in json.dumps(cloud_event(alert)) and "alice" not in html_body(alert)
    assert subject(alert).endswith("failed (quality gate)")
    assert "stopped by its quality gate" in html_body(alert) and "quality gate (task ingest)" in html_body(alert)


def test_a_quarantine_breach_is_named_in_plain_words(pipeline):
    with pytest.raises(FixRequired) as raised:
        check_quarantine_share(pipeline="p", quarantined=3, rows_read=7, threshold=0.1, quarantine_table="qa.things__quarantine")
    kind, step, error, reason = explain(raised.value, "ingest")
    assert (kind, step, error) == ("quarantine_threshold", "quarantine threshold", "QuarantineThresholdError")
    assert reason.startswith("quarantine threshold: pipeline p: 3 of 10 records read (30.0%) went to quarantine table")


def test_the_reason_masks_secrets_and_quoted_values_and_keeps_one_line():
    error = FileReadError("things.csv: cannot read as csv with the declared schema: CSV conversion error to int64: "
                          "invalid value 'alice@example.com'\nrow 2: \"secret stuff\"")
    assert explain(error, "ingest")[3] == ("FileReadError: things.csv: cannot read as csv with the declared schema: "
                                           "CSV conversion error to int64: invalid value '…'")
    assert redact("cannot connect to postgresql://etl:hunter2@db:5432/crm") == "cannot connect to postgresql://etl:***@db:5432/crm"
    assert len(redact("x" * 2000)) == 500
    assert explain(None, "ingest")[:3] == ("failed", "ingest", "unknown")


# --- once per run, never masking the failure ----------------------------------------------------------


CHANNELS = Channels(smtp_conn_id="chimera_no_such_smtp", events_kafka_conn_id="chimera_no_such_kafka", topic="chimera.pipeline-failed")


def _registry(tmp_path):
    from airflow_provider_chimera.registry.db import open_registry

    return open_registry(url=f"sqlite:///{tmp_path / 'registry.db'}")


def _alerts(registry):
    from airflow_provider_chimera.registry.models import AlertRow

    with registry.session(read_only=True) as session:
        return [(r.pipeline_id, r.run_id, r.task_id, r.kind, r.notified) for r in session.scalars(select(AlertRow))]


def test_a_run_alerts_once_and_delivery_failures_are_recorded_not_raised(pipeline, tmp_path, caplog):
    from airflow_provider_chimera.registry.audit import entries

    registry = _registry(tmp_path)
    caplog.set_level(logging.INFO)
    first = notify_failure(pipeline, failure(gate_error(), try_number=1), CHANNELS, BASE, registry)
    assert first is not None and {c: o["status"] for c, o in first.items()} == {"email": "failed", "kafka": "failed"}
    assert "chimera_no_such_smtp" in first["email"]["error"]
    # A second failing task of the same run (the guard, say) sends nothing more.
    assert notify_failure(pipeline, failure(RuntimeError("later"), task_id="onboarded"), CHANNELS, BASE, registry) is None
    (row,) = _alerts(registry)
    assert row[:4] == ("qa_intent_files_things", RUN, "ingest", "quality_gate")
    assert row[4]["email"]["status"] == "failed"
    with registry.session(read_only=True) as session:
        (audited,) = entries(session, action="pipeline.alerted")
        assert audited.details["run_id"] == RUN and audited.details["step"] == "quality gate"
        assert (audited.details["email"], audited.details["kafka"]) == ("failed", "failed")
    assert "no second alert" in caplog.text
    # Another run alerts again.
    other = Failure(dag_id="qa_intent_files_things", run_id="manual__2", task_id="ingest", try_number=1, max_tries=0,
                    state="failed", error=RuntimeError("x"))
    assert notify_failure(pipeline, other, CHANNELS, BASE, registry) is not None
    assert len(_alerts(registry)) == 2


def test_without_a_registry_the_alert_is_still_attempted(pipeline):
    outcome = notify_failure(pipeline, failure(RuntimeError("boom")), CHANNELS, BASE, None)
    assert outcome is not None and set(outcome) == {"email", "kafka"}


def test_the_example_in_the_docs_has_the_events_shape(pipeline):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "alerts.md").read_text()
    (example,) = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]
    event = cloud_event(alert_of(pipeline, failure(gate_error()), BASE, now=AT))
    assert set(example) == set(event) and set(example["data"]) == set(event["data"])
    assert (example["type"], example["source"]) == (event["type"], event["source"])
