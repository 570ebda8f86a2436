"""Chimera on `make cluster` (scripts/cluster.sh): the CeleryExecutor with one worker per team queue.

The module starts the cluster script with two teams, in a folder and databases of its own and on
free ports (a cluster a user runs is left alone), and stops it at the end: no process of it may
outlive the stop (the script's process groups are checked). Two teams' intents are dropped into its intents folder and nothing else is done
until the pipelines are onboarded; then each pipeline is triggered through the REST API and must
run on its own team's worker (the ``worker`` its task recorded from inside, as CHIMERA_WORKER names
each worker: the workers share this host's name), on its team's queue, in a pool of its worker's
concurrency; each table then lies on the S3-compatible store behind the REST catalog and, read
there with pyiceberg alone, holds exactly its source's rows.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import REPO, SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack, _free_port, _group_alive
from tests.helpers import DECLARATION

TEAMS = {"e2e-alpha": 30, "e2e-bravo": 20}  # team -> its source's rows
CONCURRENCY = 2  # each team worker's
FIELDS = [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}]


class Cluster(AirflowStack):
    """AirflowStack's REST helpers on the cluster's api-server; the processes are scripts/cluster.sh's."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.home = folder / "logs"  # logs(): the tails of the cluster's logs
        self.intents = folder / "intents"
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{env['CLUSTER_API_PORT']}/api/v2", timeout=30)

    def script(self, *argv: str, timeout: float = 600) -> str:
        done = subprocess.run(["bash", str(REPO / "scripts" / "cluster.sh"), *argv], env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode:
            raise AssertionError(f"cluster.sh {' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}\n{self.logs()}")
        return done.stdout

    def groups(self) -> set[int]:
        """The process groups the script started (run/<name>.pgid: the group's id, its leader's start time)."""
        return {int(p.read_text().split()[0]) for p in (self.folder / "run").glob("*.pgid")}


def _intent(team: str) -> dict:
    name = team.replace("-", "_")
    return {
        "version": 1,
        "name": name,
        "team": {"name": team, "support_email": f"{team}@example.com"},
        "project": "cluster",
        "declaration": DECLARATION,
        "sources": [{
            "name": "drop",
            "type": "file",
            "connection": {"uri": "file://${env:CHIMERA_E2E_DATA}/" + name},
            "objects": [{
                "name": "items",
                "path": "items.csv",
                "format": "csv",
                "schema": {"fields": FIELDS},
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": f"{name}_items"}},
            }],
        }],
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    folder = tmp_path_factory.mktemp("cluster")
    data = folder / "data"
    for team, rows in TEAMS.items():
        (data / team.replace("-", "_")).mkdir(parents=True)
        (data / team.replace("-", "_") / "items.csv").write_text("id,name\n" + "".join(f"{i},{team} {i}\n" for i in range(rows)))
    name = f"chimera_cluster_e2e_{secrets.token_hex(3)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG", "CLUSTER"))}
    env.update(
        CLUSTER_DIR=str(folder), CLUSTER_NAME=name, CLUSTER_TEAMS=" ".join(TEAMS), CLUSTER_WORKER_CONCURRENCY=str(CONCURRENCY),
        CLUSTER_API_PORT=str(_free_port()), CLUSTER_REDIS_PORT=str(_free_port()), CLUSTER_LOG_PORT=str(_free_port()),
        CHIMERA_E2E_DATA=str(data),
    )
    cluster = Cluster(folder, env)
    try:
        cluster.script("start")
        cluster.wait(lambda: "chimera_registry_sync" in cluster.dag_ids(), 300, "Chimera's own DAGs to be parsed")
        yield cluster
    finally:
        groups = cluster.groups()
        stopped = cluster.script("stop", timeout=300)
        left = sorted(g for g in groups if _group_alive(g))
        with psycopg.connect(host=SERVICES["CHIMERA_PG_HOST"], port=SERVICES["CHIMERA_PG_PORT"], user=SERVICES["CHIMERA_PG_USER"],
                             password=SERVICES["CHIMERA_PG_PASSWORD"], dbname=SERVICES["CHIMERA_PG_DB"], autocommit=True) as conn:
            for db in (f"{name}_airflow", f"{name}_registry"):
                conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        assert groups and not left, f"process groups {left} of the cluster outlived `cluster.sh stop`:\n{stopped}"


def test_two_teams_intents_run_on_their_own_teams_workers(cluster):
    status = cluster.script("status")
    queues = {team: f"chimera_{team.replace('-', '_')}" for team in TEAMS}
    for queue in [*queues.values(), "default"]:
        assert f"{queue}-worker" in status and "DOWN" not in status, status

    for team in TEAMS:  # a team's whole part: dropping its intent into the (git-synced) folder
        (cluster.intents / f"{team.replace('-', '_')}.json").write_text(json.dumps(_intent(team)))
    for team in TEAMS:
        onboarding = f"chimera_onboard__{team.replace('-', '_')}"
        cluster.wait(lambda: onboarding in cluster.dag_ids(), 300, f"{onboarding} to be parsed", every=3)
        cluster.wait_for_run(onboarding, timeout=420)
    dags = {team: f"{team.replace('-', '_')}_drop_items" for team in TEAMS}
    cluster.wait(lambda: set(dags.values()) <= cluster.dag_ids(), 300, "the pipelines' DAGs", every=3)
    runs = {}
    for team, dag_id in dags.items():
        cluster.unpause(dag_id)
        runs[team] = cluster.trigger(dag_id)

    tables = {}
    for team, dag_id in dags.items():
        run = cluster.wait_for_run(dag_id, timeout=420)
        ingest = cluster.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/ingest")
        xcom = cluster.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/ingest/xcomEntries/return_value")["value"]
        result = json.loads(xcom) if isinstance(xcom, str) else xcom
        assert (result["worker"], ingest["queue"]) == (f"{queues[team]}-worker", queues[team])
        assert result["rows"] == TEAMS[team]
        pool = cluster.get(f"/pools/{ingest['pool']}")
        assert pool["slots"] <= CONCURRENCY  # the team's pools add up to its worker's concurrency
        tables[team] = result["target"]

    # An independent read of every table through the cluster's REST catalog, with pyiceberg alone
    # (no Chimera code) and the cluster's PYICEBERG_CATALOG__CHIMERA__* environment: the tables
    # live on the S3-compatible store and hold exactly the source rows.
    read = cluster.script("run", "python", "-c", (
        "import json, sys\n"
        "from pyiceberg.catalog import load_catalog\n"
        "catalog = load_catalog('chimera')\n"
        "tables = {t: catalog.load_table(t) for t in sys.argv[1:]}\n"
        "print(json.dumps({'catalog': type(catalog).__name__, 'tables': {t: {'location': table.location(), 'rows':"
        " sorted(table.scan(selected_fields=('id', 'name')).to_arrow().to_pylist(), key=lambda r: r['id'])}"
        " for t, table in tables.items()}}))"
    ), *tables.values())
    found = json.loads(read.strip().splitlines()[-1])
    assert found["catalog"] == "RestCatalog", found["catalog"]
    for team, table in tables.items():
        assert found["tables"][table]["location"].startswith("s3://chimera-warehouse/"), found["tables"][table]["location"]
        assert found["tables"][table]["rows"] == [{"id": i, "name": f"{team} {i}"} for i in range(TEAMS[team])]
