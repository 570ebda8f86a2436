"""Snowflake → Iceberg: the real Snowflake connector over TCP to fakesnow's server (`make services`)."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pytest

from tests.helpers import assert_incremental_runs, pipeline_for, read_table, run_pipeline, single_object_source


@pytest.fixture
def snowflake(snowflake_schema):
    return snowflake_schema("SHOP", "qa_snowflake", "ORDERS")


def _source(mode: dict, connection: dict | None = None) -> dict:
    return single_object_source("snowflake", connection or {"conn_id": "qa_snowflake"}, "shop.orders", mode, "orders")


def _create(cur, first: int, last: int) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS QA.SHOP.ORDERS (ID NUMBER(38,0), QTY NUMBER(9,0), AMOUNT NUMBER(12,2), NOTE VARCHAR, "
        "ATTRS VARIANT, PAID BOOLEAN, DAY DATE, UPDATED_AT TIMESTAMP_NTZ)"
    )
    cur.execute(
        "INSERT INTO QA.SHOP.ORDERS SELECT g, g * 2, g * 1.25, 'order ' || g, OBJECT_CONSTRUCT('n', g), g % 2 = 0, "
        "DATEADD(day, g, '2026-11-01'::DATE), DATEADD(second, g, '2026-11-01 00:00:00'::TIMESTAMP_NTZ) "
        f"FROM (SELECT SEQ4() + {first} AS g FROM TABLE(GENERATOR(ROWCOUNT => {last - first + 1})))"
    )


def test_full_load_round_trips_types(snowflake, catalog):
    _create(snowflake, 1, 500)
    assert run_pipeline(pipeline_for(_source({"type": "full"})))["rows"] == 500
    table = read_table(catalog, "qa.orders").sort_by("ID")
    assert table.num_rows == 500
    assert table.schema.field("ID").type == pa.decimal128(38, 0)
    assert table.schema.field("QTY").type == pa.int64()
    assert table.schema.field("AMOUNT").type == pa.decimal128(12, 2)
    first = table.slice(0, 1).to_pylist()[0]
    assert first["ID"] == 1
    assert first["AMOUNT"] == decimal.Decimal("1.25")
    assert first["NOTE"] == "order 1"
    assert json.loads(first["ATTRS"]) == {"n": 1}
    assert first["PAID"] is False
    assert first["DAY"] == dt.date(2026, 11, 2)
    assert first["UPDATED_AT"] == dt.datetime(2026, 11, 1, 0, 0, 1)
    run_pipeline(pipeline_for(_source({"type": "full"})))
    assert read_table(catalog, "qa.orders").num_rows == 500


def test_incremental_reads_only_rows_past_the_cursor(snowflake, catalog):
    # fakesnow's host, port and protocol can only come from a platform-owned connection (issue 14, point 5).
    source = _source({"type": "incremental", "cursor": "updated_at"})
    _create(snowflake, 1, 100)
    assert_incremental_runs(source, 100, lambda: _create(snowflake, 101, 120), 20)
    ids = read_table(catalog, "qa.orders").column("ID").to_pylist()
    assert sorted(ids) == list(range(1, 121))


def test_missing_table_is_named(snowflake, catalog):
    with pytest.raises(LookupError, match="shop.orders: cannot be read"):
        run_pipeline(pipeline_for(_source({"type": "full"})))
