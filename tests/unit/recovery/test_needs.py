"""What needs a run after an outage, interval by interval: every failed run (oldest first), every
missed interval of a partitioned pipeline with its logical date and data interval, one item each,
in date order. Airflow's side is an in-memory stand-in of its REST API v2 answers; the real
scheduler is exercised by tests/e2e/test_recovery_in_airflow.py."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_chimera.recovery.execute import carry_out, start
from airflow_provider_chimera.recovery.model import Budget, Scenario
from airflow_provider_chimera.recovery.needs import find_recoveries, intervals
from airflow_provider_chimera.recovery.planner import plan
from tests.helpers import pipeline_for, record_schema
from tests.unit.registry.conftest import chimera_home, registry  # noqa: F401 (fixtures)

DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)
SINCE = dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)  # after the run for Nov 30, due at midnight


def _pipeline(mode: dict, schedule: str = "@daily"):
    return pipeline_for({
        "name": "files", "type": "file", "connection": {"uri": "file:///tmp/x"},
        "objects": [{"name": "orders", "path": "orders.csv", "format": "csv", "schema": record_schema(["id"], id="long", day="date"),
                     "ingestion": {"trigger": {"type": "timed", "schedule": schedule}, "mode": mode, "target": {"namespace": "qa", "table": "orders"}}}],
    })


PARTITIONED = {"type": "partitioned", "column": "day"}


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _run(day: int, state: str) -> dict:
    start = dt.datetime(2026, 12, day, tzinfo=dt.UTC)
    return {"dag_run_id": f"scheduled__2026-12-{day:02d}", "state": state, "logical_date": _iso(start),
            "data_interval_start": _iso(start), "data_interval_end": _iso(start + DAY), "run_after": _iso(start + DAY)}


class _Airflow:
    """GET /dags/{id}, GET /dags/{id}/dagRuns (run_after ordering), POST dagRuns and clearTaskInstances."""

    def __init__(self, dag_id: str, runs: list[dict], **dag):
        self.dag_id, self.runs, self.posts = dag_id, runs, []
        self.dag = {"dag_id": dag_id, "is_paused": False, **dag}

    def get(self, path, **params):
        if path == f"/dags/{self.dag_id}":
            return self.dag
        if path == f"/dags/{self.dag_id}/dagRuns":
            assert params["order_by"] == "run_after"
            since = dt.datetime.fromisoformat(params["run_after_gte"])
            return {"dag_runs": [r for r in self.runs if dt.datetime.fromisoformat(r["run_after"].replace("Z", "+00:00")) >= since]}
        run_id = path.rsplit("/", 1)[1]
        return next(r for r in self.runs if r["dag_run_id"] == run_id)

    def post(self, path, body):
        self.posts.append((path.rsplit("/", 1)[1], body))
        if path.endswith("/dagRuns"):
            run = {"dag_run_id": f"manual__{body['logical_date']}", "state": "success"}
            self.runs.append(run)
            return run
        next(r for r in self.runs if r["dag_run_id"] == body["dag_run_id"])["state"] = "success"
        return {"task_instances": []}


def test_three_failed_daily_runs_are_three_items_in_date_order(registry):  # noqa: F811
    pipeline = _pipeline(PARTITIONED)
    # Listed newest first on purpose: the order comes from the logical dates.
    airflow = _Airflow(pipeline.id, [_run(3, "failed"), _run(1, "failed"), _run(2, "failed")],
                       next_dagrun_run_after=_iso(NOW))
    with registry.session() as session:
        found = find_recoveries(airflow, [pipeline], SINCE, session, now=NOW - DAY)  # Dec 4, 09:00: day 4 has not ended

    assert [(r.action, r.dag_run_id) for r in found] == [("clear", f"scheduled__2026-12-0{d}") for d in (1, 2, 3)]
    ids = [r.need.id for r in found]
    assert ids == [f"{pipeline.id}@2026-12-0{d}T00:00:00+00:00" for d in (1, 2, 3)]
    assert [r.need.after for r in found] == [None, ids[0], ids[1]]
    assert {r.dag for r in found} == {pipeline.id}
    assert {(r.need.cpu, r.need.duration_s) for r in found} == {(1.0, 600.0)}  # the pipeline's estimate, each

    # Planned one after the other in date order, even with room for all three at once.
    result = plan(Scenario(budget=Budget(cpu=8, memory_gib=16), pipelines=[r.need for r in found]))
    entries = {e.id: e for e in result.plan}
    assert [(entries[i].start_s, entries[i].finish_s) for i in ids] == [(0.0, 600.0), (600.0, 1200.0), (1200.0, 1800.0)]
    assert "after " + ids[0] in entries[ids[1]].reason
    assert result.lower_bound_s == 1800.0  # the chain, not the CPU area, bounds this plan


def test_missed_days_of_a_partitioned_pipeline_are_created_with_their_logical_dates_and_intervals(registry):  # noqa: F811
    pipeline = _pipeline(PARTITIONED)
    # Days 1 and 2 ran (the 2nd failed); the scheduler was down from the 3rd: days 3 and 4 never ran.
    airflow = _Airflow(pipeline.id, [_run(1, "success"), _run(2, "failed")], next_dagrun_run_after=_iso(dt.datetime(2026, 12, 4, tzinfo=dt.UTC)))
    with registry.session() as session:
        found = find_recoveries(airflow, [pipeline], SINCE, session, now=NOW)

    assert [(r.action, r.logical_date.day) for r in found] == [("clear", 2), ("trigger", 3), ("trigger", 4)]
    assert found[1].data_interval == (dt.datetime(2026, 12, 3, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, tzinfo=dt.UTC))
    assert [r.need.after for r in found] == [None, found[0].need.id, found[1].need.id]

    # Carried out in date order, one at a time: the clear first, then each missed day created with
    # its logical date and data interval, as the scheduler would have.
    outcome = carry_out(airflow, found, Budget(cpu=8, memory_gib=16), poll_s=0.001, sleep=lambda s: None)
    assert [r["state"] for r in outcome.runs] == ["success"] * 3
    assert [kind for kind, _ in airflow.posts] == ["clearTaskInstances", "dagRuns", "dagRuns"]
    assert [body.get("logical_date") for kind, body in airflow.posts[1:]] == ["2026-12-03T00:00:00+00:00", "2026-12-04T00:00:00+00:00"]
    assert airflow.posts[2][1]["data_interval_start"] == "2026-12-04T00:00:00+00:00"
    assert airflow.posts[2][1]["data_interval_end"] == "2026-12-05T00:00:00+00:00"
    assert outcome.waves == 3


def test_a_single_failed_run_keeps_the_dag_id_as_its_item(registry):  # noqa: F811
    pipeline = _pipeline(PARTITIONED)
    airflow = _Airflow(pipeline.id, [_run(4, "failed")], next_dagrun_run_after=_iso(NOW + DAY))
    with registry.session() as session:
        (found,) = find_recoveries(airflow, [pipeline], dt.datetime(2026, 12, 5, tzinfo=dt.UTC), session, now=NOW)
    assert (found.need.id, found.need.after, found.action) == (pipeline.id, None, "clear")


def test_a_pipeline_with_a_run_in_progress_is_left_alone(registry):  # noqa: F811
    pipeline = _pipeline(PARTITIONED)
    airflow = _Airflow(pipeline.id, [_run(1, "failed"), _run(2, "running")])
    with registry.session() as session:
        assert find_recoveries(airflow, [pipeline], SINCE, session, now=NOW) == []


def test_an_incremental_pipeline_gets_one_run_with_the_missed_logical_date(registry):  # noqa: F811
    pipeline = _pipeline({"type": "incremental", "cursor": "id"})
    due = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    airflow = _Airflow(pipeline.id, [], next_dagrun_run_after=_iso(due), next_dagrun_logical_date=_iso(due))
    with registry.session() as session:
        (found,) = find_recoveries(airflow, [pipeline], SINCE, session, now=NOW)
    assert (found.action, found.logical_date, found.data_interval, found.need.id) == ("trigger", due, None, pipeline.id)
    start(airflow, found)
    assert airflow.posts == [("dagRuns", {"logical_date": "2026-12-03T00:00:00+00:00", "note": "chimera recovery"})]


@pytest.mark.parametrize(
    ("schedule", "dag", "expected"),
    [
        ("@daily", {}, [(dt.datetime(2026, 12, d, tzinfo=dt.UTC), dt.datetime(2026, 12, d + 1, tzinfo=dt.UTC)) for d in (1, 2, 3)]),
        ("0 6 * * *", {}, [(dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC) + d * DAY, dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC) + d * DAY) for d in range(4)]),
        ("P1D", {"next_dagrun_data_interval_start": "2026-12-02T12:00:00Z", "next_dagrun_data_interval_end": "2026-12-03T12:00:00Z"},
         [(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC) + d * DAY, dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC) + d * DAY) for d in range(4)]),
    ],
)
def test_intervals_of_a_schedule_are_those_ending_in_the_window(schedule, dag, expected):
    # Intervals that end from Dec 1, 01:00 up to the cutoff (Dec 4, 12:00), oldest first.
    assert intervals(schedule, dag, dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)) == expected
