"""The drivers' low findings (point 11, sources part): a ``%`` in MySQL column names, Postgres
literals whatever ``standard_conforming_strings`` says, a connect timeout on every driver from
one constant, and no MongoDB client left open on any path."""

from __future__ import annotations

import time

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.sources import base, source_reader
from airflow_provider_chimera.sources.postgres import quote_literal
from tests.helpers import pipeline_for, read_table, record_schema, run_pipeline, single_object_source
from tests.integration.conftest import cleanups, mongo_database, mysql_tables, pg_schema  # noqa: F401  (fixtures)
from tests.integration.onboarding.test_connectivity import silent_server  # noqa: F401  (a fixture)

COVERS = ("11",)


def test_a_percent_sign_in_mysql_column_names_does_not_break_the_query(mysql_tables):
    cur = mysql_tables("qa_mysql_pct", "qa_pct")
    cur.execute("CREATE TABLE qa_pct (`id%s` INT PRIMARY KEY, `done%` VARCHAR(10), `at%d` DATETIME)")
    cur.execute("INSERT INTO qa_pct VALUES (1, '10%', '2026-11-01 00:00:00'), (2, '20%', '2026-11-02 00:00:00')")
    source = Source.model_validate(single_object_source(
        "mysql", {"conn_id": "qa_mysql_pct"}, "qa_pct", {"type": "incremental", "cursor": "at%d"}, "pct"))
    hook = source_reader(source)
    first = hook.extract(source.objects[0], None)
    assert sum(b.num_rows for b in first.batches()) == 2
    cur.execute("INSERT INTO qa_pct VALUES (3, '30%', '2026-11-03 00:00:00')")
    later = hook.extract(source.objects[0], first.position())  # the cursor's predicate names `at%d`
    rows = [row for batch in later.batches() for row in batch.to_pylist()]
    assert [(row["id%s"], row["done%"]) for row in rows] == [(3, "30%")]


def test_postgres_literals_do_not_depend_on_standard_conforming_strings(pg_schema, services, monkeypatch, catalog):
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal("a\\' OR true --") == "E'a\\\\'' OR true --'"
    cur = pg_schema("qa_scs")
    cur.execute("CREATE TABLE qa_scs.notes (id int, tag text)")
    cur.execute(r"INSERT INTO qa_scs.notes VALUES (1, 'a\'), (2, 'b\')")  # the cursor: values ending in a backslash
    cur.execute("DROP ROLE IF EXISTS qa_nonstd")
    cur.execute("CREATE ROLE qa_nonstd LOGIN PASSWORD 'qa_nonstd'")
    cur.execute("ALTER ROLE qa_nonstd SET standard_conforming_strings = off")
    cur.execute("GRANT USAGE ON SCHEMA qa_scs TO qa_nonstd; GRANT SELECT ON ALL TABLES IN SCHEMA qa_scs TO qa_nonstd")
    monkeypatch.setenv("QA_NONSTD_PW", "qa_nonstd")
    uri = (f"postgresql://qa_nonstd:${{env:QA_NONSTD_PW}}@{services['CHIMERA_PG_HOST']}:{services['CHIMERA_PG_PORT']}/"
           f"{services['CHIMERA_PG_DB']}")
    source = single_object_source("postgres", {"uri": uri}, "qa_scs.notes", {"type": "incremental", "cursor": "tag"}, "notes")
    try:
        assert run_pipeline(pipeline_for(source))["rows"] == 2
        cur.execute(r"INSERT INTO qa_scs.notes VALUES (3, 'c\')")
        assert run_pipeline(pipeline_for(source))["rows"] == 1  # WHERE tag > 'b\' read as the value it is
        assert sorted(read_table(catalog, "qa.notes").column("id").to_pylist()) == [1, 2, 3]
    finally:
        cur.execute("DROP OWNED BY qa_nonstd; DROP ROLE qa_nonstd")


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setattr(base, "CONNECT_TIMEOUT_S", 2)
    return 2


def _source(kind: str, uri: str, **fields) -> Source:
    return Source.model_validate(single_object_source(kind, {"uri": uri}, "things", {"type": "full"}, "things", **fields))


@pytest.mark.parametrize("kind, uri", [
    ("postgres", "postgresql://qa:${env:QA_SILENT_PW}@127.0.0.1:{port}/qa"),
    ("mysql", "mysql://qa:${env:QA_SILENT_PW}@127.0.0.1:{port}/qa"),
    ("mongodb", "mongodb://127.0.0.1:{port}/qa"),
])
def test_every_driver_gives_up_on_a_silent_server_after_the_connect_timeout(short_timeout, silent_server, monkeypatch, kind, uri):  # noqa: F811
    monkeypatch.setenv("QA_SILENT_PW", "never-sent")
    fields = {"schema": record_schema(id="long")} if kind == "mongodb" else {}
    hook = source_reader(_source(kind, uri.replace("{port}", str(silent_server)), **fields))
    start = time.monotonic()
    ok, message = hook.test_connection()
    elapsed = time.monotonic() - start
    assert not ok, message
    assert elapsed < 4 * short_timeout + 3, f"{kind}: gave up after {elapsed:.1f} s: {message}"


def test_each_driver_takes_the_one_timeout(short_timeout, monkeypatch):
    monkeypatch.setenv("QA_PW", "pw")
    mysql = source_reader(_source("mysql", "mysql://qa:${env:QA_PW}@db.example.org:3306/qa"))
    assert mysql.connect_kwargs()["connect_timeout"] == 2
    assert mysql.connectorx_url().endswith("?tcp_connect_timeout_ms=2000")
    postgres = source_reader(_source("postgres", "postgresql://qa:${env:QA_PW}@db.example.org/qa"))
    assert postgres._with_timeout(postgres.uri()).endswith("/qa?connect_timeout=2")
    snowflake = source_reader(_source("snowflake", "snowflake://qa:${env:QA_PW}@acct/QA"))
    assert snowflake.connect_kwargs()["login_timeout"] == 2


def test_a_kafka_password_never_reaches_the_broker_list(monkeypatch):
    monkeypatch.setenv("QA_KAFKA_PW", "p@ss:word")
    uri = "kafka://reader:${env:QA_KAFKA_PW}@broker-1.example.org:9093,broker-2.example.org:9093"
    hook = source_reader(_source("kafka", uri, format="json", schema=record_schema(id="long")))
    assert hook.uri_config() == {"bootstrap.servers": "broker-1.example.org:9093,broker-2.example.org:9093",
                                 "security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN",
                                 "sasl.username": "reader", "sasl.password": "p@ss:word"}


def test_no_mongodb_client_is_left_open_on_any_path(mongo_database, services, monkeypatch):  # noqa: F811
    import pymongo.monitoring as monitoring

    count = {"opened": 0, "closed": 0}

    class Topologies(monitoring.TopologyListener):
        def opened(self, event):
            count["opened"] += 1

        def closed(self, event):
            count["closed"] += 1

        def description_changed(self, event):
            pass

    database = mongo_database("qa_leak")
    database["things"].insert_many([{"id": n} for n in range(3)])
    monitoring.register(Topologies())
    address = f"{services['CHIMERA_MONGO_HOST']}:{services['CHIMERA_MONGO_PORT']}"
    good = _source("mongodb", f"mongodb://{address}/qa_leak", schema=record_schema(id="long"))
    no_database = _source("mongodb", f"mongodb://{address}/", schema=record_schema(id="long"))
    hook = source_reader(good)
    assert hook.probe() == "connected"
    assert hook.list_objects() == ["things"]
    assert hook.check_objects(list(good.objects)) == {"things": []}
    assert sum(b.num_rows for b in hook.extract(good.objects[0], None).batches()) == 3
    unfinished = hook.extract(good.objects[0], None).batches()
    next(unfinished)
    unfinished.close()  # a reader that stops early
    assert source_reader(no_database).test_connection()[0] is False  # fails after the client exists
    assert count["opened"] >= 6
    assert count["closed"] == count["opened"], count
