"""What a ``partitioned`` pipeline loads for each kind of run, on a real Airflow 3 scheduler.

One daily ``partitioned`` pipeline (``events``, timed ``@daily``) reads a landing file holding ten
days of events; a second one (``follow``) is triggered by the first's table and loads the window
each of its asset events carries. Day ``D-k`` holds ``10 + k`` rows, so a wrong window shows as a
wrong count. In order, as a user would drive them (docs/run-windows.md):

1. unpausing the DAG makes the scheduler's run at midnight, which loads the day that has just ended
   (its data interval), and the asset event it leaves triggers ``follow`` for the same day;
2. an ad hoc REST trigger without a logical date and with ``{"window": <date>}`` in its conf (a
   declared Param of the DAG's trigger form) loads exactly that day;
3. an Airflow backfill of five days (REST, as the UI's dialog) writes five windows, every run in its
   first try, in the team's pool; a second one over the same days (``airflow backfill create
   --reprocess-behavior completed``) reruns them and leaves every row as it was.

Runs on the shared stack (conftest.py) with its own intents sub-folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter

import pytest

from tests.e2e.airflow_stack import AirflowStack
from tests.helpers import DECLARATION

INTENT_NAME = "e2e_windows"
DAILY, FOLLOW = f"{INTENT_NAME}_landing_events", f"{INTENT_NAME}_landing_follow"
TODAY = dt.datetime.now(dt.timezone.utc).date()
DAYS = [TODAY - dt.timedelta(days=k) for k in range(10)]  # D, D-1, ..., D-9
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamp"}]


def _rows_of(day: dt.date) -> int:
    return 10 + (TODAY - day).days


def _object(name: str, trigger: dict, table: str) -> dict:
    return {
        "name": name, "path": "events.csv", "format": "csv", "schema": {"fields": FIELDS},
        "ingestion": {
            "trigger": trigger, "mode": {"type": "partitioned", "column": "ts", "granularity": "day"},
            "target": {"table": table},
        },
    }


def _intent(folder) -> dict:
    return {
        "version": 1, "name": INTENT_NAME, "project": "e2e_windows", "declaration": DECLARATION,
        "team": {"name": "e2e-windows", "support_email": "windows@example.com"},
        "sources": [{
            "name": "landing", "type": "file", "connection": {"uri": f"file://{folder}"},
            "objects": [
                _object("events", {"type": "timed", "schedule": "@daily"}, "events"),
                _object("follow", {"type": "event", "on": "iceberg://chimera.e2e_windows.events"}, "events_follow"),
            ],
        }],
    }


@pytest.fixture(scope="module")
def airflow(shared_airflow):
    stack = shared_airflow.airflow
    landing = stack.home / "windows-landing"
    landing.mkdir()
    with (landing / "events.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "ts"])
        n = 0
        for day in DAYS:
            for i in range(_rows_of(day)):
                writer.writerow([n, f"{day.isoformat()}T{i % 24:02d}:30:00"])
                n += 1
    intents = shared_airflow.folder("windows")
    (intents / f"{INTENT_NAME}.json").write_text(json.dumps(_intent(landing)))
    try:
        stack.run("chimera", "pools", "sync")
        stack.wait_for_run(f"chimera_onboard__{INTENT_NAME}", timeout=300)
        stack.wait(lambda: {DAILY, FOLLOW} <= stack.dag_ids(), 180, "the pipelines' DAGs to be parsed")
        stack.unpause(FOLLOW)
        yield stack
    finally:
        for dag_id in {DAILY, FOLLOW} & stack.dag_ids():
            stack.pause(dag_id)


def _days(stack: AirflowStack, table: str) -> Counter:
    """Rows of ``e2e_windows.<table>`` per day of ``ts``, read with pyiceberg from the stack's warehouse."""
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = stack.home / "warehouse"
    catalog = SqlCatalog("chimera", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=f"file://{warehouse}")
    column = catalog.load_table(("e2e_windows", table)).scan(selected_fields=("ts",)).to_arrow().column("ts")
    return Counter(ts.date() for ts in column.to_pylist())


def _expected(*days: dt.date) -> Counter:
    return Counter({day: _rows_of(day) for day in days})


def _ingest(stack: AirflowStack, dag_id: str, run_id: str) -> dict:
    return stack.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest")


def _finished(stack: AirflowStack, dag_id: str, timeout: float = 240):
    """Wait until no run of ``dag_id`` is queued or running; its runs."""
    def idle():
        runs = stack.runs(dag_id)
        return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else None
    return stack.wait(idle, timeout, f"every run of {dag_id} to finish", every=2)


def test_the_scheduled_run_loads_the_day_just_ended_and_its_asset_event_triggers_the_same_window(airflow):
    yesterday = TODAY - dt.timedelta(days=1)
    airflow.unpause(DAILY)  # catchup off: the scheduler makes the run of the newest full interval
    run = airflow.wait_for_run(DAILY, timeout=240, run_type="scheduled")
    assert run["data_interval_start"][:10] == yesterday.isoformat()
    assert run["data_interval_end"][:10] == TODAY.isoformat()
    assert _days(airflow, "events") == _expected(yesterday)
    followed = airflow.wait_for_run(FOLLOW, timeout=240, run_type="asset_triggered")
    assert followed["logical_date"] is None  # an asset-triggered run has no logical date in Airflow 3
    assert _days(airflow, "events_follow") == _expected(yesterday)


def test_an_ad_hoc_rest_trigger_with_a_window_in_its_conf_loads_exactly_that_day(airflow):
    params = airflow.get(f"/dags/{DAILY}/details")["params"]
    assert "window" in params and params["window"]["description"], params  # the trigger form shows it
    day = TODAY - dt.timedelta(days=8)
    run_id = airflow.trigger(DAILY, conf={"window": day.isoformat()})  # no logical date
    run = airflow.wait(lambda: (r := airflow._get(f"/dags/{DAILY}/dagRuns/{run_id}")) and r["state"] in ("success", "failed") and r,
                       240, f"run {run_id}", every=2)
    assert run["state"] == "success", airflow.logs()
    assert run["logical_date"] is None
    assert _days(airflow, "events") == _expected(TODAY - dt.timedelta(days=1), day)


def test_a_backfill_of_five_days_writes_five_windows_and_a_second_backfill_changes_nothing(airflow):
    days = [TODAY - dt.timedelta(days=k) for k in range(7, 2, -1)]  # D-7 .. D-3
    _finished(airflow, DAILY)
    before = _days(airflow, "events")

    def backfill(reprocess: str, through: str) -> list[dict]:
        if through == "rest":  # as the UI's backfill dialog does
            response = airflow.api.post("/backfills", json={
                "dag_id": DAILY, "from_date": f"{days[0]}T00:00:00Z", "to_date": f"{days[-1]}T00:00:00Z",
                "max_active_runs": 5, "reprocess_behavior": reprocess, "run_backwards": False, "dag_run_conf": {},
            })
            assert response.status_code in (200, 201), response.text
            backfill_id = response.json()["id"]
        else:  # the command the README names
            airflow.run("airflow", "backfill", "create", "--dag-id", DAILY, "--from-date", days[0].isoformat(),
                        "--to-date", days[-1].isoformat(), "--max-active-runs", "5", "--reprocess-behavior", reprocess)
            backfill_id = max(b["id"] for b in airflow.get("/backfills", dag_id=DAILY)["backfills"])

        def done():
            state = airflow._get(f"/backfills/{backfill_id}")
            if not state or state.get("completed_at") is None:
                return None
            runs = [r for r in airflow.runs(DAILY) if r["run_type"] == "backfill"]
            return runs if all(r["state"] in ("success", "failed") for r in runs) else None
        return airflow.wait(done, 420, f"backfill {backfill_id}", every=3)

    runs = backfill("none", through="rest")
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in days]
    assert {r["state"] for r in runs} == {"success"}, airflow.logs()
    for run in runs:
        ingest = _ingest(airflow, DAILY, run["dag_run_id"])
        assert ingest["try_number"] == 1, ingest  # published in its first try, no Airflow retry
        assert ingest["pool"] == "chimera__e2e_windows__file", ingest  # within the team's pool
    once = _days(airflow, "events")
    assert once == before + _expected(*days)

    again = backfill("completed", through="cli")  # the same days, every completed run reprocessed
    assert sorted(r["logical_date"][:10] for r in again) == [d.isoformat() for d in days]
    assert {r["state"] for r in again} == {"success"}, airflow.logs()
    assert _days(airflow, "events") == once  # replaced, never duplicated
    # Every window the daily pipeline published reached the follower through its asset event.
    _finished(airflow, FOLLOW, timeout=420)
    assert _days(airflow, "events_follow") == once
