"""What a timeliness notice says: the email's subject and body, and the CloudEvents event."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.governance.notices import SlaChange, cloud_event, html_body, subject

AT = dt.datetime(2026, 11, 25, 12, 0, 30, tzinfo=dt.UTC)


def change(**fields) -> SlaChange:
    values = {
        "event_id": 7, "pipeline": "sales_crm_crm_public_customers", "intent": "sales_crm", "team": "sales",
        "support_email": "s@example.com", "target_table": "sales.customers", "from_state": "warning", "to_state": "late",
        "at": AT, "last_published_at": AT - dt.timedelta(hours=3), "fresh_within": "PT2H", "warn_after": "PT90M",
    }
    return SlaChange(**{**values, **fields})


@pytest.mark.parametrize(
    ("from_state", "to_state", "expected"),
    [
        ("warning", "late", "Chimera: sales_crm_crm_public_customers is late (was in early warning)"),
        ("on_time", "warning", "Chimera: sales_crm_crm_public_customers is in early warning (was on time)"),
        ("late", "on_time", "Chimera: sales_crm_crm_public_customers is on time (was late)"),
        (None, "late", "Chimera: sales_crm_crm_public_customers is late"),
    ],
)
def test_subject_names_pipeline_and_states(from_state, to_state, expected):
    assert subject(change(from_state=from_state, to_state=to_state)) == expected


def test_body_lists_the_facts_escaped():
    body = html_body(change(team="<r&d>", last_published_at=None, warn_after=None))
    assert "&lt;r&amp;d&gt;" in body and "<r&d>" not in body
    assert "<th align='left'>Last published</th><td>never</td>" in body
    assert "<th align='left'>Early warning after</th><td>-</td>" in body
    assert "<th align='left'>Changed at</th><td>2026-11-25T12:00:30Z</td>" in body


def test_cloud_event():
    assert cloud_event(change()) == {
        "specversion": "1.0",
        "type": "chimera.sla.changed",
        "source": "chimera/timeliness",
        "id": "chimera-sla-7",
        "time": "2026-11-25T12:00:30Z",
        "subject": "sales_crm_crm_public_customers",
        "datacontenttype": "application/json",
        "data": {
            "pipeline": "sales_crm_crm_public_customers",
            "intent": "sales_crm",
            "team": "sales",
            "target_table": "sales.customers",
            "from": "warning",
            "to": "late",
            "last_published_at": "2026-11-25T09:00:30Z",
            "fresh_within": "PT2H",
            "warn_after": "PT90M",
        },
    }
