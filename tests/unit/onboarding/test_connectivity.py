"""Connectivity test mechanics without services: time limit, concurrency, failures as reports."""

from __future__ import annotations

import json
import threading
import time

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.contract.model import Connection
from airflow_provider_chimera.onboarding import connectivity
from airflow_provider_chimera.onboarding.connectivity import (
    connection_secrets,
    describe,
)
from airflow_provider_chimera.onboarding.connectivity import test_intent as run_test
from tests.helpers import intent_with


def _intent(*names: str, connection: dict | None = None):
    sources = [
        {"name": name, "type": "postgres", "connection": connection or {"uri": "postgresql://h/db"}, "objects": [{"name": "s.t"}]}
        for name in names
    ]
    return parse_intent(json.dumps(intent_with(*sources)).encode(), "qa_intent.json")


class _Hook:
    def __init__(self, behaviour):
        self.behaviour = behaviour

    def check_objects(self, objects):
        return self.behaviour(objects)


def test_each_source_gets_the_time_limit_and_they_run_at_the_same_time(monkeypatch):
    release = threading.Event()

    def hang(objects):
        release.wait(30)
        return {}

    hooks = {"slow_a": hang, "slow_b": hang, "fast": lambda objects: {o.name: [] for o in objects}}
    monkeypatch.setattr(connectivity, "_hook", lambda source, grant=None: _Hook(hooks[source.name]))
    started = time.monotonic()
    reports = run_test(_intent("slow_a", "fast", "slow_b"), timeout_s=0.5)
    elapsed = time.monotonic() - started
    release.set()
    assert [(r.source, r.ok, r.reason) for r in reports] == [
        ("slow_a", False, "timed out after 0.5 s"),
        ("fast", True, "connected; 1 object(s) found with the columns named"),
        ("slow_b", False, "timed out after 0.5 s"),
    ]
    assert elapsed < 0.9


def test_a_failing_source_is_reported_with_its_error_scrubbed(monkeypatch):
    monkeypatch.setenv("QA_PW", "s3cr3t-value")

    def fail(objects):
        raise ConnectionError("cannot log in with s3cr3t-value\n")

    monkeypatch.setattr(connectivity, "_hook", lambda source, grant=None: _Hook(fail))
    [report] = run_test(_intent("db", connection={"uri": "postgresql://u:${env:QA_PW}@h/db"}))
    assert not report.ok
    assert report.reason == "ConnectionError: cannot log in with ***"


def test_object_problems_are_scrubbed_and_described(monkeypatch):
    monkeypatch.setenv("QA_PW", "s3cr3t-value")
    monkeypatch.setattr(connectivity, "_hook", lambda source, grant=None: _Hook(lambda objects: {"s.t": ["denied for s3cr3t-value"]}))
    [report] = run_test(_intent("db", connection={"uri": "postgresql://u:${env:QA_PW}@h/db"}))
    assert not report.ok
    assert describe(report) == ["1 of 1 object(s) cannot be read: s.t", "s.t: denied for ***"]


def test_secrets_of_an_airflow_connection(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_QA_SECRETS",
        json.dumps({"conn_type": "snowflake", "login": "u", "password": "pw-1", "extra": {"account": "acme", "private_key_content": "KEY"}}),
    )
    assert sorted(connection_secrets(Connection(conn_id="qa_secrets"))) == ["KEY", "pw-1"]


def test_secrets_of_a_uri_include_the_decoded_password(monkeypatch):
    monkeypatch.setenv("QA_PW", "p%40ss")
    monkeypatch.setenv("QA_HOST", "db.internal")
    secrets = connection_secrets(Connection(uri="postgresql://u:${env:QA_PW}@${env:QA_HOST}/db"))
    assert set(secrets) == {"p%40ss", "p@ss", "db.internal"}


def test_a_document_set_without_a_file_is_still_a_problem(tmp_path):
    """Only an object that declares its schema may wait for its files: a ``pdf`` set names none."""
    source = {"name": "docs", "type": "pdf", "connection": {"uri": tmp_path.as_uri()}, "objects": [{"name": "manuals", "path": "*.pdf"}]}
    intent = parse_intent(json.dumps(intent_with(source)).encode(), "qa_intent.json")

    (report,) = run_test(intent, 10)

    assert not report.ok
    assert (report.objects[0].problems, report.warnings) == (["path '*.pdf' matches no file"], [])
