"""Recovery on a real scheduler: 30 pipelines of three teams fail, `chimera recover --since` reruns them;
and a three-day outage of a daily partitioned pipeline is recovered day by day, in date order.

The pipelines first run once, so the registry knows their real CPU, memory and duration. Their
source files are then broken and every pipeline fails. After the files are fixed, `chimera recover`
finds the 30 failed runs through the REST API, plans them within a budget that fits only a few at
a time, and clears them wave by wave. The test then reads the `ingest` task instances' real start
and end times from Airflow and checks that the budget held at every instant and that the runs
started in the plan's order.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from tests.conftest import SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack
from tests.helpers import DECLARATION

TEAMS = ("alpha", "beta", "gamma")
PER_TEAM = 10
PRIORITIES = ["critical", "critical", "high", "high", "high", "medium", "medium", "low", "low", "low"]
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}]
GOOD = "id,name\n" + "".join(f"{i},row {i}\n" for i in range(200))
BROKEN = "identifier,label\n1,x\n"  # the columns the contract names are missing: the run fails
DAILY = "rec_daily_files_events"  # a daily partitioned pipeline (its intent: _daily_intent)
DAYS = [dt.datetime(2026, 11, d, tzinfo=dt.UTC) for d in (1, 2, 3)]
DAILY_GOOD = "id,ts\n" + "".join(f"{d * 10 + n},2026-11-0{d}T{n:02d}:30:00+00:00\n" for d in (1, 2, 3) for n in range(5))


def _intent(team: str, folder) -> dict:
    objects = [
        {
            "name": f"t{n}",
            "path": f"t{n}.csv",
            "format": "csv",
            "schema": {"fields": FIELDS},
            "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": f"{team}_t{n}"}, "priority": PRIORITIES[n]},
        }
        for n in range(PER_TEAM)
    ]
    return {
        "version": 1,
        "name": f"rec_{team}",
        "team": {"name": team, "support_email": f"{team}@example.com"},
        "project": "recovery",
        "declaration": DECLARATION,
        "sources": [{"name": "files", "type": "file", "connection": {"uri": f"file://{folder}"}, "objects": objects}],
    }


def _daily_intent(folder) -> dict:
    fields = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]
    events = {"name": "events", "path": "events.csv", "format": "csv", "schema": {"fields": fields},
              "ingestion": {"trigger": {"type": "timed", "schedule": "@daily"}, "mode": {"type": "partitioned", "column": "ts", "granularity": "day"},
                            "target": {"table": "daily_events"}}}
    return {"version": 1, "name": "rec_daily", "team": {"name": "alpha", "support_email": "alpha@example.com"}, "project": "recovery_daily",
            "declaration": DECLARATION, "sources": [{"name": "files", "type": "file", "connection": {"uri": f"file://{folder}"}, "objects": [events]}]}


def _write_all(data, content: str) -> None:
    for team in TEAMS:
        for n in range(PER_TEAM):
            (data / team / f"t{n}.csv").write_text(content)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    require_service("Kafka", *SERVICES["CHIMERA_KAFKA_BOOTSTRAP"].split(":"))
    home = tmp_path_factory.mktemp("recovery")
    intents, data = home / "intents", home / "data"
    intents.mkdir()
    for team in TEAMS:
        (data / team).mkdir(parents=True)
    _write_all(data, GOOD)
    for team in TEAMS:
        (intents / f"rec_{team}.json").write_text(json.dumps(_intent(team, data / team)))
    (data / "daily").mkdir()
    (data / "daily" / "events.csv").write_text(DAILY_GOOD)
    airflow = AirflowStack(home, intents, {
        "AIRFLOW__CHIMERA__TASK_RETRIES": "0",
        "AIRFLOW__CHIMERA__RECOVERY_CPU": "2",
        "AIRFLOW__CHIMERA__RECOVERY_MEMORY_GIB": "4",
        "AIRFLOW__CHIMERA__TEAM_SLOTS": "8",
        "AIRFLOW__CHIMERA__SOURCE_SLOTS": "8",
    })
    try:
        airflow.start()
        for team in TEAMS:
            airflow.wait_for_run(f"chimera_onboard__rec_{team}", timeout=300)
        # Onboarded after the others: onboardings creating one Iceberg namespace at once can race.
        (intents / "rec_daily.json").write_text(json.dumps(_daily_intent(data / "daily")))
        airflow.wait_for_run("chimera_onboard__rec_daily", timeout=300)
        yield SimpleNamespace(airflow=airflow, data=data)
    finally:
        airflow.stop()


def _dag_ids() -> list[str]:
    return [f"rec_{team}_files_t{n}" for team in TEAMS for n in range(PER_TEAM)]


def _run_everything(airflow: AirflowStack, expect: str) -> dict[str, str]:
    runs = {}
    for dag_id in _dag_ids():
        airflow.unpause(dag_id)
        runs[dag_id] = airflow.trigger(dag_id)

    def finished():
        states = {d: airflow.get(f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()}
        return states if all(s in ("success", "failed") for s in states.values()) else None

    states = airflow.wait(finished, 600, f"30 runs to end {expect}", every=3)
    assert set(states.values()) == {expect}, states
    return runs


def _ingest_intervals(airflow: AirflowStack, runs: dict[str, str]) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    out = {}
    for dag_id, run_id in runs.items():
        ti = airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest")
        assert ti["state"] == "success", (dag_id, ti["state"])
        out[dag_id] = (dt.datetime.fromisoformat(ti["start_date"]), dt.datetime.fromisoformat(ti["end_date"]))
    return out


def test_thirty_failed_pipelines_recover_within_the_budget_in_the_plans_order(stack):
    airflow = stack.airflow
    _run_everything(airflow, "success")  # the registry now has each pipeline's real figures
    since = dt.datetime.now(dt.UTC).isoformat()
    _write_all(stack.data, BROKEN)
    failed = _run_everything(airflow, "failed")
    _write_all(stack.data, GOOD)  # the source is fixed; the runs stay failed until recovered

    dry = json.loads(airflow.run("chimera", "recover", "--since", since, "--dry-run", "--format", "json").stdout)
    assert sorted(e["id"] for e in dry["plan"]) == sorted(_dag_ids())
    assert dry["makespan_s"] >= dry["lower_bound_s"] > 0
    print(f"dry run: makespan {dry['makespan_s']:.0f} s, lower bound {dry['lower_bound_s']:.0f} s")

    done = airflow.run("chimera", "recover", "--since", since, "--format", "json", check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plan = outcome = json.loads(done.stdout)
    assert sorted(r["id"] for r in outcome["runs"]) == sorted(_dag_ids())
    assert {r["state"] for r in outcome["runs"]} == {"success"}
    assert {r["dag_run_id"] for r in outcome["runs"]} == set(failed.values())  # the failed runs, cleared
    assert outcome["waves"] > 1  # the budget fits only a few at a time

    # The budget held at every instant, on the estimates the plan used, over the real task times.
    audit = json.loads(airflow.run("chimera", "audit", "--action", "recovery.started", "--format", "json", "--limit", "100").stdout)
    sizes = {e["details"]["pipeline"]: (e["details"]["cpu"], e["details"]["memory_gib"], e["details"]["wave"]) for e in audit}
    assert sorted(sizes) == sorted(_dag_ids())
    intervals = _ingest_intervals(airflow, failed)
    edges = sorted({t for start, end in intervals.values() for t in (start, end)})
    peak_cpu = peak_memory = 0.0
    for instant in edges:
        live = [d for d, (start, end) in intervals.items() if start <= instant < end]
        peak_cpu = max(peak_cpu, sum(sizes[d][0] for d in live))
        peak_memory = max(peak_memory, sum(sizes[d][1] for d in live))
    assert peak_cpu <= 2 + 1e-9 and peak_memory <= 4 + 1e-9, (peak_cpu, peak_memory)

    # The order followed the plan: the first wave is the plan's pipelines starting at once; later
    # waves come from the plan made again as runs end; no task started before the recovery released
    # it; within a team, a higher priority was never released after a lower one.
    released = {e["details"]["pipeline"]: dt.datetime.fromisoformat(e["details"]["released_at"]) for e in audit}
    for dag_id, (start, _) in intervals.items():
        assert start >= released[dag_id], (dag_id, start, released[dag_id])
    assert {d for d in sizes if sizes[d][2] == 1} == {e["id"] for e in plan["plan"] if e["start_s"] == 0}
    by_release = sorted(released, key=lambda d: (released[d], d))
    assert [sizes[d][2] for d in by_release] == sorted(sizes[d][2] for d in by_release)
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    reasons = {e["details"]["pipeline"]: e["details"]["reason"] for e in audit}
    exceptions = 0
    for team in TEAMS:
        mine = [d for d in by_release if d.startswith(f"rec_{team}_")]
        for i, earlier in enumerate(mine):
            for later in mine[i + 1:]:
                if rank[PRIORITIES[int(earlier.rsplit("t", 1)[1])]] > rank[PRIORITIES[int(later.rsplit("t", 1)[1])]]:
                    # Only the planner's documented exceptions (docs/recovery.md): a pipeline started
                    # where it delays nothing reserved, or a long one moved ahead to shorten the makespan.
                    assert reasons[earlier].split("; ")[1].startswith(("backfilled ahead of", "long-running", "ahead of")), reasons[earlier]
                    exceptions += 1
    inversions = sum(1 for a in intervals for b in intervals if sizes[a][2] < sizes[b][2] and intervals[a][0] > intervals[b][0])
    print(f"recovery: {len(intervals)} pipelines, {outcome['waves']} waves, {inversions} task start(s) of a later wave "
          f"before one of an earlier wave (scheduler jitter), {exceptions} documented priority exception(s), peak {peak_cpu:.2f} CPU / {peak_memory:.2f} GiB "
          f"(budget 2 / 4), planned makespan {plan['makespan_s']:.0f} s, lower bound {plan['lower_bound_s']:.0f} s, "
          f"real {(max(e for _, e in intervals.values()) - min(s for s, _ in intervals.values())).total_seconds():.0f} s")


def test_a_three_day_outage_of_a_daily_partitioned_pipeline_is_recovered_day_by_day(stack):
    """Three daily runs fail (their source broken); `chimera recover` clears all three, not only the
    newest, one after the other in date order, each rerun keeping its own day as its window."""
    airflow = stack.airflow
    events = stack.data / "daily" / "events.csv"
    events.write_text(BROKEN)
    since = dt.datetime.now(dt.UTC).isoformat()
    airflow.unpause(DAILY)
    failed = {}
    for day in DAYS:
        response = airflow.api.post(f"/dags/{DAILY}/dagRuns", json={
            "logical_date": day.isoformat(), "data_interval_start": day.isoformat(), "data_interval_end": (day + dt.timedelta(days=1)).isoformat()})
        response.raise_for_status()
        failed[day] = response.json()["dag_run_id"]

    def settled():  # the three runs, and the one the scheduler made on unpausing, have ended
        runs = airflow.runs(DAILY)
        ended = all(r["state"] in ("success", "failed") for r in runs) and set(failed.values()) <= {r["dag_run_id"] for r in runs}
        return runs if ended else None

    runs = airflow.wait(settled, 600, "the three days' runs to end", every=3)
    assert {r["dag_run_id"]: r["state"] for r in runs if r["dag_run_id"] in failed.values()} == dict.fromkeys(failed.values(), "failed")
    events.write_text(DAILY_GOOD)  # the source is fixed; the runs stay failed until recovered

    done = airflow.run("chimera", "recover", "--since", since, "--format", "json", check=False, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    ids = [f"{DAILY}@{day.isoformat()}" for day in DAYS]
    assert [e["id"] for e in outcome["plan"]] == ids  # three items, in date order
    assert [r["dag_run_id"] for r in outcome["runs"]] == [failed[day] for day in DAYS]  # each day's own run, finished in order
    assert {r["state"] for r in outcome["runs"]} == {"success"}
    assert [r["wave"] for r in outcome["runs"]] == [1, 2, 3]  # one at a time, each after the day before

    spans = []
    for day in DAYS:
        run = airflow.get(f"/dags/{DAILY}/dagRuns/{failed[day]}")
        window = (dt.datetime.fromisoformat(run["data_interval_start"]), dt.datetime.fromisoformat(run["data_interval_end"]))
        assert window == (day, day + dt.timedelta(days=1))  # the rerun loaded its own day
        ti = airflow.get(f"/dags/{DAILY}/dagRuns/{failed[day]}/taskInstances/ingest")
        assert ti["state"] == "success", (day, ti["state"])
        spans.append((dt.datetime.fromisoformat(ti["start_date"]), dt.datetime.fromisoformat(ti["end_date"])))
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), spans
    print(f"daily recovery: {len(spans)} days in order, ingest spans {[(s.isoformat(), e.isoformat()) for s, e in spans]}")
