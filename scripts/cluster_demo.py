"""`make cluster-demo`: the demo's intent on the running cluster (`make cluster`, scripts/cluster.sh).

Run by ``scripts/cluster.sh demo``, in the cluster's environment. As a team would: the intent file
is dropped into the cluster's intents folder (the git-synced folder); the registry sync picks it up
and its onboarding DAG runs on the team's worker; then each of its pipelines is triggered through
Airflow's REST API v2. Printed per pipeline: the rows written, the worker that ran it (from the
run's XCom, recorded inside the task), the table's location and its current snapshot id (from the
catalog). Exits 1 when a run fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
INTENT = REPO / "intents" / "retail_shop.json"


def wait(condition, timeout: float, what: str, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} (logs: {os.environ['AIRFLOW_HOME']}/../logs)")


class Cluster:
    """The cluster's REST API v2 (the simple auth manager's all-admins mode: a token for anyone)."""

    def __init__(self, base_url: str):
        from airflow_provider_chimera.airflow_api import AirflowApi

        self.api = AirflowApi(base_url)

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.api.get("/dags", limit=1000)["dags"]}

    def finished_run(self, dag_id: str, run_id: str | None = None) -> dict[str, Any] | None:
        runs = self.api.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="-start_date")["dag_runs"]
        for run in runs:
            if (run_id is None or run["dag_run_id"] == run_id) and run["state"] in ("success", "failed"):
                return run
        return None

    def trigger(self, dag_id: str) -> str:
        self.api.patch(f"/dags/{dag_id}", {"is_paused": False})
        return self.api.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": {}})["dag_run_id"]

    def xcom(self, dag_id: str, run_id: str, task_id: str = "ingest") -> dict[str, Any]:
        value = self.api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")["value"]
        return json.loads(value) if isinstance(value, str) else value


def main() -> int:
    from airflow_provider_chimera.onboarding.workflow import onboarding_dag_id
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.writer.catalog import chimera_catalog

    settings = load_settings()
    cluster = Cluster(os.environ["AIRFLOW__API__BASE_URL"])
    subprocess.run([sys.executable, str(REPO / "scripts" / "seed_demo.py")], check=True)
    dropped = settings.intents_dir / INTENT.name
    shutil.copy(INTENT, dropped)
    print(f"intent {INTENT.relative_to(REPO)} dropped into {dropped}")
    intent = json.loads(INTENT.read_text())["name"]
    onboarding = onboarding_dag_id(intent)
    run = wait(lambda: cluster.finished_run(onboarding) if onboarding in cluster.dag_ids() else None, 600,
               f"{onboarding} (the registry sync starts it within a minute)")
    if run["state"] != "success":
        print(f"onboarding of {intent}: {run['state']} (run {run['dag_run_id']})")
        return 1
    print(f"intent {intent}: onboarded (run {run['dag_run_id']})")

    mine = [p for p in discover(settings.intents_dir).pipelines if p.intent == intent]
    wait(lambda: {p.id for p in mine} <= cluster.dag_ids(), 300, "the pipelines' DAGs")
    started = {p.id: cluster.trigger(p.id) for p in mine}
    catalog, status = chimera_catalog(settings), 0
    # `rows`: written by this run (a timed pipeline's scheduled run may have run first, once unpaused);
    # `table rows`: the table's rows at its current snapshot.
    print(f"{'pipeline':36} {'rows':>5} {'table rows':>10}  {'worker':32} {'snapshot id':>20}  location")
    for pipeline in mine:
        run = wait(lambda: cluster.finished_run(pipeline.id, started[pipeline.id]), 600, f"{pipeline.id}'s run")
        if run["state"] != "success":
            print(f"{pipeline.id:36} FAILED (run {run['dag_run_id']})")
            status = 1
            continue
        result = cluster.xcom(pipeline.id, run["dag_run_id"])
        table = catalog.load_table(result["target"])
        snapshot = table.current_snapshot()
        total = snapshot.summary["total-records"] if snapshot and snapshot.summary else "-"
        print(f"{pipeline.id:36} {result['rows']:>5} {total:>10}  {result['worker']:32} {snapshot.snapshot_id if snapshot else '-':>20}  {table.location()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
