"""Chimera on `make cluster` (scripts/cluster.sh): the CeleryExecutor with workers per team queue.

Team alpha has two workers (concurrency 4 each, its pools add up to 8), both pinned to one CPU;
team bravo one worker (concurrency 2) on another, as hosts of their own would be. Tables go through
the Iceberg REST catalog to the S3-compatible store (scripts/catalog.sh). In order:

1. Both teams' intents are dropped into the intents folder and nothing else is done until they are
   onboarded; each team's pipeline, triggered through the REST API, runs on its own team's worker
   (the ``worker`` its task recorded from inside, as CHIMERA_WORKER names each worker: the workers
   share this host's name), on its team's queue, in a pool no larger than its workers' slots; each
   table, read through the REST catalog with pyiceberg alone, holds exactly its source's rows.
2. Same-table concurrency: an Airflow backfill of eight days of one ``partitioned`` pipeline, all
   eight runs at once, split over alpha's two workers; every run succeeds (commits that lost a race
   are re-checked and retried), one published snapshot per day with its rows, and every data file
   on the store is referenced by the table: none orphaned.
3. A worker killed (SIGKILL, its whole process group: the host gone) in the middle of an
   incremental run: the scheduler fails the try when its heartbeat stops, the retry runs on the
   surviving worker, and the table holds exactly the source's rows, none twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.cluster_stack import Cluster, onboard, start_cluster, stop_cluster, two_cpus
from tests.helpers import DECLARATION

ALPHA, BRAVO = "e2e-alpha", "e2e-bravo"
CPUS = two_cpus()
TEAMS = f"{ALPHA}=4x2@{CPUS[0]} {BRAVO}=2@{CPUS[1]}"
SLOTS = {ALPHA: 8, BRAVO: 2}  # each team's workers' concurrency, added up
ITEMS = {ALPHA: 30, BRAVO: 20}  # rows of each team's items.csv
DAYS, ROWS_PER_DAY = 8, 500
FILES, ROWS_PER_FILE = 4, 250_000  # the incremental pipeline's landing folder: a few seconds of loading, to be killed in
HEARTBEAT_TIMEOUT = 30  # seconds: a dead worker's task is failed (and retried) this long after its last heartbeat
QUEUES = {ALPHA: "chimera_e2e_alpha", BRAVO: "chimera_e2e_bravo"}
ALPHA_WORKERS = {f"{QUEUES[ALPHA]}-worker-1", f"{QUEUES[ALPHA]}-worker-2"}
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}]


def _object(name: str, path: str, mode: dict, trigger: dict | None = None, fmt: str = "csv", fields=FIELDS) -> dict:
    return {
        "name": name, "path": path, "format": fmt, "schema": {"fields": fields},
        "ingestion": {"trigger": trigger or {"type": "adhoc"}, "mode": mode, "target": {"table": name}},
    }


def _source(name: str, folder: str, *objects: dict) -> dict:
    return {"name": name, "type": "file", "connection": {"uri": "file://${env:CHIMERA_E2E_DATA}/" + folder}, "objects": list(objects)}


def _intent(team: str, *sources: dict) -> dict:
    for obj in (obj for source in sources for obj in source["objects"]):
        obj["ingestion"]["target"]["table"] = f"{team.replace('-', '_')}_{obj['name']}"
    return {
        "version": 1, "name": team.replace("-", "_"), "team": {"name": team, "support_email": f"{team}@example.com"},
        "project": "cluster", "declaration": DECLARATION, "sources": list(sources),
    }


def intents() -> dict[str, dict]:
    timestamps = [{"name": "id", "type": "long", "nullable": False}, {"name": "ts", "type": "timestamptz"}]
    alpha = _intent(
        ALPHA,
        _source("drop", "alpha", _object("items", "items.csv", {"type": "full"})),
        _source("events", "alpha/events", _object("events", "*.jsonl", {"type": "partitioned", "column": "ts", "granularity": "day"},
                                                  {"type": "timed", "schedule": "@daily"}, fmt="json", fields=timestamps)),
        _source("landing", "alpha/landing", _object("orders", "*.csv", {"type": "incremental"})),
    )
    bravo = _intent(BRAVO, _source("drop", "bravo", _object("items", "items.csv", {"type": "full"})))
    return {"e2e_alpha": alpha, "e2e_bravo": bravo}


def write_sources(data: Path) -> None:
    for team, folder in ((ALPHA, "alpha"), (BRAVO, "bravo")):
        (data / folder).mkdir(parents=True)
        (data / folder / "items.csv").write_text("id,name\n" + "".join(f"{i},{team} {i}\n" for i in range(ITEMS[team])))
    (data / "alpha" / "events").mkdir()
    step = dt.timedelta(days=1) / ROWS_PER_DAY
    for day in range(1, DAYS + 1):
        first = dt.datetime(2026, 11, day, tzinfo=dt.UTC)
        lines = [json.dumps({"id": (day - 1) * ROWS_PER_DAY + n, "ts": (first + n * step).isoformat()}) for n in range(ROWS_PER_DAY)]
        (data / "alpha" / "events" / f"day-{day:02d}.jsonl").write_text("\n".join(lines) + "\n")
    (data / "alpha" / "landing").mkdir()
    for f in range(FILES):
        first = f * ROWS_PER_FILE
        (data / "alpha" / "landing" / f"orders-{f}.csv").write_text(
            "id,name\n" + "".join(f"{i},order {i}\n" for i in range(first, first + ROWS_PER_FILE)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    write_sources(folder / "data")
    cluster = start_cluster(
        folder, TEAMS, CLUSTER_SOURCE_SLOTS="16", CLUSTER_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT),
        CHIMERA_E2E_DATA=str(folder / "data"), AIRFLOW__CHIMERA__TASK_RETRY_DELAY_SECONDS="2",
    )
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


def _ingest(cluster: Cluster, dag_id: str, run_id: str) -> tuple[dict, dict]:
    """The run's ``ingest`` task instance and its XCom (the run's result)."""
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest"
    xcom = cluster.get(f"{path}/xcomEntries/return_value")["value"]
    return cluster.get(path), json.loads(xcom) if isinstance(xcom, str) else xcom


def test_two_teams_intents_run_on_their_own_teams_workers(cluster):
    status = cluster.script("status")
    for worker in [*ALPHA_WORKERS, f"{QUEUES[BRAVO]}-worker", "default-worker"]:
        assert worker in status, status
    assert "DOWN" not in status, status

    dags = {team: f"{team.replace('-', '_')}_drop_items" for team in (ALPHA, BRAVO)}
    onboard(cluster, intents(), set(dags.values()))
    runs = {}
    for team, dag_id in dags.items():
        cluster.unpause(dag_id)
        runs[team] = cluster.trigger(dag_id)

    tables = {}
    for team, dag_id in dags.items():
        run = cluster.wait_for_run(dag_id, timeout=420)
        ingest, result = _ingest(cluster, dag_id, run["dag_run_id"])
        workers = ALPHA_WORKERS if team == ALPHA else {f"{QUEUES[team]}-worker"}
        assert result["worker"] in workers and ingest["queue"] == QUEUES[team], (result["worker"], ingest["queue"])
        assert result["rows"] == ITEMS[team]
        pool = cluster.get(f"/pools/{ingest['pool']}")
        assert pool["slots"] <= SLOTS[team]  # the team's pools add up to its workers' concurrency
        tables[team] = result["target"]

    found = cluster.read_tables(*tables.values())
    assert found["catalog"] == "RestCatalog", found["catalog"]
    for team, table in tables.items():
        assert found["tables"][table]["location"].startswith("s3://chimera-warehouse/"), found["tables"][table]["location"]
        rows = sorted(found["tables"][table]["rows"], key=lambda r: r["id"])
        assert [{"id": r["id"], "name": r["name"]} for r in rows] == [{"id": i, "name": f"{team} {i}"} for i in range(ITEMS[team])]


def test_a_backfill_of_eight_days_commits_to_one_table_at_once_over_both_workers(cluster):
    dag_id = "e2e_alpha_events_events"
    cluster.unpause(dag_id)  # a paused DAG's backfill runs wait; its own scheduled run loads today (no rows)
    response = cluster.api.post("/backfills", json={
        "dag_id": dag_id, "from_date": "2026-11-01T00:00:00Z", "to_date": f"2026-11-{DAYS:02d}T00:00:00Z",
        "max_active_runs": DAYS, "reprocess_behavior": "none", "run_backwards": False, "dag_run_conf": {},
    })
    assert response.status_code in (200, 201), response.text
    backfill = response.json()["id"]

    def finished():
        runs = cluster.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]
        mine = [r for r in runs if r["run_type"] == "backfill"]
        return len(mine) == DAYS and all(r["state"] in ("success", "failed") for r in mine) and mine
    runs = cluster.wait(finished, 600, f"the {DAYS} runs of backfill {backfill}", every=3)
    assert sorted(r["state"] for r in runs) == ["success"] * DAYS, (runs, cluster.logs())

    results, intervals, conflicts = {}, [], 0
    for run in runs:
        ingest, result = _ingest(cluster, dag_id, run["dag_run_id"])
        log = cluster.api.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/ingest/logs/1", params={"full_content": True})
        # A lost race is retried inside the task, not by Airflow: a second try says why the first ended.
        assert ingest["try_number"] == 1, (ingest, log.text[-4000:], _mentions(cluster, ingest["id"], "heartbeat"))
        conflicts += log.text.count("conflicted with a concurrent commit")
        results[run["logical_date"][:10]] = (result["rows"], result["worker"])
        table = result["target"]
        intervals.append((dt.datetime.fromisoformat(ingest["start_date"]), dt.datetime.fromisoformat(ingest["end_date"])))
    assert sorted(results) == [f"2026-11-{d:02d}" for d in range(1, DAYS + 1)]
    assert {rows for rows, _ in results.values()} == {ROWS_PER_DAY}
    assert {worker for _, worker in results.values()} == ALPHA_WORKERS  # split over both workers
    print(f"\n{DAYS} backfill runs at once: {conflicts} commits lost a race and were retried")
    assert conflicts > 0, "eight runs at once: some commits must have lost a race and been retried"
    # At once: the most ingests running at one instant (eight slots: two workers of four). The
    # scheduler and the workers start eight tasks over a few seconds, so the first may finish just
    # before the last starts: six at once is the floor asserted, the number is printed.
    at_once = max(sum(start <= instant < end for start, end in intervals) for instant, _ in intervals)
    print(f"{at_once} of {DAYS} ingests ran at one instant")
    assert at_once >= DAYS - 2, intervals

    found = cluster.read_tables(table)["tables"][table]
    assert sorted(r["id"] for r in found["rows"]) == list(range(DAYS * ROWS_PER_DAY))
    # main holds one published snapshot per run, each with its run's rows.
    published = {s["chimera.run-id"]: int(s["chimera.rows"]) for s in found["main"] if s.get("chimera.run-id")}
    backfilled = {run_id: rows for run_id, rows in published.items() if run_id.startswith("backfill__")}
    assert sorted(backfilled) == sorted(r["dag_run_id"] for r in runs) and set(backfilled.values()) == {ROWS_PER_DAY}, published
    assert found["refs"] == ["main"]  # every run's audit branch is gone
    stored = {path for path in cluster.stored_files(found["location"] + "/data/") if path.endswith(".parquet")}
    assert stored and stored <= set(found["referenced"]), sorted(stored - set(found["referenced"]))  # no orphan files
    assert stored == set(found["current"])


def _mentions(cluster: Cluster, *words: str) -> str:
    """The lines of the cluster's logs that name any of ``words`` (a task instance's id, ...)."""
    return "\n".join(f"{p.name}: {line}" for p in sorted(cluster.home.glob("*.log"))
                     for line in p.read_text(errors="replace").splitlines() if any(w in line for w in words))[-6000:]


def _task_process_group(cluster: Cluster, ti_id: str) -> tuple[str, int] | None:
    """The worker (name, process group) whose process runs task instance ``ti_id`` (Airflow titles
    a task's process ``airflow worker -- <ti id>``), or ``None`` while none does."""
    groups = {pgid: name for name, pgid in cluster.groups().items()}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if ti_id.encode() not in cmdline.read_bytes():
                continue
            pgid = os.getpgid(int(cmdline.parent.name))
        except (OSError, ProcessLookupError):
            continue
        if pgid in groups:
            return groups[pgid], pgid
    return None


def test_a_worker_killed_mid_run_is_retried_on_the_surviving_worker_exactly_once(cluster):
    dag_id = "e2e_alpha_landing_orders"
    cluster.unpause(dag_id)
    run_id = cluster.trigger(dag_id)
    path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/ingest"

    ti = cluster.wait(lambda: (t := cluster._get(path)) and t["state"] == "running" and t, 300, "ingest to run", every=0.3)
    killed, pgid = cluster.wait(lambda: _task_process_group(cluster, ti["id"]), 60, f"the process of task {ti['id']}", every=0.2)
    # Killed at once: the task is starting, or reading the landing files (a run from a preloaded
    # process loads them in about a second; decision 0069).
    assert cluster.get(path)["state"] == "running"
    os.killpg(pgid, signal.SIGKILL)  # the worker's host is gone: worker, its pool, the task
    killed_at = time.monotonic()

    run = cluster.wait(lambda: (r := cluster._get(f"/dags/{dag_id}/dagRuns/{run_id}")) and r["state"] in ("success", "failed") and r,
                       HEARTBEAT_TIMEOUT + 300, f"{dag_id} {run_id} to finish after its worker was killed", every=2)
    print(f"\nkilled {killed}; the run finished {time.monotonic() - killed_at:.0f} s later ({HEARTBEAT_TIMEOUT} s heartbeat timeout)")
    ingest, result = _ingest(cluster, dag_id, run_id)
    assert run["state"] == "success", (run, ingest, cluster.logs())
    assert ingest["try_number"] == 2, ingest  # the killed try failed; the second one succeeded
    assert result["worker"] in ALPHA_WORKERS - {killed}, (result["worker"], killed)
    found = cluster.read_tables(result["target"])["tables"][result["target"]]
    ids = sorted(r["id"] for r in found["rows"])
    assert ids == list(range(FILES * ROWS_PER_FILE))  # every row, none twice
    # One published snapshot for the run, whichever try made it: a kill that lands after try 1's
    # commit (a fast host) leaves try 2 nothing new to load, and that is exactly-once too.
    published = [int(s["chimera.rows"]) for s in found["main"] if s.get("chimera.run-id") == run_id]
    assert published == [FILES * ROWS_PER_FILE], found["main"]
    assert result["rows"] in (0, FILES * ROWS_PER_FILE), result
    print("try 2 loaded every file" if result["rows"] else "try 1 had committed before it was killed; try 2 found nothing new")
    cluster.script("start")  # the worker back, as a restarted host's (idempotent: the rest is left running)
    assert killed in cluster.script("status") and "DOWN" not in cluster.script("status")
