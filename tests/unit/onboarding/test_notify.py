"""What an onboarding email says: subjects, and bodies listing sources, objects, targets and links."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.onboarding.notify import html_body, notify_team, subject

DETAILS = {
    "sources": [{"name": "crm", "type": "postgres", "objects": ["public.customers", "public.orders"]}, {"name": "shop", "type": "mysql", "objects": []}],
    "targets": ["sales.customers", "sales.orders"],
    "links": {"DataHub: sales.customers": "http://datahub.example.com/dataset/urn"},
}


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        ("completion", DETAILS, "Chimera: sales_crm onboarding completed"),
        ("discovery", DETAILS, "Chimera: sales_crm data discovery available"),
        ("failure", {"step": "connectivity"}, "Chimera: sales_crm onboarding failed at connectivity"),
        ("failure", {}, "Chimera: sales_crm onboarding failed"),
        ("table_ready", {"table": "sales.orders"}, "Chimera: sales.orders is ready to query (sales_crm)"),
        ("table_ready", DETAILS, "Chimera: sales.customers is ready to query (sales_crm)"),
    ],
)
def test_subjects(kind, details, expected):
    assert subject(kind, "sales_crm", details) == expected


def test_body_lists_sources_objects_targets_and_links():
    body = html_body("completion", "sales_crm", DETAILS)
    assert "<li><b>crm</b> (postgres): public.customers, public.orders</li>" in body
    assert "<li><b>shop</b> (mysql): all visible objects</li>" in body
    assert "<li><code>sales.customers</code></li><li><code>sales.orders</code></li>" in body
    assert "<li><a href='http://datahub.example.com/dataset/urn'>DataHub: sales.customers</a></li>" in body


def test_failure_body_names_step_scrubbed_reason_and_retry():
    reason = "OperationalError: could not connect to postgresql://reader:hunter2@crm:5432/crm <timeout>"
    body = html_body("failure", "sales_crm", {"step": "connectivity", "reason": reason})
    assert "hunter2" not in body
    assert "failed at step <b>connectivity</b>" in body
    assert "postgresql://reader:***@crm:5432/crm &lt;timeout&gt;" in body
    assert "<code>chimera onboard intents/sales_crm.json</code>" in body
    assert "clear the failed task in the Airflow UI" in body


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown notice kind 'done'; one of completion, discovery, failure, table_ready"):
        subject("done", "sales_crm", {})


def test_missing_smtp_connection_is_reported_not_raised(monkeypatch):
    from airflow_provider_chimera.settings import load_settings

    monkeypatch.setenv("AIRFLOW__CHIMERA__SMTP_CONN_ID", "qa_no_such_smtp")
    monkeypatch.delenv("AIRFLOW_CONN_QA_NO_SUCH_SMTP", raising=False)
    outcome = notify_team("completion", intent_name="sales_crm", team_email="s@example.com", details=DETAILS, settings=load_settings())
    assert outcome == (
        "failed: EmailNotSent: SMTP connection 'qa_no_such_smtp' is not defined: create it in Airflow "
        "(or as AIRFLOW_CONN_QA_NO_SUCH_SMTP), or name another one in [chimera] smtp_conn_id"
    )


def test_failure_body_uses_the_given_retry_and_table_ready_its_target_table():
    retry = "fix the cause, then clear task harvest of DAG chimera_onboard_sales_crm in the Airflow UI"
    body = html_body("failure", "sales_crm", {"step": "harvest", "reason": "boom", "retry": retry})
    assert f"<p>To retry: {retry}</p>" in body and "chimera onboard intents/" not in body
    details = {"pipeline": "sales_crm_crm_public_orders", "target_table": "sales.orders", "rows": 42}
    assert subject("table_ready", "sales_crm", details) == "Chimera: sales.orders is ready to query (sales_crm)"
    assert "<b>sales.orders</b> of intent <b>sales_crm</b> received its first data by pipeline " \
        "<code>sales_crm_crm_public_orders</code> (42 rows)" in html_body("table_ready", "sales_crm", details)
