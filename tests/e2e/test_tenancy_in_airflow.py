"""Two teams on one Airflow 3, with the platform's tenancy file: each team's pipelines run; a team
that reaches for the other's connection, namespace or files is refused, and the other team's DAGs
keep running.

The real processes (see airflow_stack.py) read an intents folder with one sub-folder per team, as
git CODEOWNERS would guard it. Team ``retail-analytics`` owns the sample intent (files and the
PostgreSQL ``public.orders`` through connection ``retail_postgres``); team ``ops-analytics`` owns
an intent reading its own landing folder. Then team ops pushes three intents that each use one
thing of retail's.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO, SERVICES, require_service
from tests.e2e.airflow_stack import AirflowStack

RETAIL_INTENT = REPO / "intents" / "retail_shop.json"
RETAIL_DAGS = {"retail_shop_shop_files_customers", "retail_shop_shop_files_events", "retail_shop_shop_db_public_orders"}
OPS_DAG = "ops_desk_landing_tickets"
DECLARATION = {"declared_by": "ops.lead", "statement": "our own ticket exports", "declared_at": "2026-12-01"}
TICKETS = {"fields": [{"name": "ticket_id", "type": "long", "nullable": False}, {"name": "subject", "type": "string"}]}


def _ops_intent(name: str, uri: str, namespace: str = "ops", **source) -> dict:
    return {
        "version": 1,
        "name": name,
        "team": {"name": "ops-analytics", "support_email": "ops@example.com"},
        "project": "ops",
        "declaration": DECLARATION,
        "sources": [
            {
                "name": "landing",
                "type": "file",
                "connection": {"uri": uri},
                "objects": [
                    {
                        "name": "tickets",
                        "path": "*.csv",
                        "format": "csv",
                        "schema": TICKETS,
                        "ingestion": {
                            "trigger": {"type": "adhoc"},
                            "mode": {"type": "full"},
                            "target": {"namespace": namespace, "table": "tickets"},
                        },
                    }
                ],
                **source,
            }
        ],
    }


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    s = SERVICES
    require_service("PostgreSQL", s["CHIMERA_PG_HOST"], s["CHIMERA_PG_PORT"])
    require_service("Kafka", *s["CHIMERA_KAFKA_BOOTSTRAP"].split(":"))
    seed = subprocess.run([str(REPO / ".venv/bin/python"), "scripts/seed_demo.py"], env={**s}, cwd=REPO, capture_output=True, text=True)
    assert seed.returncode == 0, seed.stderr  # retail's PostgreSQL table, public.orders

    home = tmp_path_factory.mktemp("tenancy")
    landing = home / "ops-landing"
    landing.mkdir()
    (landing / "tickets.csv").write_text("ticket_id,subject\n1,printer\n2,vpn\n3,laptop\n")
    tenancy = {
        "teams": {
            "retail-analytics": {
                "support_email": "retail-data@platform.example.org",
                "namespaces": ["retail"],
                "connections": ["retail_postgres"],
                "secrets_prefix": "CHIMERA_SAMPLE",  # the sample intent's ${env:CHIMERA_SAMPLE_DATA}
                "file_roots": [f"file://{REPO / 'samples' / 'retail'}"],
                "intents_path": "retail/",
            },
            "ops-analytics": {
                "support_email": "ops@platform.example.org",
                "namespaces": ["ops"],
                "connections": ["ops_tickets_db"],
                "secrets_prefix": "OPS_",
                "file_roots": [f"file://{landing}"],
                "intents_path": "ops/",
            },
        }
    }
    (home / "tenancy.yaml").write_text(yaml.safe_dump(tenancy))
    intents = home / "intents"
    (intents / "retail").mkdir(parents=True)
    (intents / "ops").mkdir()
    shutil.copy(RETAIL_INTENT, intents / "retail" / RETAIL_INTENT.name)
    (intents / "ops" / "ops_desk.json").write_text(json.dumps(_ops_intent("ops_desk", f"file://{landing}")))
    env = {
        "AIRFLOW__CHIMERA__TENANCY_FILE": str(home / "tenancy.yaml"),
        "AIRFLOW_CONN_RETAIL_POSTGRES": (
            f"postgresql://{s['CHIMERA_PG_USER']}:{s['CHIMERA_PG_PASSWORD']}@{s['CHIMERA_PG_HOST']}:{s['CHIMERA_PG_PORT']}/{s['CHIMERA_PG_DB']}"
        ),
        "CHIMERA_E2E_PII_KEY": "e2e-pii-key",
        "AIRFLOW__CHIMERA__PII_KEY_SECRET": "${env:CHIMERA_E2E_PII_KEY}",
    }
    airflow = AirflowStack(home, intents, env)
    try:
        airflow.start()
        # The registry sync (every minute here) starts both intents' onboarding by itself.
        airflow.wait_for_run("chimera_onboard__retail_shop", timeout=420)
        airflow.wait_for_run("chimera_onboard__ops_desk", timeout=240)
        airflow.wait(lambda: RETAIL_DAGS | {OPS_DAG} <= airflow.dag_ids(), 180, "both teams' DAGs")
        yield airflow, intents, landing
    finally:
        airflow.stop()


def _run(airflow: AirflowStack, dag_id: str) -> dict:
    airflow.unpause(dag_id)
    run_id = airflow.trigger(dag_id)
    done = airflow.wait(
        lambda: next((r for r in airflow.runs(dag_id) if r["dag_run_id"] == run_id and r["state"] in ("success", "failed")), None),
        240, f"run {run_id} of {dag_id}", every=2,
    )
    states = {ti["task_id"]: ti["state"] for ti in airflow.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]}
    assert done["state"] == "success" and states == {"ingest": "success"}, airflow.logs()
    return done


def _rows(airflow: AirflowStack) -> dict[str, int]:
    out = airflow.run("chimera", "tables", "--format", "json").stdout
    return {row["target"]: row["rows"] for row in json.loads(out)}


def test_each_teams_pipelines_run_and_a_team_reaching_for_anothers_is_refused(platform):
    airflow, intents, landing = platform
    for dag_id in ("retail_shop_shop_db_public_orders", "retail_shop_shop_files_customers", OPS_DAG):
        _run(airflow, dag_id)
    rows = _rows(airflow)
    assert (rows["retail.orders"], rows["retail.customers"], rows["ops.tickets"]) == (200, 50, 3)

    # The registry knows each team by the tenancy file, not by what its intent says.
    teams = json.loads(airflow.run("chimera", "teams", "show", "ops-analytics", "--format", "json").stdout)
    assert teams["support_email"] == "ops@platform.example.org"
    audit = json.loads(airflow.run("chimera", "audit", "--format", "json").stdout)
    assert not [e for e in audit if e["action"] == "intent.rejected"]

    # Team ops pushes three intents, each reaching for something of retail's.
    hostile = {
        "ops_steal_conn.json": (_ops_intent("ops_steal_conn", f"file://{landing}")
                                | {"sources": [{"name": "db", "type": "postgres", "connection": {"conn_id": "retail_postgres"},
                                                "objects": [{"name": "public.orders", "ingestion": {
                                                    "trigger": {"type": "adhoc"}, "mode": {"type": "full"},
                                                    "target": {"namespace": "ops", "table": "orders_copy"}}}]}]},
                                "/sources/0/connection/conn_id", "connection 'retail_postgres' is not one of team 'ops-analytics'"),
        "ops_steal_ns.json": (_ops_intent("ops_steal_ns", f"file://{landing}", namespace="retail"),
                              "/sources/0/objects/0/ingestion/target/namespace", "namespace 'retail' is not one of team 'ops-analytics'"),
        "ops_steal_files.json": (_ops_intent("ops_steal_files", f"file://{REPO / 'samples' / 'retail'}"),
                                 "/sources/0/connection/uri", "is not under the file roots of team 'ops-analytics'"),
    }
    for name, (document, _, _) in hostile.items():
        (intents / "ops" / name).write_text(json.dumps(document))

    def import_error():
        errors = airflow.get("/importErrors")["import_errors"]
        text = "\n".join(e["stack_trace"] for e in errors)
        return text if all(name in text for name in hostile) else None

    stack_trace = airflow.wait(import_error, 120, "the three refused intents as the error file's import error")
    listed = airflow.run("chimera", "dags", "list", "--errors", "--format", "json", check=False)
    assert listed.returncode == 2
    rejected = json.loads(listed.stdout)["rejected"]
    for name, (_, path, message) in hostile.items():
        file = str(intents / "ops" / name)
        assert any(r["file"] == file and r["path"] == path and message in r["message"] for r in rejected), rejected
        assert f"{file}: {path}: " in stack_trace
    assert {r["file"] for r in rejected} == {str(intents / "ops" / n) for n in hostile}

    # No hostile DAG exists; retail's and ops' own keep running.
    dag_ids = airflow.dag_ids()
    assert RETAIL_DAGS | {OPS_DAG} <= dag_ids
    assert not [d for d in dag_ids if d.startswith(("ops_steal_",))]
    _run(airflow, "retail_shop_shop_files_customers")
    _run(airflow, OPS_DAG)
    assert _rows(airflow)["retail.customers"] == 50
