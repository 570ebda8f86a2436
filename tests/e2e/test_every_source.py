"""Every source type through its generated DAG in Airflow (`dag.test()`, SQLite metadata) into Iceberg.

For each of postgres, mysql, snowflake, mongodb, kafka, file, pdf and http (a plugin source, served
by a JSON API in this process on 127.0.0.1): the first run brings every
source row; a second run with no source change adds nothing; after inserts and updates in the
source, the next run brings exactly that change.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, SERVICES, require_service
from tests.helpers import DECLARATION, create_kafka_topic
from tests.http_api import FakeApi, serve
from tests.unit.sources.pdfs import make_pdf

BIN = REPO / ".venv" / "bin"
TOPIC = f"e2e.every.{uuid.uuid4().hex[:8]}"
START = dt.datetime(2026, 11, 1)
ITEMS = {"fields": [{"name": "id", "type": "long", "nullable": False}, {"name": "name", "type": "string"}, {"name": "updated_at", "type": "timestamp"}]}
INCREMENTAL = {"type": "incremental", "cursor": "updated_at"}

RUN_DAGS = textwrap.dedent(
    """
    import json, sys
    from airflow_provider_chimera.factory import build_dags
    dags = build_dags()
    states = {}
    for dag_id in sys.argv[1:]:
        run = dags[dag_id].test()
        states[dag_id] = str(run.state)
    print("STATES " + json.dumps(states))
    """
)


def _object(name: str, table: str, mode: dict = INCREMENTAL, **fields) -> dict:
    return {"name": name, **fields, "ingestion": {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"table": table}}}


def _sources(base: Path, api_url: str) -> list[dict]:
    return [
        {"name": "pg", "type": "postgres", "connection": {"conn_id": "e2e_pg"}, "objects": [_object("e2e_every.items", "pg_items")]},
        {"name": "my", "type": "mysql", "connection": {"conn_id": "e2e_mysql"}, "objects": [_object("e2e_every_items", "mysql_items")]},
        {"name": "sf", "type": "snowflake", "connection": {"conn_id": "e2e_snowflake"}, "objects": [_object("e2e_every.items", "snowflake_items")]},
        {"name": "mongo", "type": "mongodb", "connection": {"conn_id": "e2e_mongo"}, "objects": [_object("items", "mongo_items", schema=ITEMS)]},
        {"name": "events", "type": "kafka", "connection": {"conn_id": "e2e_kafka"}, "objects": [_object(TOPIC, "kafka_items", {"type": "incremental"}, schema=ITEMS)]},
        {"name": "files", "type": "file", "connection": {"uri": f"file://{base}/csv"}, "objects": [_object("items", "file_items", {"type": "incremental"}, path="*.csv", format="csv", schema=ITEMS)]},
        {"name": "docs", "type": "pdf", "connection": {"uri": f"file://{base}/pdf"}, "objects": [_object("contracts", "pdf_pages", {"type": "incremental"}, path="*.pdf")]},
        {
            "name": "api", "type": "http", "connection": {"uri": api_url},
            "options": {"pagination": {"type": "page", "page_size": 4}, "records_path": "data", "incremental_param": "updated_since"},
            "objects": [_object("items", "http_items", path="page/items", schema=ITEMS)],
        },
    ]


DAG_IDS = [
    "e2e_every_pg_e2e_every_items",
    "e2e_every_my_e2e_every_items",
    "e2e_every_sf_e2e_every_items",
    "e2e_every_mongo_items",
    "e2e_every_events_" + TOPIC.replace(".", "_"),
    "e2e_every_files_items",
    "e2e_every_docs_contracts",
    "e2e_every_api_items",
]


class Sources:
    """The eight sources, each holding rows ``id`` 1..n with ``updated_at``; changes applied alike."""

    def __init__(self, base: Path):
        import MySQLdb
        import psycopg
        import pymongo
        import snowflake.connector

        s = SERVICES
        self.base = base
        self.pg = psycopg.connect(host=s["CHIMERA_PG_HOST"], port=s["CHIMERA_PG_PORT"], user=s["CHIMERA_PG_USER"], password=s["CHIMERA_PG_PASSWORD"], dbname=s["CHIMERA_PG_DB"], autocommit=True)
        self.pg.execute("DROP SCHEMA IF EXISTS e2e_every CASCADE; CREATE SCHEMA e2e_every; CREATE TABLE e2e_every.items (id bigint PRIMARY KEY, name text, updated_at timestamp)")
        self.my = MySQLdb.connect(host=s["CHIMERA_MYSQL_HOST"], port=int(s["CHIMERA_MYSQL_PORT"]), user=s["CHIMERA_MYSQL_USER"], password=s["CHIMERA_MYSQL_PASSWORD"], database=s["CHIMERA_MYSQL_DB"], autocommit=True)
        cur = self.my.cursor()
        cur.execute("DROP TABLE IF EXISTS e2e_every_items")
        cur.execute("CREATE TABLE e2e_every_items (id BIGINT PRIMARY KEY, name VARCHAR(40), updated_at DATETIME(6))")
        self.sf = snowflake.connector.connect(user="e2e", password="e2e", account="fakesnow", host=s["CHIMERA_SNOWFLAKE_HOST"], port=int(s["CHIMERA_SNOWFLAKE_PORT"]), protocol="http")
        for sql in ("CREATE DATABASE IF NOT EXISTS E2E", "CREATE SCHEMA IF NOT EXISTS E2E.E2E_EVERY", "CREATE OR REPLACE TABLE E2E.E2E_EVERY.ITEMS (ID NUMBER(18,0), NAME VARCHAR, UPDATED_AT TIMESTAMP_NTZ)"):
            self.sf.cursor().execute(sql)
        self.mongo = pymongo.MongoClient(s["CHIMERA_MONGO_HOST"], int(s["CHIMERA_MONGO_PORT"]))
        self.mongo.drop_database("e2e_every")
        bootstrap = s["CHIMERA_KAFKA_BOOTSTRAP"]
        self.admin = create_kafka_topic(bootstrap, TOPIC, partitions=2)
        (base / "csv").mkdir()
        (base / "pdf").mkdir()
        self.api = FakeApi(data={"items": []})
        self._serving = serve(self.api)
        next(self._serving)  # answering on 127.0.0.1 until close()
        self.batch = 0

    def close(self) -> None:
        self.pg.execute("DROP SCHEMA IF EXISTS e2e_every CASCADE")
        self.my.cursor().execute("DROP TABLE IF EXISTS e2e_every_items")
        self.sf.cursor().execute("DROP TABLE IF EXISTS E2E.E2E_EVERY.ITEMS")
        self.mongo.drop_database("e2e_every")
        self.admin.delete_topics([TOPIC])
        next(self._serving, None)  # stops the API's server

    def write(self, rows: list[tuple[int, str, dt.datetime]]) -> None:
        """Insert or update ``rows`` in every source (files and topics get them as new records)."""
        from confluent_kafka import Producer

        self.batch += 1
        with self.pg.cursor() as cur:
            cur.executemany("INSERT INTO e2e_every.items VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at", rows)
        self.my.cursor().executemany("REPLACE INTO e2e_every_items VALUES (%s, %s, %s)", rows)
        for i, name, at in rows:
            self.sf.cursor().execute(f"DELETE FROM E2E.E2E_EVERY.ITEMS WHERE ID = {i}")
            self.sf.cursor().execute(f"INSERT INTO E2E.E2E_EVERY.ITEMS VALUES ({i}, '{name}', '{at.isoformat(sep=' ')}')")
        collection = self.mongo["e2e_every"]["items"]
        for i, name, at in rows:
            collection.replace_one({"id": i}, {"id": i, "name": name, "updated_at": at}, upsert=True)
        producer = Producer({"bootstrap.servers": SERVICES["CHIMERA_KAFKA_BOOTSTRAP"]})
        for i, name, at in rows:
            producer.produce(TOPIC, key=str(i).encode(), value=json.dumps({"id": i, "name": name, "updated_at": at.isoformat()}).encode())
        assert producer.flush(30) == 0
        lines = ["id,name,updated_at", *(f"{i},{name},{at.isoformat()}" for i, name, at in rows)]
        (self.base / "csv" / f"batch{self.batch}.csv").write_text("\n".join(lines) + "\n")
        make_pdf(self.base / "pdf" / f"batch{self.batch}.pdf", [name for _, name, _ in rows[:3]])
        records = {record["id"]: record for record in self.api.data["items"]}
        records.update({i: {"id": i, "name": name, "updated_at": at.isoformat()} for i, name, at in rows})
        self.api.data["items"] = sorted(records.values(), key=lambda record: record["id"])


@pytest.fixture(scope="module")
def every(tmp_path_factory):
    s = SERVICES
    for name, host, port in (
        ("PostgreSQL", s["CHIMERA_PG_HOST"], s["CHIMERA_PG_PORT"]),
        ("MariaDB", s["CHIMERA_MYSQL_HOST"], s["CHIMERA_MYSQL_PORT"]),
        ("Snowflake (fakesnow)", s["CHIMERA_SNOWFLAKE_HOST"], s["CHIMERA_SNOWFLAKE_PORT"]),
        ("MongoDB (FerretDB)", s["CHIMERA_MONGO_HOST"], s["CHIMERA_MONGO_PORT"]),
        ("Kafka", *s["CHIMERA_KAFKA_BOOTSTRAP"].split(":")),
    ):
        require_service(name, host, port)
    base = tmp_path_factory.mktemp("every")
    sources = Sources(base)
    intents = base / "intents"
    intents.mkdir()
    intent = {"version": 1, "name": "e2e_every", "team": {"name": "e2e", "support_email": "e2e@example.com"}, "project": "e2e", "declaration": DECLARATION, "sources": _sources(base, sources.api.base_url)}
    (intents / "e2e_every.json").write_text(json.dumps(intent))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYICEBERG"))}
    env.update(
        AIRFLOW_HOME=str(base / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CHIMERA__INTENTS_DIR=str(intents),
        AIRFLOW__CHIMERA__WAREHOUSE=str(base / "warehouse"),
        AIRFLOW__CHIMERA__CATALOG_NAME="chimera",
        AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN=f"sqlite:///{base / 'registry.db'}",
        AIRFLOW__CHIMERA__STATE_DIR=str(base / "state"),
        AIRFLOW_CONN_E2E_PG=f"postgresql://{s['CHIMERA_PG_USER']}:{s['CHIMERA_PG_PASSWORD']}@{s['CHIMERA_PG_HOST']}:{s['CHIMERA_PG_PORT']}/{s['CHIMERA_PG_DB']}",
        AIRFLOW_CONN_E2E_MYSQL=f"mysql://{s['CHIMERA_MYSQL_USER']}:{s['CHIMERA_MYSQL_PASSWORD']}@{s['CHIMERA_MYSQL_HOST']}:{s['CHIMERA_MYSQL_PORT']}/{s['CHIMERA_MYSQL_DB']}",
        AIRFLOW_CONN_E2E_SNOWFLAKE=json.dumps({"conn_type": "snowflake", "login": "e2e", "password": "e2e", "schema": "E2E_EVERY", "extra": {"account": "fakesnow", "database": "E2E", "host": s["CHIMERA_SNOWFLAKE_HOST"], "port": int(s["CHIMERA_SNOWFLAKE_PORT"]), "protocol": "http"}}),
        AIRFLOW_CONN_E2E_MONGO=f"mongo://{s['CHIMERA_MONGO_HOST']}:{s['CHIMERA_MONGO_PORT']}/e2e_every",
        AIRFLOW_CONN_E2E_KAFKA=json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": s["CHIMERA_KAFKA_BOOTSTRAP"]}}),
        AIRFLOW_CONN_KAFKA_DEFAULT=json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": s["CHIMERA_KAFKA_BOOTSTRAP"]}}),
    )
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True, cwd=base)
    yield sources, env, base
    sources.close()


def _run_all(env: dict, base: Path) -> None:
    out = subprocess.run([str(BIN / "python"), "-c", RUN_DAGS, *DAG_IDS], env=env, capture_output=True, text=True, cwd=base, timeout=900)
    line = next((l for l in out.stdout.splitlines() if l.startswith("STATES ")), None)
    assert line, out.stdout[-3000:] + out.stderr[-3000:]
    states = json.loads(line[len("STATES "):])
    assert states == {dag_id: "success" for dag_id in DAG_IDS}, out.stdout[-6000:]


def _counts(base: Path) -> dict[str, int]:
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = base / "warehouse"
    catalog = SqlCatalog("chimera", uri=f"sqlite:///{warehouse / 'catalog.db'}", warehouse=f"file://{warehouse}")
    tables = ["pg_items", "mysql_items", "snowflake_items", "mongo_items", "kafka_items", "file_items", "pdf_pages", "http_items"]
    return {t: catalog.load_table(("e2e", t)).scan().to_arrow().num_rows for t in tables}


def test_first_run_unchanged_run_and_exact_change_for_every_source(every):
    sources, env, base = every
    first = [(i, f"item {i}", START + dt.timedelta(minutes=i)) for i in range(1, 21)]
    sources.write(first)
    # Pipelines ingest only once their intent is onboarded (its connectivity test reads every object).
    onboard = subprocess.run([str(BIN / "chimera"), "onboard", str(base / "intents" / "e2e_every.json")], env=env, capture_output=True, text=True, cwd=base)
    assert onboard.returncode == 0, onboard.stdout[-3000:] + onboard.stderr[-3000:]
    _run_all(env, base)
    assert _counts(base) == {"pg_items": 20, "mysql_items": 20, "snowflake_items": 20, "mongo_items": 20, "kafka_items": 20, "file_items": 20, "pdf_pages": 3, "http_items": 20}

    _run_all(env, base)  # nothing changed in any source: nothing added
    assert _counts(base) == {"pg_items": 20, "mysql_items": 20, "snowflake_items": 20, "mongo_items": 20, "kafka_items": 20, "file_items": 20, "pdf_pages": 3, "http_items": 20}

    later = START + dt.timedelta(days=1)
    change = [(i, f"item {i} v2", later + dt.timedelta(minutes=i)) for i in (3, 7)]  # two updates
    change += [(i, f"item {i}", later + dt.timedelta(minutes=i)) for i in range(21, 26)]  # five inserts
    sources.write(change)
    _run_all(env, base)
    # Appending targets receive exactly the 7 changed records; the PDF folder got one 3-page document.
    assert _counts(base) == {"pg_items": 27, "mysql_items": 27, "snowflake_items": 27, "mongo_items": 27, "kafka_items": 27, "file_items": 27, "pdf_pages": 6, "http_items": 27}
