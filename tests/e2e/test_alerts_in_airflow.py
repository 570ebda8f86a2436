"""Failure alerts on a real Airflow 3 (airflow_stack.py): a pipeline that fails for good mails its
team and publishes one CloudEvent after its last try; a pipeline whose first try fails and whose
retry succeeds tells no one.

One intent of team ``qa-alerts``, two objects read from one landing folder, each its own DAG. The
stack's tasks retry once (``[chimera] task_retries`` 1, five seconds apart). Failures are injected
(``airflow_provider_chimera.faults``): every try of ``broken`` fails after reading; only the first
try of ``flaky`` does. Mails go to a local SMTP server (``tests/mailbox.py``), alerts to a topic
of the local Kafka of their own.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.conftest import SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack
from tests.helpers import json_events_on
from tests.mailbox import Inbox, free_port, smtp_connection

INTENT = "qa_alerts"
BROKEN = "qa_alerts_landing_broken"
FLAKY = "qa_alerts_landing_flaky"
SUPPORT = "qa-alerts@example.com"
ALERT_SUBJECT = "Chimera: run "  # failure alerts; the onboarding and "ready" mails say otherwise


def _intent(landing_uri: str) -> dict:
    schema = {"fields": [{"name": "ticket_id", "type": "long", "nullable": False}, {"name": "subject", "type": "string"}]}

    def obj(name: str) -> dict:
        return {"name": name, "path": "*.csv", "format": "csv", "schema": schema,
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"namespace": "qa", "table": name}}}

    return {
        "version": 1, "name": INTENT, "team": {"name": "qa-alerts", "support_email": SUPPORT}, "project": "qa",
        "declaration": {"declared_by": "qa.lead", "statement": "test tickets", "declared_at": "2026-12-07"},
        "sources": [{"name": "landing", "type": "file", "connection": {"uri": landing_uri},
                     "objects": [obj("broken"), obj("flaky")]}],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from aiosmtpd.controller import Controller
    from confluent_kafka.admin import AdminClient

    s = SERVICES
    require_service("PostgreSQL", s["CHIMERA_PG_HOST"], s["CHIMERA_PG_PORT"])
    bootstrap = s["CHIMERA_KAFKA_BOOTSTRAP"]
    require_service("Kafka", *bootstrap.split(":"))
    home = tmp_path_factory.mktemp("alerts")
    landing = home / "landing"
    landing.mkdir()
    (landing / "tickets.csv").write_text("ticket_id,subject\n1,printer\n2,vpn\n")
    intents = home / "intents"
    intents.mkdir()
    (intents / f"{INTENT}.json").write_text(json.dumps(_intent(landing.as_uri())))
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    topic = f"chimera.e2e.pipeline-failed.{uuid.uuid4().hex[:8]}"
    env = {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(port),
        "AIRFLOW__CHIMERA__PIPELINE_FAILED_TOPIC": topic,
        "AIRFLOW__CHIMERA__TASK_RETRIES": "1",
        "AIRFLOW__CHIMERA__TASK_RETRY_DELAY_SECONDS": "5",
        "CHIMERA_FAIL_AT": f"after_read@{BROKEN},after_read@{FLAKY}#1",
    }
    airflow = AirflowStack(home, intents, env)
    try:
        airflow.start()
        airflow.wait_for_run(f"chimera_onboard__{INTENT}", timeout=420)  # started by the registry sync
        airflow.wait(lambda: {BROKEN, FLAKY} <= airflow.dag_ids(), 180, "the pipelines' DAGs")
        yield airflow, inbox, topic
    finally:
        airflow.stop()
        smtp.stop()
        AdminClient({"bootstrap.servers": bootstrap}).delete_topics([topic])


def _finish(airflow: AirflowStack, dag_id: str) -> tuple[dict, dict]:
    """Trigger ``dag_id`` and wait for the run to end; the run and its ``ingest`` task instance."""
    airflow.unpause(dag_id)
    run_id = airflow.trigger(dag_id)
    run = airflow.wait(
        lambda: next((r for r in airflow.runs(dag_id) if r["dag_run_id"] == run_id and r["state"] in ("success", "failed")), None),
        300, f"run {run_id} of {dag_id}", every=2,
    )
    ingest = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest")
    return run, ingest


def _audit(airflow: AirflowStack) -> list[dict]:
    """The stack's ``pipeline.alerted`` audit entries."""
    return json.loads(airflow.run("chimera", "audit", "--action", "pipeline.alerted", "--format", "json").stdout)


def _html(mail) -> str:
    return next(part.get_payload(decode=True).decode() for part in mail.walk() if part.get_content_type() == "text/html")


def _alerts(inbox: Inbox) -> list:
    return [(rcpts, m) for rcpts, m in inbox.messages if m["Subject"].startswith(ALERT_SUBJECT)]


def test_a_run_that_fails_for_good_alerts_once_and_a_retry_that_succeeds_alerts_no_one(stack):
    airflow, inbox, topic = stack

    run, ingest = _finish(airflow, BROKEN)
    assert (run["state"], ingest["state"], ingest["try_number"]) == ("failed", "failed", 2), airflow.logs()
    run_id = run["dag_run_id"]
    airflow.wait(lambda: _alerts(inbox), 60, "the failure alert's mail")
    time.sleep(5)  # anything more would have come by now
    ((recipients, mail),) = _alerts(inbox)
    assert recipients == [SUPPORT]
    assert mail["Subject"] == f"Chimera: run {run_id} of {BROKEN} failed (ingest)"
    link = f"http://127.0.0.1:{airflow.port}/dags/{BROKEN}/runs/{run_id.replace(':', '%3A').replace('+', '%2B')}"
    assert link in _html(mail)
    assert httpx.get(link, timeout=30).status_code == 200  # the UI serves the run's page
    alerted = [(e["details"]["pipeline"], e["details"]["run_id"], e["details"]["email"], e["details"]["kafka"])
               for e in _audit(airflow)]
    assert alerted == [(BROKEN, run_id, "sent", "sent")]

    # The first try fails, the retry succeeds: no one is told.
    run, ingest = _finish(airflow, FLAKY)
    flaky_run = run["dag_run_id"]
    assert (run["state"], ingest["state"], ingest["try_number"]) == ("success", "success", 2), airflow.logs()
    time.sleep(10)
    assert len(_alerts(inbox)) == 1
    assert flaky_run not in [e["details"]["run_id"] for e in _audit(airflow)]

    # One event in all, after the broken run's last try; none for the flaky run.
    (event,) = json_events_on(SERVICES["CHIMERA_KAFKA_BOOTSTRAP"], topic, 1, timeout=60)
    assert (event["type"], event["key"], event["id"]) == ("chimera.pipeline.failed", BROKEN, f"chimera-failed-{BROKEN}-{run_id}")
    data = event["data"]
    assert {k: data[k] for k in ("pipeline", "intent", "team", "run_id", "attempt", "task_id", "step", "error", "link")} == {
        "pipeline": BROKEN, "intent": INTENT, "team": "qa-alerts", "run_id": run_id, "attempt": 2, "task_id": "ingest",
        "step": "ingest", "error": "InjectedFailure", "link": link,
    }
    assert data["reason"].startswith("InjectedFailure: failure injected at after_read")
