"""Once per run on a registry server: tasks of one run failing at the same moment, each in its own
transaction, alert the team once (the ``alerts`` row's unique key decides, governance/alerts.py)."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from airflow_provider_chimera.governance.alerts import Alert, Channels, send
from airflow_provider_chimera.registry.db import open_registry
from airflow_provider_chimera.registry.models import AlertRow

# Channels that fail at once (no such connections): what is measured is the claim, not delivery.
NOWHERE = Channels(smtp_conn_id="chimera_no_such_smtp", events_kafka_conn_id="chimera_no_such_kafka", topic="unused")
RACERS = 4


def _alert(run_id: str, task_id: str) -> Alert:
    return Alert(pipeline="qa_intent_src_things", intent="qa_intent", intent_hash=None, team="qa", support_email="qa@example.com",
                 dag_id="qa_intent_src_things", run_id=run_id, task_id=task_id, attempt=1, kind="failed", step=task_id,
                 error="RuntimeError", reason="RuntimeError: boom", link="http://airflow/dags/x/runs/y", at=dt.datetime.now(dt.UTC))


@pytest.mark.parametrize("server", ["postgres", "mysql"])
def test_tasks_failing_together_alert_once(server, request):
    url = request.getfixturevalue("pg_url" if server == "postgres" else "mysql_url")[0]
    registry = open_registry(url=url)
    barrier = threading.Barrier(RACERS)

    def race(i: int):
        barrier.wait()
        return send(_alert("scheduled__1", f"task_{i}"), NOWHERE, registry)

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(race, range(RACERS)))
    assert sum(outcome is not None for outcome in outcomes) == 1
    assert send(_alert("scheduled__2", "ingest"), NOWHERE, registry) is not None  # another run alerts
    with registry.session(read_only=True) as session:
        assert sorted(session.scalars(select(AlertRow.run_id))) == ["scheduled__1", "scheduled__2"]
    registry.close()
