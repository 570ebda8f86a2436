"""Onboarding emails through a local SMTP server: who gets them, what they say, and a server that
is down reported rather than raised."""

from __future__ import annotations

import pytest

SMTP_CONN = "chimera_test_onboarding_smtp"
TEAM = "qa-team@example.com"
DETAILS = {
    "sources": [{"name": "crm", "type": "postgres", "objects": ["public.customers"]}],
    "targets": ["qa.customers"],
    "datahub_urns": {"qa.customers": "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.qa.customers,PROD)"},
    "links": {"Superset: qa.customers": "http://superset.example.com/explore/?datasource=qa.customers"},
}


@pytest.fixture
def smtp_settings(monkeypatch):
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", SMTP_CONN)
    return load_settings()


def _html(message) -> str:
    return message.get_payload()[0].get_payload(decode=True).decode()


def test_each_notice_reaches_the_team(smtp_server, smtp_settings):
    from airflow_provider_chimera.onboarding.notify import notify_team

    server = smtp_server(SMTP_CONN)
    outcomes = [
        notify_team("completion", intent_name="qa_onboard", team_email=TEAM, details=DETAILS, settings=smtp_settings),
        notify_team("discovery", intent_name="qa_onboard", team_email=TEAM, details=DETAILS, settings=smtp_settings),
        notify_team("table_ready", intent_name="qa_onboard", team_email=TEAM, details={**DETAILS, "pipeline": "qa_onboard_crm_public_customers"}, settings=smtp_settings),
        notify_team(
            "failure",
            intent_name="qa_onboard",
            team_email=TEAM,
            details={"step": "connectivity", "reason": "could not connect to postgresql://reader:hunter2@crm:5432/crm"},
            settings=smtp_settings,
        ),
    ]
    assert outcomes == ["sent"] * 4
    assert [(rcpt, m["From"], m["Subject"]) for rcpt, m in server.inbox.messages] == [
        ([TEAM], "chimera@example.com", "Chimera: qa_onboard onboarding completed"),
        ([TEAM], "chimera@example.com", "Chimera: qa_onboard data discovery available"),
        ([TEAM], "chimera@example.com", "Chimera: qa.customers is ready to query (qa_onboard)"),
        ([TEAM], "chimera@example.com", "Chimera: qa_onboard onboarding failed at connectivity"),
    ]
    completed = _html(server.inbox.messages[0][1])
    assert "<li><b>crm</b> (postgres): public.customers</li>" in completed
    assert "<li><code>qa.customers</code></li>" in completed
    assert "urn:li:dataset:(urn:li:dataPlatform:iceberg,chimera.qa.customers,PROD)" in completed
    assert "http://superset.example.com/explore/?datasource=qa.customers" in completed
    assert "qa_onboard_crm_public_customers" in _html(server.inbox.messages[2][1])
    failed = _html(server.inbox.messages[3][1])
    assert "hunter2" not in failed and "postgresql://reader:***@crm:5432/crm" in failed
    assert "chimera onboard intents/qa_onboard.json" in failed


def test_a_server_that_is_down_is_reported_not_raised(smtp_server, smtp_settings, caplog):
    from airflow_provider_chimera.onboarding.notify import notify_team

    server = smtp_server(SMTP_CONN, started=False)
    outcome = notify_team("completion", intent_name="qa_onboard", team_email=TEAM, details=DETAILS, settings=smtp_settings)
    assert outcome.startswith("failed: ConnectionRefusedError: ")
    assert server.inbox.messages == []
    assert "completion notice of intent qa_onboard to qa-team@example.com not sent: ConnectionRefusedError" in caplog.text
