"""The UI's actions decide from the DAG's latest run what a rerun does, pass Airflow's refusals on
unchanged, and start a recovery restricted to the previewed plan. Airflow's side is an in-memory
stand-in of its REST API v2 answers (the real api-server, its permissions and its audit log are
exercised by tests/e2e/test_ui_in_airflow.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.airflow_api import AirflowApiError
from airflow_provider_chimera.ui.actions import ActionRefused, plan_dags, rerun, start_recovery
from tests.unit.registry.conftest import chimera_home, registry  # noqa: F401 (fixtures)

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
DAG = "sales_crm_orders"


class _Airflow:
    """GET /dags/{id} and its latest dagRun; POST clearTaskInstances and dagRuns, recorded.
    ``refuse`` answers every POST with that HTTP status, as Airflow does for a user without rights."""

    def __init__(self, latest: dict | None, refuse: int | None = None, **dag):
        self.latest, self.refuse, self.posts = latest, refuse, []
        self.dag = {"dag_id": DAG, "is_paused": False, "next_dagrun_run_after": None, **dag}

    def get(self, path, **params):
        if path == f"/dags/{DAG}":
            return self.dag
        assert path == f"/dags/{DAG}/dagRuns" and params == {"order_by": "-run_after", "limit": 1}
        return {"dag_runs": [self.latest] if self.latest else []}

    def post(self, path, body):
        if self.refuse:
            raise AirflowApiError(f"Airflow API POST {path}: HTTP {self.refuse}", self.refuse, "Forbidden")
        self.posts.append((path, body))
        return {"dag_run_id": "manual__new"} if path.endswith("/dagRuns") else {"task_instances": []}


def _run(state: str) -> dict:
    return {"dag_run_id": "scheduled__2026-12-06", "state": state}


def test_a_failed_latest_run_has_its_failed_tasks_cleared():
    api = _Airflow(_run("failed"))
    result = rerun(api, DAG, "ursula", NOW)
    assert (result.action, result.dag_run_id) == ("cleared", "scheduled__2026-12-06")
    assert api.posts == [(f"/dags/{DAG}/clearTaskInstances", {"dry_run": False, "dag_run_id": "scheduled__2026-12-06", "only_failed": True,
                                                               "reset_dag_runs": True, "note": "rerun from Chimera by ursula"})]


def test_a_dag_that_never_ran_is_triggered():
    api = _Airflow(None)
    result = rerun(api, DAG, "ursula", NOW)
    assert (result.action, result.dag_run_id) == ("triggered", "manual__new")
    assert api.posts == [(f"/dags/{DAG}/dagRuns", {"logical_date": None, "note": "rerun from Chimera by ursula"})]


def test_a_missed_scheduled_run_is_created_with_the_dates_the_scheduler_would_have_given_it():
    api = _Airflow(_run("success"), next_dagrun_run_after="2026-12-07T00:00:00Z", next_dagrun_logical_date="2026-12-06T00:00:00Z",
                   next_dagrun_data_interval_start="2026-12-06T00:00:00Z", next_dagrun_data_interval_end="2026-12-07T00:00:00Z")
    result = rerun(api, DAG, "ursula", NOW)
    assert result.action == "triggered" and "missed its run due 2026-12-07T00:00:00Z" in result.message
    assert api.posts == [(f"/dags/{DAG}/dagRuns", {"logical_date": "2026-12-06T00:00:00Z", "data_interval_start": "2026-12-06T00:00:00Z",
                                                   "data_interval_end": "2026-12-07T00:00:00Z", "note": "rerun from Chimera by ursula"})]


@pytest.mark.parametrize("state", ["queued", "running", "success"])
def test_a_busy_or_successful_latest_run_is_a_409_that_says_why_and_changes_nothing(state):
    api = _Airflow(_run(state), next_dagrun_run_after=(NOW - dt.timedelta(seconds=30)).isoformat())  # due, but within the grace
    with pytest.raises(ActionRefused) as refused:
        rerun(api, DAG, "ursula", NOW)
    assert refused.value.status == 409 and state[:4] in refused.value.message
    assert api.posts == []


@pytest.mark.parametrize("latest", [_run("failed"), None])
def test_airflows_403_passes_through(latest):
    api = _Airflow(latest, refuse=403)
    with pytest.raises(ActionRefused) as refused:
        rerun(api, DAG, "victor", NOW)
    assert refused.value.status == 403 and "Forbidden" in refused.value.message
    assert api.posts == []


def test_a_recovery_is_triggered_with_the_plans_dags_the_since_as_a_time_and_who_asked():
    api = _Airflow(None)
    started = start_recovery(api, "2026-12-07T03:00", [DAG, "hr_people@2026-12-05T00:00:00+00:00", "hr_people@2026-12-06T00:00:00+00:00"], "ursula")
    assert api.posts == [("/dags/chimera_recovery/dagRuns", {
        "logical_date": None, "note": "recovery requested by ursula in Chimera",
        "conf": {"since": "2026-12-07T03:00:00+00:00", "pipelines": ["hr_people", DAG], "requested_by": "ursula"}})]
    assert started.pipelines == ["hr_people", DAG]


@pytest.mark.parametrize(("since", "pipelines", "status"), [("yesterday", [DAG], 422), ("6h", [], 400)])
def test_a_recovery_with_a_bad_since_or_no_pipeline_starts_nothing(since, pipelines, status):
    api = _Airflow(None)
    with pytest.raises(ActionRefused) as refused:
        start_recovery(api, since, pipelines, "ursula")
    assert refused.value.status == status and api.posts == []


def test_plan_items_count_once_per_dag():
    assert plan_dags(["a@1", "a@2", "b", " "]) == ["a", "b"]


def test_recent_recoveries_group_the_request_with_its_runs_audit_trail_and_leave_previews_out(registry):  # noqa: F811
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.ui.actions import RecoveryStarted, audit_recovery_requested, recent_recoveries

    settings = load_settings()
    record(registry, "ui:ursula", "recovery.planned", details={"dry_run": True, "pipelines": []})  # a preview
    started = RecoveryStarted(dag_run_id="manual__r1", since="2026-12-07T03:00:00+00:00", pipelines=[DAG], requested_by="ursula",
                              message="", grid_url="")
    audit_recovery_requested(settings, "ursula", started)
    actor = "airflow:chimera_recovery/manual__r1"
    record(registry, actor, "recovery.planned", details={"dry_run": False, "requested_by": "ursula"})
    record(registry, actor, "recovery.started", details={"pipeline": DAG, "requested_by": "ursula"})
    [recovery] = recent_recoveries(settings)
    assert recovery["run"] == actor and recovery["requested_by"] == "ursula"
    assert [e["action"] for e in recovery["trail"]] == ["ui.recovery.requested", "recovery.planned", "recovery.started"]
    assert recovery["trail"][0]["details"] == {"since": "2026-12-07T03:00:00+00:00", "pipelines": [DAG], "dag_run_id": "manual__r1"}
