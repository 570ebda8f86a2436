"""The rerun and recovery routes as Airflow's api-server mounts them (tests/unit/ui/conftest.py):
who may call them, what Chimera checks before it calls Airflow, and the recovery page. Airflow's
REST API is not running in the unit tier: ``[api] base_url`` points at a closed port, so a route
that got as far as calling Airflow answers 502 (the real calls: tests/e2e/test_ui_in_airflow.py)."""

from __future__ import annotations

import pytest

from tests.mailbox import free_port
from tests.ui_fleet import pipeline_id

MUTATING = {"Content-Type": "application/json", "X-Chimera-Request": "1"}
ROUTES = [("POST", f"/chimera/api/dags/{pipeline_id(0)}/rerun"), ("POST", "/chimera/api/recovery/run"),
          ("GET", "/chimera/api/recovery/plan"), ("GET", "/chimera/recovery")]


@pytest.fixture
def no_airflow(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_gets_401(client, method, path):
    client.cookies.clear()
    assert client.request(method, path, headers=MUTATING, json={"since": "6h", "pipelines": []}).status_code == 401


def test_a_recovery_needs_edit_rights_on_every_dag_of_the_plan_before_airflow_is_called(as_user, no_airflow):
    plan = {"since": "6h", "pipelines": [pipeline_id(0), f"{pipeline_id(1)}@2026-12-06T00:00:00+00:00"]}
    refused = as_user("alice").post("/chimera/api/recovery/run", headers=MUTATING, json=plan)
    assert refused.status_code == 403 and pipeline_id(1) in refused.json()["detail"]
    assert as_user("viewer").post("/chimera/api/recovery/run", headers=MUTATING, json=plan).status_code == 403
    # Edit rights on every DAG of the plan: on to Airflow (which is not there).
    allowed = as_user("alice").post("/chimera/api/recovery/run", headers=MUTATING, json={"since": "6h", "pipelines": [pipeline_id(0)]})
    assert allowed.status_code == 502 and "Airflow did not answer" in allowed.json()["detail"]


def test_a_rerun_goes_to_airflow_with_the_users_token(as_user, no_airflow):
    answer = as_user("viewer").post(f"/chimera/api/dags/{pipeline_id(0)}/rerun", headers=MUTATING, json={})
    assert answer.status_code == 502  # Airflow, not Chimera, decides a viewer's rerun (e2e: its 403)


@pytest.mark.parametrize("since", ["yesterday", "x" * 65])
def test_a_since_that_is_no_time_is_422(as_user, since):
    assert as_user("admin").get("/chimera/api/recovery/plan", params={"since": since}).status_code == 422


def test_the_recovery_page_lists_recent_recoveries_the_user_may_read_with_their_trail(as_user, registry, grants):
    from airflow_provider_chimera.registry.audit import record

    grants.known_dags = [pipeline_id(i) for i in range(20)]
    for run, dag_id in (("manual__a", pipeline_id(0)), ("manual__b", pipeline_id(10))):
        record(registry, "ui:admin", "ui.recovery.requested", details={"since": "x", "pipelines": [dag_id], "dag_run_id": run})
        record(registry, f"airflow:chimera_recovery/{run}", "recovery.started",
               details={"pipeline": dag_id, "dag_id": dag_id, "requested_by": "admin<script>"})
    page = as_user("admin").get("/chimera/recovery")
    assert page.status_code == 200 and 'data-testid="recovery-preview"' in page.text
    assert "manual__a" in page.text and "manual__b" in page.text
    assert "<script>alert" not in page.text
    mine = as_user("alice").get("/chimera/recovery").text  # alice may read fleet0000's DAGs only
    assert "manual__a" in mine and "manual__b" not in mine
