"""End to end: the sample intents' DAGs run in Airflow (SQLite, `airflow dags test`) into Iceberg.

This is `make demo` itself, in a temporary folder: target rows equal the shipped sample rows,
and a second run adds no duplicate.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, SERVICES, require_service

SAMPLES = REPO / "samples" / "retail"
EXPECTED_IDS = [
    "retail_shop_shop_db_public_orders",
    "retail_shop_shop_files_customers",
    "retail_shop_shop_files_events",
]


def _sample_rows() -> dict[str, int]:
    with open(SAMPLES / "customers.csv") as f:
        customers = sum(1 for _ in csv.DictReader(f))
    with open(SAMPLES / "orders.csv") as f:
        orders = sum(1 for _ in csv.DictReader(f))
    events = sum(len(p.read_text().splitlines()) for p in (SAMPLES / "events").glob("*.jsonl"))
    return {"retail.customers": customers, "retail.web_events": events, "retail.orders": orders}


def _env(demo_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CHIMERA", "PYICEBERG"))}
    env.update(
        DEMO_DIR=str(demo_dir),
        AIRFLOW_HOME=str(demo_dir / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CHIMERA__WAREHOUSE=str(demo_dir / "warehouse"),
        CHIMERA_SAMPLE_DATA=str(REPO / "samples"),
    )
    return env


def _ingested(demo_dir: Path) -> dict[str, tuple[int, int]]:
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "chimera"), "tables", "--format", "json"],
        env=_env(demo_dir), capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout
    return {row["target"]: (row["rows"], row["snapshot_id"]) for row in json.loads(out)}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    require_service("PostgreSQL", SERVICES["CHIMERA_PG_HOST"], SERVICES["CHIMERA_PG_PORT"])
    require_service("Kafka", *SERVICES["CHIMERA_KAFKA_BOOTSTRAP"].split(":"))  # onboarding events
    return tmp_path_factory.mktemp("demo")


def _run_demo(demo_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "scripts/demo.sh"], env=_env(demo_dir), capture_output=True, text=True, cwd=REPO, timeout=900)


def test_demo_ingests_every_sample_row_once(demo_dir):
    first = _run_demo(demo_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "intent intents/retail_shop.json: onboarded" in first.stdout
    for dag_id in EXPECTED_IDS:
        assert f"pipeline {dag_id}: success" in first.stdout
    expected = _sample_rows()
    after_first = _ingested(demo_dir)
    assert {t: rows for t, (rows, _) in after_first.items()} == expected

    second = _run_demo(demo_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    after_second = _ingested(demo_dir)
    assert {t: rows for t, (rows, _) in after_second.items()} == expected
    # Incremental pipelines found nothing new: their tables did not even get a new snapshot.
    for table in ("retail.web_events", "retail.orders"):
        assert after_second[table][1] == after_first[table][1]


def test_airflow_lists_exactly_the_sample_dags(demo_dir):
    env = _env(demo_dir)
    if not (demo_dir / "airflow" / "airflow.db").exists():
        subprocess.run([str(REPO / ".venv/bin/airflow"), "db", "migrate"], env=env, check=True, capture_output=True, cwd=REPO)
    out = subprocess.run(
        [str(REPO / ".venv/bin/airflow"), "dags", "list", "--output", "json", "--local"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    # Airflow prints its own warnings on stdout too; the listing is the JSON line.
    listing = next(line for line in out.stdout.splitlines() if line.startswith("["))
    ids = sorted(row["dag_id"] for row in json.loads(listing))
    assert ids == sorted([*EXPECTED_IDS, "chimera_registry_sync", "chimera_maintenance", "chimera_metadata", "chimera_timeliness", "chimera_recovery", "chimera_onboard__retail_shop"])  # the pipelines and Chimera's own DAGs
