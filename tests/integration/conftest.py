"""Service fixtures for the integration tests.

Each fixture is a factory: a call checks that its service answers (failing, never skipping, with
`tests.conftest.require_service`), optionally points the Airflow connection ``conn_id`` at it through an
``AIRFLOW_CONN_<CONN_ID>`` variable, prepares a clean place to work in and removes it after the test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from tests.conftest import require_service
from tests.helpers import mongo_uri, mysql_uri, postgres_uri
from tests.mailbox import Inbox, free_port, smtp_connection


def _airflow_connection(monkeypatch, conn_id: str | None, value: str) -> None:
    if conn_id:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)


def _database_server(services, prefix: str, name: str) -> dict:
    """Host, port, user and password of the ``CHIMERA_<prefix>_*`` server, once it answers."""
    host, port = services[f"CHIMERA_{prefix}_HOST"], int(services[f"CHIMERA_{prefix}_PORT"])
    require_service(name, host, port)
    return {"host": host, "port": port, "user": services[f"CHIMERA_{prefix}_USER"], "password": services[f"CHIMERA_{prefix}_PASSWORD"]}


def _dropped_before_and_after(cleanups, conn, cur, statements: list[str]):
    """Run the DROP ``statements`` now and after the test, then close ``conn``; returns ``cur``."""

    def drop():
        for statement in statements:
            cur.execute(statement)

    drop()
    cleanups(conn.close)
    cleanups(drop)
    return cur


@pytest.fixture
def cleanups():
    """Callables run after the test, the last registered first."""
    registered: list[Callable[[], object]] = []
    yield registered.append
    for undo in reversed(registered):
        undo()


@pytest.fixture
def pg_schema(services, monkeypatch, cleanups):
    """``pg_schema(schema, conn_id=None)``: an autocommit psycopg connection, ``schema`` created empty."""
    import psycopg

    def make(schema: str, conn_id: str | None = None):
        server = _database_server(services, "PG", "PostgreSQL")
        _airflow_connection(monkeypatch, conn_id, postgres_uri(services))
        conn = psycopg.connect(**server, dbname=services["CHIMERA_PG_DB"], autocommit=True)
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")

        def drop():
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.close()

        cleanups(drop)
        return conn

    return make


@pytest.fixture
def mysql_tables(services, monkeypatch, cleanups):
    """``mysql_tables(conn_id, *tables)``: an autocommit cursor in UTC, the ``tables`` dropped before and after."""
    import MySQLdb

    def make(conn_id: str | None, *tables: str):
        server = _database_server(services, "MYSQL", "MariaDB")
        _airflow_connection(monkeypatch, conn_id, mysql_uri(services))
        conn = MySQLdb.connect(**server, database=services["CHIMERA_MYSQL_DB"], autocommit=True)
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        return _dropped_before_and_after(cleanups, conn, cur, [f"DROP TABLE IF EXISTS {table}" for table in tables])

    return make


@pytest.fixture
def snowflake_schema(services, monkeypatch, cleanups):
    """``snowflake_schema(schema, conn_id, *tables)``: a cursor on fakesnow with database QA and
    ``QA.<schema>`` created, the ``tables`` of that schema dropped before and after."""
    import snowflake.connector

    def make(schema: str, conn_id: str | None, *tables: str):
        host, port = services["CHIMERA_SNOWFLAKE_HOST"], int(services["CHIMERA_SNOWFLAKE_PORT"])
        require_service("Snowflake (fakesnow)", host, port)
        extra = {"account": "fakesnow", "database": "QA", "host": host, "port": port, "protocol": "http"}
        connection = {"conn_type": "snowflake", "login": "qa", "password": "qa", "schema": schema, "extra": extra}
        _airflow_connection(monkeypatch, conn_id, json.dumps(connection))
        conn = snowflake.connector.connect(user="qa", password="qa", account="fakesnow", host=host, port=port, protocol="http")
        cur = conn.cursor()
        cur.execute("CREATE DATABASE IF NOT EXISTS QA")
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS QA.{schema}")
        return _dropped_before_and_after(cleanups, conn, cur, [f"DROP TABLE IF EXISTS QA.{schema}.{table}" for table in tables])

    return make


@pytest.fixture
def mongo_database(services, monkeypatch, cleanups):
    """``mongo_database(name, conn_id=None)``: the (timezone-aware) pymongo database ``name``, dropped before and after."""
    import pymongo

    def make(name: str, conn_id: str | None = None):
        host, port = services["CHIMERA_MONGO_HOST"], services["CHIMERA_MONGO_PORT"]
        require_service("MongoDB (FerretDB)", host, port)
        _airflow_connection(monkeypatch, conn_id, mongo_uri(services, name, scheme="mongo"))
        client = pymongo.MongoClient(host, int(port), tz_aware=True)
        client.drop_database(name)

        def drop():
            client.drop_database(name)
            client.close()

        cleanups(drop)
        return client[name]

    return make


@pytest.fixture
def kafka_topic(services, monkeypatch, cleanups):
    """``kafka_topic(prefix, conn_id=None, partitions=1)``: a new topic ``<prefix>.<random>``, deleted after."""
    from tests.helpers import create_kafka_topic

    def make(prefix: str, conn_id: str | None = None, partitions: int = 1) -> str:
        bootstrap = services["CHIMERA_KAFKA_BOOTSTRAP"]
        host, _, port = bootstrap.partition(":")
        require_service("Kafka", host, port)
        _airflow_connection(monkeypatch, conn_id, json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": bootstrap}}))
        topic = f"{prefix}.{uuid.uuid4().hex[:8]}"
        admin = create_kafka_topic(bootstrap, topic, partitions)
        cleanups(lambda: admin.delete_topics([topic])[topic].result(timeout=30))
        return topic

    return make


@pytest.fixture
def smtp_server(monkeypatch, cleanups):
    """``smtp_server(conn_id, started=True)``: a local SMTP server (aiosmtpd) on a free port of
    127.0.0.1, and the Airflow SMTP connection ``conn_id`` pointing at it (sender
    ``chimera@example.com``, no TLS, no retry). ``.inbox.messages`` holds ``(recipients, message)``
    of each mail accepted; a server made with ``started=False`` refuses connections until ``.start()``."""
    from aiosmtpd.controller import Controller

    def make(conn_id: str, started: bool = True) -> SimpleNamespace:
        port = free_port()
        _airflow_connection(monkeypatch, conn_id, smtp_connection(port))
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        running: list[bool] = []

        def start() -> None:
            controller.start()
            running.append(True)

        cleanups(lambda: controller.stop() if running else None)
        if started:
            start()
        return SimpleNamespace(inbox=inbox, start=start, port=port)

    return make
