"""`make cluster` (scripts/cluster.sh) for end-to-end tests: a cluster of the test's own.

:func:`start_cluster` starts the cluster script in a folder and PostgreSQL databases of its own and
on free ports (a cluster a user runs is left alone); :func:`stop_cluster` stops it and fails if any
process of it outlived the stop (the script's process groups are checked), then drops its
databases. :class:`Cluster` gives the REST helpers of ``AirflowStack`` on the cluster's api-server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import httpx
import psycopg

from tests.conftest import REPO, SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack, _free_port, _group_alive


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

    def groups(self) -> dict[str, int]:
        """The process groups the script started, by name (run/<name>.pgid: the group's id, its leader's start time)."""
        return {p.stem: int(p.read_text().split()[0]) for p in (self.folder / "run").glob("*.pgid")}

    def read_tables(self, *tables: str) -> dict:
        """Each table's location, rows, the snapshots of ``main`` (newest first), its refs and data files, read through the cluster's REST catalog with
        pyiceberg alone (no Chimera code) in the cluster's PYICEBERG_CATALOG__CHIMERA__* environment."""
        import json

        read = self.script("run", "python", "-c", (
            "import json, sys\n"
            "from pyiceberg.catalog import load_catalog\n"
            "catalog = load_catalog('chimera')\n"
            "def files(table):\n"
            "    found = set()\n"
            "    for snapshot in table.snapshots():\n"
            "        for manifest in snapshot.manifests(table.io):\n"
            "            found.update(e.data_file.file_path for e in manifest.fetch_manifest_entry(table.io, discard_deleted=False))\n"
            "    return sorted(found)\n"
            "def main(table):\n"
            "    found, snapshot = [], table.current_snapshot()\n"
            "    while snapshot is not None:\n"
            "        found.append(dict(snapshot.summary.additional_properties, operation=snapshot.summary.operation.value))\n"
            "        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None\n"
            "    return found\n"
            "def read(table):\n"
            "    return {'location': table.location(), 'rows': table.scan().to_arrow().to_pylist(), 'main': main(table),\n"
            "            'refs': sorted(table.metadata.refs), 'referenced': files(table),\n"
            "            'current': sorted(t.file.file_path for t in table.scan().plan_files())}\n"
            "print(json.dumps({'catalog': type(catalog).__name__, 'tables': {t: read(catalog.load_table(t)) for t in sys.argv[1:]}}, default=str))"
        ), *tables)
        return json.loads(read.strip().splitlines()[-1])

    def stored_files(self, prefix: str) -> list[str]:
        """Every object under ``prefix`` (``s3://bucket/path``) on the cluster's S3-compatible store."""
        import json

        listed = self.script("run", "python", "-c", (
            "import json, os, sys\n"
            "import boto3\n"
            "bucket, _, prefix = sys.argv[1].removeprefix('s3://').partition('/')\n"
            "e = os.environ\n"
            "s3 = boto3.client('s3', endpoint_url=e['PYICEBERG_CATALOG__CHIMERA__S3__ENDPOINT'], region_name=e.get('PYICEBERG_CATALOG__CHIMERA__S3__REGION', 'us-east-1'),\n"
            "                  aws_access_key_id=e['PYICEBERG_CATALOG__CHIMERA__S3__ACCESS_KEY_ID'], aws_secret_access_key=e['PYICEBERG_CATALOG__CHIMERA__S3__SECRET_ACCESS_KEY'])\n"
            "keys = [o['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix) for o in page.get('Contents', [])]\n"
            "print(json.dumps([f's3://{bucket}/{k}' for k in keys]))"
        ), prefix)
        return json.loads(listed.strip().splitlines()[-1])


def start_cluster(folder: Path, teams: str, **settings: str) -> Cluster:
    """The cluster script started in ``folder`` with ``CLUSTER_TEAMS=teams`` and ``settings`` (more
    of its environment), once Chimera's own DAGs are parsed."""
    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG", "CLUSTER"))}
    env.update(
        CLUSTER_DIR=str(folder), CLUSTER_NAME=f"chimera_cluster_e2e_{secrets.token_hex(3)}", CLUSTER_TEAMS=teams,
        CLUSTER_API_PORT=str(_free_port()), CLUSTER_REDIS_PORT=str(_free_port()), CLUSTER_LOG_PORT=str(_free_port()),
        **settings,
    )
    cluster = Cluster(folder, env)
    try:
        cluster.script("start")
        cluster.wait(lambda: "chimera_registry_sync" in cluster.dag_ids(), 300, "Chimera's own DAGs to be parsed")
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    groups = cluster.groups()
    stopped = cluster.script("stop", timeout=300)
    left = sorted(g for g in groups.values() if _group_alive(g))
    name = cluster.env["CLUSTER_NAME"]
    with psycopg.connect(host=SERVICES["CHIMERA_PG_HOST"], port=SERVICES["CHIMERA_PG_PORT"], user=SERVICES["CHIMERA_PG_USER"],
                         password=SERVICES["CHIMERA_PG_PASSWORD"], dbname=SERVICES["CHIMERA_PG_DB"], autocommit=True) as conn:
        for db in (f"{name}_airflow", f"{name}_registry"):
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    assert groups and not left, f"process groups {left} of the cluster outlived `cluster.sh stop`:\n{stopped}"


def onboard(cluster: Cluster, intents: dict[str, dict], pipelines: set[str]) -> None:
    """Drop ``intents`` (file stem -> intent) into the cluster's intents folder, as a team does, and
    wait until each is onboarded and ``pipelines`` are parsed."""
    import json

    for stem, intent in intents.items():
        (cluster.intents / f"{stem}.json").write_text(json.dumps(intent))
    def parsed(onboarding: str, stem: str) -> bool:
        errors = [e["stack_trace"] for e in cluster.get("/importErrors", limit=100)["import_errors"] if f"{stem}.json" in e["stack_trace"]]
        assert not errors, f"the intents folder's {stem}.json was not accepted:\n{errors[0]}"
        return onboarding in cluster.dag_ids()

    for stem, intent in intents.items():
        onboarding = f"chimera_onboard__{intent['name']}"
        cluster.wait(lambda: parsed(onboarding, stem), 300, f"{onboarding} to be parsed", every=3)
        cluster.wait_for_run(onboarding, timeout=420)
    cluster.wait(lambda: pipelines <= cluster.dag_ids(), 300, "the pipelines' DAGs", every=3)



def two_cpus() -> tuple[int, int]:
    """Two CPUs this process may use, one per team's worker (as two hosts would have)."""
    cpus = sorted(os.sched_getaffinity(0))
    assert len(cpus) >= 2, f"the cluster tests pin two teams' workers to a CPU each: this process may use only CPUs {cpus}"
    return cpus[0], cpus[1]
