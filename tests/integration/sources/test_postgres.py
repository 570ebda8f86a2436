"""PostgreSQL → Iceberg over TCP against the server `make services` starts."""

from __future__ import annotations

import datetime as dt
import decimal

import psycopg
import pytest

from tests.conftest import require_service
from tests.helpers import pipeline_for, read_table, run_pipeline


@pytest.fixture
def pg(services, monkeypatch):
    host, port = services["CHIMERA_PG_HOST"], services["CHIMERA_PG_PORT"]
    require_service("PostgreSQL", host, port)
    user, password, db = services["CHIMERA_PG_USER"], services["CHIMERA_PG_PASSWORD"], services["CHIMERA_PG_DB"]
    monkeypatch.setenv("AIRFLOW_CONN_QA_POSTGRES", f"postgresql://{user}:{password}@{host}:{port}/{db}")
    conn = psycopg.connect(host=host, port=port, user=user, password=password, dbname=db, autocommit=True)
    conn.execute("DROP SCHEMA IF EXISTS qa_pg CASCADE")
    conn.execute("CREATE SCHEMA qa_pg")
    yield conn
    conn.execute("DROP SCHEMA IF EXISTS qa_pg CASCADE")
    conn.close()


def _orders_source(mode: dict) -> dict:
    return {
        "name": "shop",
        "type": "postgres",
        "connection": {"conn_id": "qa_postgres"},
        "objects": [
            {
                "name": "qa_pg.orders",
                "ingestion": {
                    "trigger": {"type": "adhoc"},
                    "mode": mode,
                    "target": {"namespace": "qa", "table": "orders"},
                },
            }
        ],
    }


def _create_orders(pg, rows: int) -> None:
    pg.execute(
        "CREATE TABLE qa_pg.orders (id bigint PRIMARY KEY, amount numeric(12,2), note text, "
        "attrs jsonb, ref uuid, placed timestamptz, updated_at timestamp)"
    )
    pg.execute(
        "INSERT INTO qa_pg.orders SELECT g, g * 1.25, 'order ' || g, jsonb_build_object('n', g), "
        "md5(g::text)::uuid, timestamptz '2026-11-01 00:00+00' + g * interval '1 minute', "
        "timestamp '2026-11-01 00:00' + g * interval '1 second' FROM generate_series(1, %s) g",
        (rows,),
    )


def test_full_load_round_trips_types(pg, catalog):
    _create_orders(pg, 1000)
    result = run_pipeline(pipeline_for(_orders_source({"type": "full"})))
    assert result["rows"] == 1000
    table = read_table(catalog, "qa.orders").sort_by("id")
    assert table.num_rows == 1000
    assert table.schema.field("amount").type == __import__("pyarrow").decimal128(12, 2)
    first = table.slice(0, 1).to_pylist()[0]
    assert first["amount"] == decimal.Decimal("1.25")
    assert first["note"] == "order 1"
    assert first["attrs"] == '{"n": 1}'
    assert first["ref"] == "c4ca4238-a0b9-2382-0dcc-509a6f75849b"
    assert first["placed"] == dt.datetime(2026, 11, 1, 0, 1, tzinfo=dt.timezone.utc)
    # A second full load replaces, never duplicates.
    run_pipeline(pipeline_for(_orders_source({"type": "full"})))
    assert read_table(catalog, "qa.orders").num_rows == 1000


def test_incremental_reads_only_rows_past_the_cursor(pg, catalog):
    _create_orders(pg, 100)
    source = _orders_source({"type": "incremental", "cursor": "updated_at"})
    assert run_pipeline(pipeline_for(source))["rows"] == 100
    assert run_pipeline(pipeline_for(source))["committed"] is False
    pg.execute(
        "INSERT INTO qa_pg.orders SELECT g, g, 'late', NULL, NULL, NULL, timestamp '2026-12-01' + g * interval '1 second' "
        "FROM generate_series(101, 130) g"
    )
    assert run_pipeline(pipeline_for(source))["rows"] == 30
    table = read_table(catalog, "qa.orders")
    assert table.num_rows == 130
    assert sorted(table.column("id").to_pylist()) == list(range(1, 131))


def test_missing_column_is_named(pg, catalog):
    _create_orders(pg, 1)
    source = _orders_source({"type": "full"})
    source["objects"][0]["columns"] = ["id", "nope"]
    with pytest.raises(LookupError, match=r"qa_pg.orders: columns \['nope'\] do not exist"):
        run_pipeline(pipeline_for(source))
