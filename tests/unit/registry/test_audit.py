"""The audit log keeps who, what, when and which version — and never a secret."""

from __future__ import annotations

import datetime as dt
import getpass
import json

from sqlalchemy import text

from airflow_provider_chimera import secrets
from airflow_provider_chimera.registry.audit import default_actor, entries, record
from airflow_provider_chimera.secrets import register_secret, scrub


def _stored(registry) -> str:
    """Every audit row as the database holds it, as one text."""
    with registry.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action, intent, intent_hash, details FROM audit_log")).all()
    return json.dumps([list(map(str, row)) for row in rows])


def test_entry_keeps_who_what_when_and_hash(registry):
    before = dt.datetime.now(dt.UTC)
    record(registry, "jane", "intent.validated", intent="sales_crm", intent_hash="ab" * 32, details={"file": "x.json"})
    with registry.session() as session:
        (row,) = entries(session)
    assert (row.actor, row.action, row.intent, row.intent_hash, row.details) == (
        "jane", "intent.validated", "sales_crm", "ab" * 32, {"file": "x.json"}
    )
    assert row.at.tzinfo == dt.UTC and before <= row.at <= dt.datetime.now(dt.UTC)


def test_uri_password_is_never_stored(registry):
    record(registry, "jane", "intent.test", details={"uri": "postgresql://reader:Hunter2pw@crm:5432/crm",
                                                        "note": "tried mysql://root:s3cr3t@db/x and failed"})
    stored = _stored(registry)
    assert "Hunter2pw" not in stored and "s3cr3t" not in stored
    with registry.session() as session:
        (row,) = entries(session)
    assert row.details == {"uri": "postgresql://reader:***@crm:5432/crm", "note": "tried mysql://root:***@db/x and failed"}


def test_credential_named_keys_are_redacted_at_any_depth(registry):
    details = {
        "token": "tok-123456",
        "nested": {"api_key": "k-987", "clientSecret": "cs-555", "Password": "pw-1", "keys": ["id"], "name": "ok"},
        "list": [{"access_token": "at-42"}],
        "url": "https://host/api?token=qs-777&x=1",
    }
    record(registry, "jane", "pipeline.created", details=details)
    stored = _stored(registry)
    for secret in ("tok-123456", "k-987", "cs-555", "pw-1", "at-42", "qs-777"):
        assert secret not in stored
    with registry.session() as session:
        (row,) = entries(session)
    assert row.details["nested"] == {"api_key": "***", "clientSecret": "***", "Password": "***", "keys": ["id"], "name": "ok"}
    assert row.details["url"] == "https://host/api?token=***&x=1"


def test_values_resolved_from_secret_placeholders_are_cut_out(registry, monkeypatch):
    monkeypatch.setattr(secrets, "_REMEMBERED", set())
    register_secret("vault-value-1")
    record(registry, "jane", "intent.test", details={"error": "login failed for vault-value-1 at crm"})
    record(registry, "jane", "intent.test", details={"error": "bad pw ab%2Fc"}, secrets=["ab/c"])
    stored = _stored(registry)
    assert "vault-value-1" not in stored and "ab%2Fc" not in stored
    with registry.session() as session:
        assert [row.details["error"] for row in entries(session)] == ["bad pw ***", "login failed for *** at crm"]


def test_scrub_leaves_placeholders_names_and_plain_values():
    assert scrub({"keys": ["id"], "rows": 3, "ok": True, "none": None, "file": "/intents/a.json"}) == {
        "keys": ["id"], "rows": 3, "ok": True, "none": None, "file": "/intents/a.json"
    }


def test_actor_is_the_task_inside_airflow_else_the_os_user(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_RUN_ID", raising=False)
    assert default_actor() == getpass.getuser()
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "chimera_registry_sync")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "scheduled__2026-11-25T00:00:00+00:00")
    assert default_actor() == "airflow:chimera_registry_sync/scheduled__2026-11-25T00:00:00+00:00"


def test_entries_filter_by_intent_action_actor_and_time(registry):
    with registry.session() as session:
        record(session, "jane", "intent.validated", intent="a")
        record(session, "airflow:sync/run_1", "pipeline.created", intent="a")
        record(session, "airflow:sync/run_1", "pipeline.retired", intent="b")
        old = record(session, "joe", "intent.onboarded", intent="b")
        old.at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with registry.session() as session:
        def actions(**kw):
            return [row.action for row in entries(session, **kw)]

        assert actions(intent="a") == ["pipeline.created", "intent.validated"]
        assert actions(action="pipeline.*") == ["pipeline.retired", "pipeline.created"]
        assert actions(action="pipeline.created") == ["pipeline.created"]
        assert actions(actor="airflow:*") == ["pipeline.retired", "pipeline.created"]
        assert actions(actor="jane") == ["intent.validated"]
        assert actions(since=dt.datetime(2021, 1, 1)) == ["pipeline.retired", "pipeline.created", "intent.validated"]
        assert actions(limit=1) == ["intent.onboarded"]
        assert actions(intent="b", action="intent.*") == ["intent.onboarded"]


def test_entries_in_a_session_roll_back_with_it(registry):
    try:
        with registry.session() as session:
            record(session, "jane", "intent.onboarded", intent="a")
            raise RuntimeError("the onboarding failed")
    except RuntimeError:
        pass
    with registry.session() as session:
        assert entries(session) == []
