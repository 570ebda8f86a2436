"""Opening the catalog: pyiceberg's configuration as it is when called; a silent service is transient."""

from __future__ import annotations

import socket

import pytest

from airflow_provider_chimera.errors import Transient
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.writer.catalog import CatalogUnreachable, chimera_catalog


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_variables_set_after_pyiceberg_was_imported_are_used(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "lateunit")
    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "embedded"))
    monkeypatch.setenv("PYICEBERG_CATALOG__LATEUNIT__TYPE", "sql")
    monkeypatch.setenv("PYICEBERG_CATALOG__LATEUNIT__URI", f"sqlite:///{tmp_path / 'late.db'}")
    monkeypatch.setenv("PYICEBERG_CATALOG__LATEUNIT__WAREHOUSE", (tmp_path / "late").as_uri())

    catalog = chimera_catalog(load_settings())
    catalog.create_namespace("qa")

    assert catalog.properties["uri"] == f"sqlite:///{tmp_path / 'late.db'}"
    assert (tmp_path / "late.db").exists() and not (tmp_path / "embedded").exists()


def test_a_rest_catalog_that_does_not_answer_is_transient_and_named_without_credentials(tmp_path, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "downunit")
    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "embedded"))
    monkeypatch.setenv("PYICEBERG_CATALOG__DOWNUNIT__TYPE", "rest")
    monkeypatch.setenv("PYICEBERG_CATALOG__DOWNUNIT__URI", f"http://svc:hunter2@127.0.0.1:{port}/catalog?x=1")

    with pytest.raises(CatalogUnreachable) as raised:
        chimera_catalog(load_settings())

    assert isinstance(raised.value, Transient)
    assert str(raised.value) == (
        f"Iceberg catalog 'downunit' (rest catalog at http://127.0.0.1:{port}) does not answer: "
        "ConnectionError; a retry may pass once it is back"
    )


def test_a_table_another_process_created_at_the_same_moment_is_used_not_an_error(catalog):
    """Iceberg's REST catalog on a JDBC backend answers a lost creation race with HTTP 500
    (seen with eight backfill runs on `make cluster`). The REST server cannot run in a unit test:
    a catalog that creates the table through a second handle, then fails as that server does,
    stands in for it."""
    import pyarrow as pa
    from pyiceberg.exceptions import ServerError

    from airflow_provider_chimera.writer.catalog import create_table, ensure_namespace

    ensure_namespace(catalog, "qa")
    schema = pa.schema([pa.field("id", pa.int64())])

    class LosesTheRace:
        def create_table_if_not_exists(self, identifier, **create):
            catalog.create_table(identifier, **create)  # the other process, first
            raise ServerError("UncheckedSQLException: Unknown failure")

        def load_table(self, identifier):
            return catalog.load_table(identifier)

    table = create_table(LosesTheRace(), ("qa", "raced"), schema=schema)
    assert table.name() == ("qa", "raced") and table.schema().column_names == ["id"]

    class CannotCreate(LosesTheRace):
        def create_table_if_not_exists(self, identifier, **create):
            raise ServerError("UncheckedSQLException: disk full")

    with pytest.raises(ServerError, match="disk full"):  # no table: the creation's own error
        create_table(CannotCreate(), ("qa", "never"), schema=schema)


def test_a_new_catalog_whose_tables_another_process_creates_meanwhile_still_opens(tmp_path, monkeypatch):
    # The first tasks on a fresh warehouse start together. pyiceberg's SQL catalog checks for its
    # tables, then creates them: here another process (a second SQLite connection) creates them
    # between this one's check and its CREATE TABLE, which then fails on SQLite as it did in a
    # real run ("table iceberg_tables already exists"). The interleaving is forced so the test
    # does not depend on luck; the catalog code, SQLite and the error are real.
    import sqlite3

    from pyiceberg.catalog.sql import SqlCatalogBaseTable
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.schema import CreateTable

    monkeypatch.setenv("AIRFLOW__CHIMERA__CATALOG_NAME", "raceunit")
    monkeypatch.setenv("AIRFLOW__CHIMERA__WAREHOUSE", str(tmp_path / "warehouse"))
    settings = load_settings()
    raced: list[str] = []

    def other_process_first(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE") and not raced:
            raced.append(statement.split("(")[0].strip())
            ddl = ";".join(str(CreateTable(t).compile(dialect=conn.dialect)) for t in SqlCatalogBaseTable.metadata.sorted_tables)
            with sqlite3.connect(settings.catalog_db) as other:
                other.executescript(ddl)

    event.listen(Engine, "before_cursor_execute", other_process_first)
    try:
        catalog = chimera_catalog(settings)
    finally:
        event.remove(Engine, "before_cursor_execute", other_process_first)
    catalog.create_namespace("qa")

    assert raced, "the catalog's tables were never created: the race was not run"
    assert catalog.list_namespaces() == [("qa",)]
