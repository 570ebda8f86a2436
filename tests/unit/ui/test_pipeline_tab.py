"""A DAG's "Chimera" tab from a registry synced from real intent files: the contract, the intent's
versions with their changes, the runs with their statistics and quality results, onboarding and the
audit trail; other DAGs get "not a Chimera pipeline"."""

from __future__ import annotations

import copy
import json

import pytest

from airflow_provider_chimera.pipelines.sync import sync_registry
from airflow_provider_chimera.registry.models import CheckResultRow
from airflow_provider_chimera.registry.runs import record_run
from tests.helpers import sales_crm_intent

CUSTOMERS = "sales_crm_crm_public_customers"
SOURCE = {
    "name": "crm",
    "type": "postgres",
    "connection": {"conn_id": "crm"},
    "objects": [
        {
            "name": "public.customers",
            "schema": {"fields": [
                {"name": "id", "type": "long", "nullable": False},
                {"name": "email", "type": "string"},
                {"name": "updated_at", "type": "timestamp"},
            ]},
            "ingestion": {
                "trigger": {"type": "timed", "schedule": "@hourly"},
                "mode": {"type": "incremental", "cursor": "updated_at"},
                "target": {"table": "customers", "kind": "mdm", "keys": ["id"]},
                "classification": {"email": "pii"},
                "sla": {"fresh_within": "PT2H", "warn_after": "PT90M"},
                "quarantine_threshold": 0.05,
                "quality": [{"check": "missing", "column": "email", "must_be": 0}],
            },
        }
    ],
}


@pytest.fixture
def synced(registry, grants, tmp_path):
    folder = tmp_path / "intents"
    folder.mkdir()
    first = sales_crm_intent(copy.deepcopy(SOURCE))
    (folder / "sales_crm.json").write_text(json.dumps(first))
    sync_registry(registry, folder, actor="jane")
    second = copy.deepcopy(first)
    second["sources"][0]["objects"][0]["schema"]["fields"].append({"name": "phone", "type": "string"})
    second["sources"][0]["objects"][0]["ingestion"]["quarantine_threshold"] = 0.1
    (folder / "sales_crm.json").write_text(json.dumps(second))
    sync_registry(registry, folder, actor="jane")
    with registry.session() as session:
        record_run(session, CUSTOMERS, "manual__1", "success", rows=120, rows_read=125, bytes_written=4096,
                   cpu_seconds=0.5, peak_rss_kib=10240, snapshot_id=2**62 + 1, quarantined_rows=5)
        record_run(session, CUSTOMERS, "manual__2", "failed", error="Boom: the <source> went away\nTraceback")
        session.add(CheckResultRow(pipeline_id=CUSTOMERS, run_id="manual__1", check_name="email missing",
                                   check_type="missing", column="email", outcome="passed", published=True))
    grants.known_dags = [CUSTOMERS]
    return folder


def test_tab_json_has_the_contract_of_the_pipeline_version(as_user, synced):
    tab = as_user("admin").get(f"/chimera/api/dags/{CUSTOMERS}").json()
    assert (tab["intent"], tab["team"], tab["source_type"], tab["target_table"]) == ("sales_crm", "sales", "postgres", "sales.customers")
    contract = tab["contract"]
    assert [c["name"] for c in contract["columns"]][:3] == ["id", "email", "updated_at"]
    assert contract["columns"][1]["classification"] == "pii" and contract["columns"][0]["nullable"] is False
    assert contract["keys"] == ["id"] and contract["schedule"] == "@hourly" and contract["mode"] == "incremental"
    assert (contract["sla_fresh_within"], contract["sla_warn_after"]) == ("PT2H", "PT90M")
    assert contract["quality_checks"] and "missing" in contract["quality_checks"][0]


def test_tab_json_has_the_versions_with_their_changes(as_user, synced):
    versions = as_user("admin").get(f"/chimera/api/dags/{CUSTOMERS}").json()["versions"]
    assert len(versions) == 2 and versions[0]["current"] and not versions[1]["current"]
    assert versions[1]["changes"] == []
    changes = "\n".join(versions[0]["changes"])
    assert "phone" in changes and "quarantine_threshold" in changes


def test_tab_json_has_the_runs_quality_and_quarantine(as_user, synced):
    tab = as_user("admin").get(f"/chimera/api/dags/{CUSTOMERS}").json()
    failed, ok = tab["runs"]
    assert failed["state"] == "failed" and failed["error_first_line"] == "Boom: the <source> went away"
    assert (ok["rows"], ok["rows_read"], ok["bytes_written"], ok["quarantined_rows"]) == (120, 125, 4096, 5)
    assert ok["peak_memory_mib"] == 10.0 and ok["snapshot_id"] == str(2**62 + 1)
    assert ok["checks"] == [{"check_name": "email missing", "check_type": "missing", "column": "email", "outcome": "passed", "published": True}]
    assert tab["onboarding"]["covers_pipeline"] is False and "validate" in tab["onboarding"]["steps"]
    assert any(entry["action"].startswith("intent.") for entry in tab["audit"])
    assert any(entry["action"] == "pipeline.created" for entry in tab["audit"])


def test_the_audit_trail_leaves_out_the_intents_other_pipelines(as_user, synced, registry):
    from airflow_provider_chimera.registry.audit import record

    with registry.session() as session:
        record(session, "jane", "ingest.success", intent="sales_crm", details={"pipeline": "sales_crm_crm_public_orders"})
        record(session, "jane", "ingest.failed", intent="sales_crm", details={"pipeline": CUSTOMERS})
    actions = [e["action"] for e in as_user("admin").get(f"/chimera/api/dags/{CUSTOMERS}").json()["audit"]]
    assert actions[0] == "ingest.failed" and "ingest.success" not in actions


def test_tab_page_shows_it_escaped_with_a_rerun_button(as_user, synced):
    html = as_user("admin").get(f"/chimera/dags/{CUSTOMERS}").text
    assert "Boom: the &lt;source&gt; went away" in html and "<source>" not in html
    assert 'data-testid="rerun" data-dag-id="sales_crm_crm_public_customers"' in html
    assert 'href="/dags/sales_crm_crm_public_customers/grid" target="_top"' in html
    assert "pii" in html and "phone" in html


def test_viewer_sees_the_tab_and_is_told_they_may_not_rerun(as_user, synced):
    html = as_user("viewer").get(f"/chimera/dags/{CUSTOMERS}").text
    assert "you may read this DAG, not rerun it" in html


def test_other_dags_are_not_chimera_pipelines(as_user, synced):
    client = as_user("admin")
    page = client.get("/chimera/dags/example_bash_operator")
    assert page.status_code == 404 and "is not a Chimera pipeline" in page.text
    answer = client.get("/chimera/api/dags/example_bash_operator")
    assert answer.status_code == 404 and "not a Chimera pipeline" in answer.json()["detail"]
