"""``make bench-fleet``: a fleet of pipelines through the whole stack, against bare Airflow tasks doing the least.

A platform runs hundreds of small pipelines at once; what it pays is the fleet's throughput, not
one run's speed. On a real Airflow 3 (``tests/e2e/airflow_stack.py``: LocalExecutor, PostgreSQL
metadata DB, the four processes, tasks forked from ``airflow_provider_chimera.preload``):

* **Chimera**: ``--pipelines`` ``full`` PostgreSQL pipelines (500) of ``--teams`` teams (10), one
  intent per team, each team its own pool as Chimera gives it (``chimera pools sync``: one pool
  per team and source system), onboarded with ``chimera onboard``, into Iceberg;
* **the limit**: as many bare DAGs of one ``@task`` each that reads the same table to one
  Parquet file (ADBC binary COPY → ``pyarrow.parquet``, as ``make bench-ingest``'s raw limit:
  ``bench/fleet/limit_dags.py``), in pools of the same sizes, same executor, parallelism and
  preload process. Like Chimera's, its DAG file builds only the DAG a task runs (Airflow's
  parsing context).

Each source table has between ``--min-rows`` and ``--max-rows`` rows (10k–100k, seeded uniform),
the ten columns of ``make bench-ingest`` (``bench/ingest/generate.py``), generated server-side in
``chimera_fleet``. Each side is triggered all at once (REST API v2, ``--trigger-threads`` at a
time) and waited for until every run succeeded; the sides run one after the other on the same
stack, the limit first. Reported per side: wall time from the first run queued to the last run
finished, pipelines per minute, rows per second, task duration p50/p95 (Airflow's own); and the
ratio of Chimera's pipelines per minute to the limit's (target ≥ 0.8). Every row is checked:
Iceberg snapshots' record counts and Parquet footers against the source sizes.

Output: a markdown table, printed and written to ``.bench/results/fleet.md``, and
``.bench/results/fleet.json`` (copied to ``bench/results/fleet.json``). The stack, its folder
and the source tables are removed at the end (``--keep`` keeps the tables for the next run).
``--sides limit`` (or ``chimera``) runs one side alone, without the ratio. Needs the local
services (``make services``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from bench.ingest.generate import COLUMNS, EPOCH_2020, PG_SELECT, postgres_uri  # noqa: E402
from tests.conftest import SERVICES  # noqa: E402  (the services' addresses, as the tests use them)
from tests.e2e.airflow_stack import AirflowStack  # noqa: E402

SCHEMA = "chimera_fleet"
SEED_TABLE = "fleet_seed"
CONN_ID = "fleet_postgres"
CATALOG = "fleet"
LIMIT_POOL = "bench_fleet_limit__{team}"
TARGET_RATIO = 0.8


# --- the fleet ---------------------------------------------------------------------------------


def fleet(pipelines: int, teams: int, min_rows: int, max_rows: int, seed: int) -> list[dict]:
    """One entry per pipeline: its team (0-based), table and rows; teams as even as the count allows."""
    rng = random.Random(seed)
    out = []
    for i in range(pipelines):
        team = i * teams // pipelines
        number = sum(1 for p in out if p["team"] == team) + 1
        out.append({"team": team, "table": f"t{team + 1:02d}_{number:03d}", "rows": rng.randint(min_rows, max_rows)})
    return out


def intent_name(team: int) -> str:
    return f"fleet{team + 1:02d}"


def chimera_dag_id(entry: dict) -> str:
    return f"{intent_name(entry['team'])}_db_{SCHEMA}_{entry['table']}"


def limit_dag_id(entry: dict) -> str:
    return f"limit_{SCHEMA}_{entry['table']}"


# --- the source tables -------------------------------------------------------------------------


def _pg():
    import psycopg

    return psycopg.connect(postgres_uri(SERVICES), autocommit=True)


def source_tables(entries: list[dict]) -> float:
    """Create the tables (reusing those of the right size); seconds taken. One seed table of the
    largest size is generated with ``make bench-ingest``'s query; each table is its first rows."""
    started = time.perf_counter()
    largest = max(e["rows"] for e in entries)
    with _pg() as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        sizes = dict(conn.execute(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'", (SCHEMA,)).fetchall())
        missing = [e for e in entries if sizes.get(e["table"]) != f"rows={e['rows']}"]
        if not missing:
            return 0.0
        if sizes.get(SEED_TABLE) is None or int(sizes[SEED_TABLE].split("=")[1]) < largest:
            conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{SEED_TABLE}")
            columns = ", ".join(f"{name} {pg_type}" for name, _, pg_type, _ in COLUMNS)
            conn.execute(f"CREATE TABLE {SCHEMA}.{SEED_TABLE} ({columns})")
            conn.execute(f"INSERT INTO {SCHEMA}.{SEED_TABLE} " + PG_SELECT.format(epoch=EPOCH_2020, rows=largest))
            conn.execute(f"COMMENT ON TABLE {SCHEMA}.{SEED_TABLE} IS 'rows={largest}'")
        for e in missing:
            table = f"{SCHEMA}.{e['table']}"
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} AS SELECT * FROM {SCHEMA}.{SEED_TABLE} WHERE id <= {e['rows']}")
            # The size in the table's comment: a later run (--keep) reuses it without counting.
            conn.execute(f"COMMENT ON TABLE {table} IS 'rows={e['rows']}'")
        # No reader pays for setting hint bits.
        conn.execute("VACUUM (FREEZE, ANALYZE) " + ", ".join(f"{SCHEMA}.{e['table']}" for e in missing))
    return time.perf_counter() - started


def drop_source_tables() -> None:
    with _pg() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


# --- the deployment ----------------------------------------------------------------------------


def intent(team: int, entries: list[dict]) -> dict:
    def obj(entry: dict) -> dict:
        return {"name": f"{SCHEMA}.{entry['table']}",
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": entry["table"]}}}

    name = intent_name(team)
    return {
        "version": 1, "name": name, "team": {"name": f"team_{team + 1:02d}", "support_email": f"{name}@example.com"},
        "project": "fleet",
        "declaration": {"declared_by": "bench", "statement": "generated benchmark data", "declared_at": "2026-12-07"},
        "sources": [{"name": "db", "type": "postgres", "connection": {"conn_id": CONN_ID},
                     "objects": [obj(e) for e in entries if e["team"] == team]}],
    }


def deployment(home: Path, entries: list[dict], teams: int, team_slots: int) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The intents, the DAGs folder (the repo's DAG files and the limit's) and the pools file
    under ``home``; the stack's extra environment and what it overrides of the stack's own."""
    intents, dags, out = home / "intents", home / "dags", home / "limit-out"
    for folder in (intents, dags, out):
        folder.mkdir()
    for team in range(teams):
        (intents / f"{intent_name(team)}.json").write_text(json.dumps(intent(team, entries)))
    for f in (REPO / "dags").glob("*.py"):
        (dags / f.name).symlink_to(f)
    shutil.copy(HERE / "limit_dags.py", dags / "bench_fleet_limit.py")
    (dags / "fleet_limit.json").write_text(json.dumps({"dags": [
        {"dag_id": limit_dag_id(e), "table": f"{SCHEMA}.{e['table']}", "pool": LIMIT_POOL.format(team=e["team"] + 1),
         "out": str(out / f"{e['table']}.parquet")} for e in entries]}))
    # Each team's share is its pool's slots; the source's limit lets every team have its share.
    pools = home / "pools.json"
    pools.write_text(json.dumps({"default_team_slots": team_slots, "sources": {CONN_ID: team_slots * teams}}))
    uri = postgres_uri(SERVICES)
    env = {
        f"AIRFLOW_CONN_{CONN_ID.upper()}": uri,
        "FLEET_LIMIT_URI": uri,
        "AIRFLOW__CHIMERA__CATALOG_NAME": CATALOG,
        "AIRFLOW__CHIMERA__POOLS_CONFIG": str(pools),
        "AIRFLOW__CHIMERA__TASK_RETRIES": "2",
        "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "5000",
        # The worktree's package and bench.ingest.worker (the limit's Parquet sink) in every process.
        "PYTHONPATH": str(REPO),
    }
    overrides = {"AIRFLOW__CORE__PARALLELISM": str(team_slots * teams), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    return intents, env, overrides


def all_dag_ids(stack: AirflowStack) -> set[str]:
    return {d["dag_id"] for d in stack.get("/dags", limit=5000)["dags"]}


def quiet(stack: AirflowStack, fleet_ids: set[str]) -> None:
    """Pause every DAG outside the fleet (Chimera's own DAGs start unpaused: ``chimera_maintenance``
    would otherwise run its daily task per table during the measurement) and wait for their tasks."""
    others = sorted(all_dag_ids(stack) - fleet_ids)
    for dag_id in others:
        stack.pause(dag_id)
    busy = {"dag_ids": others, "state": ["running", "queued"], "page_limit": 1}  # a paused DAG's scheduled tasks wait
    stack.wait(lambda: stack.api.post("/dags/~/dagRuns/~/taskInstances/list", json=busy).raise_for_status().json()["total_entries"] == 0,
               1800, "the tasks of the DAGs outside the fleet to finish", every=2)


# --- one side ----------------------------------------------------------------------------------


def run_side(stack: AirflowStack, dag_ids: list[str], threads: int, timeout: float) -> dict:
    """Trigger every DAG at once, wait until every run finished; the runs and their task instances."""
    with ThreadPoolExecutor(threads) as pool:
        run_ids = dict(zip(dag_ids, pool.map(stack.trigger, dag_ids)))
    body = {"dag_ids": dag_ids, "page_limit": len(dag_ids) + 1}

    def finished():
        runs = stack.api.post("/dags/~/dagRuns/list", json=body).raise_for_status().json()["dag_runs"]
        mine = [r for r in runs if run_ids.get(r["dag_id"]) == r["dag_run_id"]]
        return mine if len(mine) == len(dag_ids) and all(r["state"] in ("success", "failed") for r in mine) else None

    runs = stack.wait(finished, timeout, f"{len(dag_ids)} runs to finish", every=2)
    tis = stack.api.post("/dags/~/dagRuns/~/taskInstances/list", json={**body, "dag_run_ids": list(run_ids.values())})
    tis = [t for t in tis.raise_for_status().json()["task_instances"] if run_ids.get(t["dag_id"]) == t["dag_run_id"]]
    failed = [r["dag_id"] for r in runs if r["state"] != "success"] + [t["dag_id"] for t in tis if t["state"] != "success"]
    if failed:
        raise SystemExit(f"{len(set(failed))} runs did not succeed, e.g. {sorted(set(failed))[:5]}\n{stack.logs()}")
    return {"runs": runs, "task_instances": tis}


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def summary(side: dict, rows: int) -> dict:
    runs, tis = side["runs"], side["task_instances"]
    first = min(_when(r["queued_at"]) for r in runs)
    last = max(_when(r["end_date"]) for r in runs)
    wall = (last - first).total_seconds()
    durations = sorted(t["duration"] for t in tis)
    quantiles = statistics.quantiles(durations, n=100, method="inclusive") if len(durations) > 1 else durations * 99
    return {
        "pipelines": len(runs), "task_instances": len(tis), "rows": rows, "wall_s": round(wall, 2),
        "pipelines_per_min": round(len(runs) / wall * 60, 2), "rows_per_s": round(rows / wall),
        "task_p50_s": round(quantiles[49], 3), "task_p95_s": round(quantiles[94], 3),
        "task_sum_s": round(sum(durations), 1),
    }


# --- checks: every row arrived ------------------------------------------------------------------


def iceberg_rows(home: Path) -> dict[str, int]:
    """Each Iceberg table's rows (its current snapshot's ``total-records``), by table name."""
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(CATALOG, uri=f"sqlite:///{home / 'warehouse' / 'catalog.db'}", warehouse=(home / "warehouse").as_uri())
    out = {}
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            snapshot = catalog.load_table(identifier).current_snapshot()
            out[identifier[-1]] = int(snapshot.summary["total-records"]) if snapshot else 0
    return out


def parquet_rows(folder: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {p.stem: pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet")}


def check_rows(side: str, got: dict[str, int], entries: list[dict]) -> None:
    wrong = [(e["table"], e["rows"], got.get(e["table"])) for e in entries if got.get(e["table"]) != e["rows"]]
    if wrong:
        raise SystemExit(f"{side}: {len(wrong)} tables without every row (table, expected, written), e.g. {wrong[:5]}")


# --- report ------------------------------------------------------------------------------------


def report(args, entries: list[dict], sides: dict[str, dict], generated_s: float) -> str:
    rows = sum(e["rows"] for e in entries)
    lines = [
        f"{len(entries)} pipelines of {args.teams} teams, {rows:,} rows ({args.min_rows:,}–{args.max_rows:,} per table, seed {args.seed}); "
        f"LocalExecutor, parallelism {args.team_slots * args.teams}, {args.teams} pools of {args.team_slots} slot(s) per side, "
        f"tasks forked from airflow_provider_chimera.preload on both sides; {os.cpu_count()} CPUs shared with whatever else ran",
        "",
        "| side | pipelines | wall (first queued → last finished) | pipelines/min | rows/s | task p50 | task p95 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in (("chimera", "Chimera (PostgreSQL → Iceberg, full)"), ("limit", "limit (@task: ADBC COPY → Parquet)")):
        if name not in sides:
            continue
        s = sides[name]
        lines.append(f"| {label} | {s['pipelines']} | {s['wall_s']:.1f} s | {s['pipelines_per_min']:.1f} | {s['rows_per_s']:,} | "
                     f"{s['task_p50_s']:.2f} s | {s['task_p95_s']:.2f} s |")
    if len(sides) == 2:
        ratio = sides["chimera"]["pipelines_per_min"] / sides["limit"]["pipelines_per_min"]
        lines += ["", f"Chimera / limit (pipelines per minute): **{ratio:.2f}** (target ≥ {TARGET_RATIO})"]
    return "\n".join(lines)


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, default=int(env("BENCH_PIPELINES") or 500))
    parser.add_argument("--teams", type=int, default=int(env("BENCH_TEAMS") or 10))
    parser.add_argument("--min-rows", type=int, default=int(env("BENCH_MIN_ROWS") or 10_000))
    parser.add_argument("--max-rows", type=int, default=int(env("BENCH_MAX_ROWS") or 100_000))
    parser.add_argument("--team-slots", type=int, default=int(env("BENCH_TEAM_SLOTS") or 1),
                        help="each team's pool slots, on both sides; [core] parallelism is teams × this (1)")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--trigger-threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds each side may take")
    parser.add_argument("--keep", action="store_true", help="keep the source tables for the next run")
    parser.add_argument("--sides", default="limit,chimera",
                        help="the sides to run, in this order (limit,chimera); one side alone reports no ratio")
    args = parser.parse_args()
    args.sides = [side.strip() for side in args.sides.split(",") if side.strip()]
    if not args.sides or set(args.sides) - {"limit", "chimera"}:
        parser.error("--sides names limit, chimera or both")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stack and drop the tables on `kill` too
    if args.pipelines < args.teams:
        parser.error("--pipelines must be at least --teams")

    entries = fleet(args.pipelines, args.teams, args.min_rows, args.max_rows, args.seed)
    print(f"source tables: {len(entries)} in {SCHEMA} ({sum(e['rows'] for e in entries):,} rows) ...", flush=True)
    generated_s = source_tables(entries)
    home = Path(tempfile.mkdtemp(prefix="chimera-fleet-"))
    sides: dict[str, dict] = {}
    try:
        intents, extra, overrides = deployment(home, entries, args.teams, args.team_slots)
        stack = AirflowStack(home, intents, extra)
        stack.env.update(overrides)
        stack.env.pop("AIRFLOW__CHIMERA__REGISTRY_SYNC_SCHEDULE", None)  # the default: not every minute
        try:
            stack.start()
            started = time.perf_counter()
            for team in range(args.teams if "chimera" in args.sides else 0):
                stack.run("chimera", "onboard", str(intents / f"{intent_name(team)}.json"), timeout=1800)
            stack.run("chimera", "pools", "sync")
            for team in range(args.teams):
                stack.api.post("/pools", json={"name": LIMIT_POOL.format(team=team + 1), "slots": args.team_slots}).raise_for_status()
            print(f"onboarded {args.teams} intents, pools synced: {time.perf_counter() - started:.0f} s", flush=True)
            ids = {"chimera": [chimera_dag_id(e) for e in entries], "limit": [limit_dag_id(e) for e in entries]}
            measured = [dag_id for side in args.sides for dag_id in ids[side]]
            stack.wait(lambda: set(measured) <= all_dag_ids(stack), 1800, "every DAG parsed", every=5)
            quiet(stack, set(measured))
            for dag_id in measured:
                stack.unpause(dag_id)
            rows = sum(e["rows"] for e in entries)
            for name in args.sides:
                print(f"{name}: triggering {len(ids[name])} runs ...", flush=True)
                sides[name] = summary(run_side(stack, ids[name], args.trigger_threads, args.timeout), rows)
                print(f"{name}: {sides[name]}", flush=True)
            if "limit" in sides:
                check_rows("limit", parquet_rows(home / "limit-out"), entries)
            if "chimera" in sides:
                check_rows("chimera", iceberg_rows(home), entries)
        finally:
            stack.stop()
    finally:
        shutil.rmtree(home, ignore_errors=True)
        if not args.keep:
            drop_source_tables()

    table = report(args, entries, sides, generated_s)
    print("\n" + table)
    out = REPO / ".bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fleet.md").write_text(table + "\n")
    result = {
        "pipelines": args.pipelines, "teams": args.teams, "min_rows": args.min_rows, "max_rows": args.max_rows, "seed": args.seed,
        "rows": sum(e["rows"] for e in entries), "parallelism": args.team_slots * args.teams, "team_slots": args.team_slots,
        "executor": "LocalExecutor", "preload": "airflow_provider_chimera.preload (both sides)", "cpus": os.cpu_count(),
        "source_generation_s": round(generated_s, 1), "sides": sides,
        "ratio_pipelines_per_min": (round(sides["chimera"]["pipelines_per_min"] / sides["limit"]["pipelines_per_min"], 3)
                                    if len(sides) == 2 else None),
        "target_ratio": TARGET_RATIO,
    }
    (out / "fleet.json").write_text(json.dumps(result, indent=2))
    (REPO / "bench" / "results").mkdir(exist_ok=True)
    shutil.copy(out / "fleet.json", REPO / "bench" / "results" / "fleet.json")


if __name__ == "__main__":
    main()
