"""``make bench-run-cost``: what one pipeline run costs inside a real Airflow task, over a task that does nothing.

A platform with thousands of small pipelines pays a run's fixed cost on every run, so it is
measured where it is paid: a real Airflow 3 (LocalExecutor, PostgreSQL metadata DB, the four
processes; ``tests/e2e/airflow_stack.py``) runs, one after the other, ``--runs`` runs each of

* ``bench_noop``: one ``@task def noop(): pass`` with the same pool, priority and retries as a
  Chimera pipeline (the floor: a task process, the Task SDK, the api-server round trips);
* ``<intent>_db_public_runcost_events``: an ``incremental`` PostgreSQL pipeline whose source has no
  new rows after its first run (the run that finds nothing new);
* ``<intent>_db_public_runcost_orders``: a ``full`` PostgreSQL pipeline of ``--rows`` rows (10,000).

and reports each DAG's median task duration (Airflow's own ``start_date`` → ``end_date``) and
queued-to-success run latency, and Chimera's extra cost per run over the no-op task. The issue's
targets: at most 0.25 s extra for the run that finds nothing, 0.5 s for the 10k-row run. Results
in ``.bench/results/runcost.json`` (copied to ``bench/results/runcost.json``). Needs the local
services (``make services``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import SERVICES  # noqa: E402  (the services' addresses, as the tests use them)
from tests.e2e.airflow_stack import AirflowStack  # noqa: E402

INTENT = "runcost"
NOOP_DAG = "bench_noop"
INC_DAG, FULL_DAG = f"{INTENT}_db_public_runcost_events", f"{INTENT}_db_public_runcost_orders"
TARGETS = {INC_DAG: 0.25, FULL_DAG: 0.5}
NOOP_FILE = f'''
"""The floor of the run-cost benchmark: one task that does nothing, with a pipeline's task settings."""
from datetime import datetime

from airflow.sdk import DAG, task

with DAG("{NOOP_DAG}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1,
         default_args={{"owner": "bench", "retries": 2, "pool": "default_pool", "priority_weight": 1}}):
    @task
    def noop():
        pass

    noop()
'''


def _pg():
    import psycopg

    s = SERVICES
    return psycopg.connect(host=s["CHIMERA_PG_HOST"], port=s["CHIMERA_PG_PORT"], user=s["CHIMERA_PG_USER"],
                           password=s["CHIMERA_PG_PASSWORD"], dbname=s["CHIMERA_PG_DB"], autocommit=True)


def _source_tables(rows: int) -> None:
    with _pg() as conn:
        for table in ("runcost_events", "runcost_orders"):
            conn.execute(f"DROP TABLE IF EXISTS public.{table}")
            conn.execute(f"CREATE TABLE public.{table} (id bigint primary key, name text, amount double precision, updated_at timestamptz)")
            conn.execute(f"INSERT INTO public.{table} SELECT g, 'row ' || g, g * 0.5, now() FROM generate_series(1, {rows}) g")


def _intent() -> dict:
    def obj(name: str, mode: dict) -> dict:
        return {"name": f"public.{name}",
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"table": name}}}
    return {
        "version": 1, "name": INTENT, "team": {"name": "bench", "support_email": "bench@example.com"}, "project": "bench",
        "declaration": {"declared_by": "bench", "statement": "generated benchmark data", "declared_at": "2026-12-07"},
        "sources": [{"name": "db", "type": "postgres", "connection": {"conn_id": "runcost_postgres"},
                     "objects": [obj("runcost_events", {"type": "incremental", "cursor": "updated_at"}),
                                 obj("runcost_orders", {"type": "full"})]}],
    }


def _runs(stack: AirflowStack, dag_id: str, n: int) -> list[dict]:
    """``n`` runs of ``dag_id`` one after the other: task duration and queued-to-success latency each."""
    out = []
    for _ in range(n):
        run_id = stack.trigger(dag_id)
        path = f"/dags/{dag_id}/dagRuns/{run_id}"
        run = stack.wait(lambda: (r := stack.get(path))["state"] in ("success", "failed") and r, 300, f"{dag_id} {run_id}", every=0.1)
        if run["state"] != "success":
            raise SystemExit(f"{dag_id} run {run_id} {run['state']}\n{stack.logs()}")
        (ti,) = stack.get(f"{path}/taskInstances")["task_instances"]
        if ti["state"] != "success":
            raise SystemExit(f"{dag_id} run {run_id}: task {ti['task_id']} {ti['state']} (not onboarded?)\n{stack.logs()}")
        from datetime import datetime

        latency = (datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["queued_at"])).total_seconds()
        out.append({"task_s": ti["duration"], "latency_s": latency})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 12)), help="runs per DAG (12)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the full pipeline's table (10,000)")
    parser.add_argument("--no-preload", dest="preload", action="store_false",
                        help="without airflow_provider_chimera.preload in the LocalExecutor's forkserver (what each run cost before)")
    parser.add_argument("--keep", action="store_true", help="keep the Airflow home (its task logs say where a run's time goes)")
    args = parser.parse_args()

    _source_tables(args.rows)
    home = Path(tempfile.mkdtemp(prefix="chimera-runcost-"))
    intents, dags = home / "intents", home / "dags"
    intents.mkdir()
    dags.mkdir()
    for f in (REPO / "dags").glob("*.py"):
        (dags / f.name).symlink_to(f)
    (dags / "bench_noop.py").write_text(NOOP_FILE)
    intent_file = intents / f"{INTENT}.json"
    intent_file.write_text(json.dumps(_intent()))
    s = SERVICES
    env = {
        "AIRFLOW_CONN_RUNCOST_POSTGRES": f"postgresql://{s['CHIMERA_PG_USER']}:{s['CHIMERA_PG_PASSWORD']}@{s['CHIMERA_PG_HOST']}:{s['CHIMERA_PG_PORT']}/{s['CHIMERA_PG_DB']}",
        "AIRFLOW__CHIMERA__TASK_RETRIES": "2",
    }
    stack = AirflowStack(home, intents, env)
    stack.env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)  # the repo's DAG files and the no-op one
    for option in ("MP_START_METHOD", "MP_FORKSERVER_PRELOAD"):
        stack.env.pop(f"AIRFLOW__SCHEDULER__{option}", None)
    if args.preload:  # README "Running on a cluster", decision 0069
        stack.env.update(AIRFLOW__SCHEDULER__MP_START_METHOD="forkserver", AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD="airflow_provider_chimera.preload")
    results: dict[str, list[dict]] = {}
    try:
        stack.start()
        stack.run("chimera", "onboard", str(intent_file), timeout=600)
        stack.wait(lambda: {NOOP_DAG, INC_DAG, FULL_DAG} <= stack.dag_ids(), 300, "the benchmark's DAGs", every=2)
        for dag_id in (NOOP_DAG, INC_DAG, FULL_DAG):
            stack.unpause(dag_id)
            _runs(stack, dag_id, 2)  # warm-up: the first run of a DAG loads it; the incremental one loads its rows
        for _ in range(args.runs):  # interleaved, so a slow minute of the machine hits every side alike
            for dag_id in (NOOP_DAG, INC_DAG, FULL_DAG):
                results.setdefault(dag_id, []).extend(_runs(stack, dag_id, 1))
    finally:
        stack.stop()
        if args.keep:
            print(f"Airflow home kept: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)

    med = {d: {k: statistics.median(r[k] for r in runs) for k in ("task_s", "latency_s")} for d, runs in results.items()}
    floor = med[NOOP_DAG]
    report = {"runs": args.runs, "rows": args.rows, "preload": args.preload, "median": med, "extra_over_noop_s": {}, "targets_s": TARGETS}
    print(f"\nmedian of {args.runs} runs each (LocalExecutor, PostgreSQL metadata DB; "
          f"{'with' if args.preload else 'without'} airflow_provider_chimera.preload)\n")
    print("| DAG | task duration | queued → success | extra task time over no-op | target |")
    print("| --- | --- | --- | --- | --- |")
    for dag_id in (NOOP_DAG, INC_DAG, FULL_DAG):
        extra = med[dag_id]["task_s"] - floor["task_s"]
        if dag_id != NOOP_DAG:
            report["extra_over_noop_s"][dag_id] = round(extra, 3)
        target = f"≤ {TARGETS[dag_id]} s" if dag_id in TARGETS else "the floor"
        print(f"| {dag_id} | {med[dag_id]['task_s']:.2f} s | {med[dag_id]['latency_s']:.2f} s | "
              f"{'' if dag_id == NOOP_DAG else f'{extra:+.2f} s'} | {target} |")
    out = REPO / ".bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "runcost.json" if args.preload else "runcost-no-preload.json"
    (out / name).write_text(json.dumps(report, indent=2))
    (REPO / "bench" / "results").mkdir(exist_ok=True)  # its JSON files are not in git: absent in a fresh checkout
    shutil.copy(out / name, REPO / "bench" / "results" / name)


if __name__ == "__main__":
    main()
