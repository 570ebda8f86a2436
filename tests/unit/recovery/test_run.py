"""`--since` values, and the recovery DAG built without I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.recovery.run import parse_since
from tests.unit.registry.conftest import chimera_home, intents_dir  # noqa: F401 (fixtures)

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6h", NOW - dt.timedelta(hours=6)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("2d", NOW - dt.timedelta(days=2)),
        ("2026-11-25T08:00", dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)),
        ("2026-11-25T08:00+01:00", dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)),
    ],
)
def test_since_is_a_time_or_a_span_back_from_now(text, expected):
    assert parse_since(text, NOW) == expected


def test_a_since_that_is_neither_says_what_it_takes():
    with pytest.raises(ValueError) as error:
        parse_since("yesterday", NOW)
    assert str(error.value) == (
        "--since 'yesterday': give a time (2026-11-25T08:00, UTC unless an offset is given) or a span back from now (6h, 90m, 2d)"
    )


def test_the_recovery_dag_is_manual_with_since_and_dry_run_params():
    from airflow_provider_chimera.factory.recovery import RECOVERY, build_recovery_dags

    dag = build_recovery_dags()[RECOVERY]
    assert dag.schedule is None
    assert dag.task_ids == ["recover"]
    assert (dag.params["since"], dag.params["dry_run"]) == ("24h", False)
    assert dag.get_task("recover").retries == 0


class _Airflow:
    """In-memory stand-in of REST API v2's DAG and DAG-run answers: every DAG's one run failed
    (the real scheduler is exercised by tests/e2e/test_recovery_in_airflow.py)."""

    def __init__(self):
        self.cleared: list[str] = []

    def get(self, path, **params):
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            return {"dag_id": parts[1], "is_paused": True}
        if len(parts) == 3:
            return {"dag_runs": [{"dag_run_id": "manual__1", "state": "failed", "logical_date": None}]}
        return {"state": "success"}

    def post(self, path, body):
        self.cleared.append(path.split("/")[2])
        return {"task_instances": []}


@pytest.fixture
def two_pipelines(chimera_home, intents_dir, monkeypatch):  # noqa: F811
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.settings import load_settings
    from tests.unit.registry.conftest import INTENT, write_intent

    write_intent(intents_dir, INTENT)
    monkeypatch.setenv("AIRFLOW__CHIMERA__INTENTS_DIR", str(intents_dir))
    ids = sorted(p.id for p in discover(intents_dir).pipelines)
    assert len(ids) == 2
    return load_settings(), ids


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_recovery_restricted_to_a_list_recovers_only_those_and_audits_who_asked(two_pipelines, dry_run):
    from airflow_provider_chimera.recovery.run import recover
    from airflow_provider_chimera.registry.audit import entries
    from airflow_provider_chimera.registry.db import open_registry

    settings, (kept, other) = two_pipelines
    api = _Airflow()
    report = recover(NOW, settings, dry_run=dry_run, actor="airflow:chimera_recovery/r1", api=api, poll_s=0,
                     pipelines=[kept, "not_a_pipeline"], requested_by="ursula")
    assert [r.dag for r in report.recoveries] == [kept]  # the list never grows: an unknown id adds nothing
    assert [e.id for e in report.plan.plan] == [kept]
    assert api.cleared == ([] if dry_run else [kept])
    registry = open_registry(settings)
    try:
        with registry.session() as session:
            audit = entries(session, action="recovery.*")
            assert {e.action for e in audit} == ({"recovery.planned"} if dry_run else {"recovery.planned", "recovery.wave", "recovery.started", "recovery.finished"})
            assert all(e.details["requested_by"] == "ursula" and e.actor == "airflow:chimera_recovery/r1" for e in audit)
            planned = next(e for e in audit if e.action == "recovery.planned")
            assert planned.details["restricted_to"] == sorted([kept, "not_a_pipeline"])
            assert [p["dag_id"] for p in planned.details["pipelines"]] == [kept]
    finally:
        registry.close()
    assert other not in [r.dag for r in report.recoveries]


def test_without_a_list_every_pipeline_that_needs_a_run_is_recovered(two_pipelines):
    from airflow_provider_chimera.recovery.run import recover

    settings, ids = two_pipelines
    report = recover(NOW, settings, dry_run=True, actor="t", api=_Airflow())
    assert sorted(r.dag for r in report.recoveries) == ids


@pytest.mark.parametrize(
    ("conf", "airflow_user", "recorded"),
    [("ursula", "ursula", "ursula"), (None, "ursula", "ursula"), ("ursula", None, "ursula"),
     ("ursula", "mallory", "ursula (triggered by mallory)"), (None, None, None)],
)
def test_the_requester_is_the_conf_only_when_airflow_agrees(conf, airflow_user, recorded):
    from airflow_provider_chimera.operators.recovery import requester

    assert requester(conf, airflow_user) == recorded


def test_the_recovery_dag_takes_a_list_of_pipelines_and_who_asked():
    from airflow_provider_chimera.factory.recovery import RECOVERY, build_recovery_dags

    params = build_recovery_dags()[RECOVERY].params
    assert (params["pipelines"], params["requested_by"]) == (None, None)
    params.validate()
