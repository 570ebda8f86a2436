"""MariaDB (standing in for MySQL) → Iceberg over TCP against the server `make services` starts."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources.base import UnsupportedColumnError
from tests.helpers import assert_incremental_runs, mysql_uri, pipeline_for, read_table, run_pipeline, single_object_source


@pytest.fixture
def mysql(mysql_tables):
    return mysql_tables("qa_mysql", "qa_orders")


def _source(mode: dict, connection: dict | None = None) -> dict:
    return single_object_source("mysql", connection or {"conn_id": "qa_mysql"}, "qa_orders", mode, "orders")


def _create(cur, first: int, last: int) -> None:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS qa_orders (id BIGINT PRIMARY KEY, qty INT UNSIGNED, amount DECIMAL(12,2), "
        "note VARCHAR(40), attrs JSON, flag TINYINT(1), placed TIMESTAMP NULL, updated_at DATETIME(6), "
        "took TIME, payload BLOB)"
    )
    cur.execute(
        "INSERT INTO qa_orders SELECT seq, seq * 2, seq * 1.25, CONCAT('order ', seq), JSON_OBJECT('n', seq), MOD(seq, 2), "
        "TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq MINUTE, TIMESTAMP '2026-11-01 00:00:00' + INTERVAL seq SECOND, "
        "SEC_TO_TIME(seq), UNHEX('CAFE') FROM seq_{first}_to_{last}".format(first=first, last=last)
    )


def test_full_load_round_trips_types(mysql, catalog):
    _create(mysql, 1, 1000)
    assert run_pipeline(pipeline_for(_source({"type": "full"})))["rows"] == 1000
    table = read_table(catalog, "qa.orders").sort_by("id")
    assert table.num_rows == 1000
    assert table.schema.field("amount").type == pa.decimal128(12, 2)
    assert table.schema.field("qty").type == pa.int64()
    first = table.slice(0, 1).to_pylist()[0]
    assert first["amount"] == decimal.Decimal("1.25")
    assert first["note"] == "order 1"
    assert first["attrs"] == '{"n": 1}'
    assert first["flag"] == 1
    assert first["placed"] == dt.datetime(2026, 11, 1, 0, 1, tzinfo=dt.timezone.utc)
    assert first["updated_at"] == dt.datetime(2026, 11, 1, 0, 0, 1)
    assert first["took"] == "00:00:01"
    assert first["payload"] == b"\xca\xfe"
    # A second full load replaces, never duplicates.
    run_pipeline(pipeline_for(_source({"type": "full"})))
    assert read_table(catalog, "qa.orders").num_rows == 1000


def test_incremental_reads_only_rows_past_the_cursor(mysql, catalog, services, monkeypatch):
    monkeypatch.setenv("QA_MYSQL_PASSWORD", services["CHIMERA_MYSQL_PASSWORD"])
    uri = mysql_uri(services, password="${env:QA_MYSQL_PASSWORD}")
    source = _source({"type": "incremental", "cursor": "updated_at"}, {"uri": uri})
    _create(mysql, 1, 100)
    assert_incremental_runs(source, 100, lambda: _create(mysql, 101, 130), 30)
    ids = read_table(catalog, "qa.orders").column("id").to_pylist()
    assert sorted(ids) == list(range(1, 131))


def test_missing_table_is_named(mysql, catalog):
    with pytest.raises(LookupError, match="qa_orders: table has no columns or does not exist"):
        run_pipeline(pipeline_for(_source({"type": "full"})))


def test_wide_decimals_and_mariadb_uuid_inet_are_read_as_text(mysql_tables, catalog):
    cur = mysql_tables("qa_mysql", "qa_types")
    cur.execute("CREATE TABLE qa_types (id INT, big DECIMAL(50,2), ref UUID, addr INET6, bits BIT(64))")
    cur.execute(
        "INSERT INTO qa_types VALUES (1, 123456789012345678901234567890123456789012345.67, "
        "'c4ca4238-a0b9-2382-0dcc-509a6f75849b', '2001:db8::1', b'101')"
    )
    source = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_types", {"type": "full"}, "types")
    assert run_pipeline(pipeline_for(source))["rows"] == 1
    table = read_table(catalog, "qa.types")
    assert [table.schema.field(c).type for c in ("big", "ref", "addr", "bits")] == [pa.large_string()] * 3 + [pa.int64()]
    assert table.to_pylist() == [
        {
            "id": 1,
            "big": "123456789012345678901234567890123456789012345.67",
            "ref": "c4ca4238-a0b9-2382-0dcc-509a6f75849b",
            "addr": "2001:db8::1",
            "bits": 5,
        }
    ]


def test_unsupported_type_names_the_column(mysql_tables, catalog):
    cur = mysql_tables("qa_mysql", "qa_shapes")
    cur.execute("CREATE TABLE qa_shapes (id INT, shape POINT)")
    source = single_object_source("mysql", {"conn_id": "qa_mysql"}, "qa_shapes", {"type": "full"}, "shapes")
    with pytest.raises(UnsupportedColumnError, match=r"^column 'shape': MySQL type 'point' has no Iceberg mapping$"):
        run_pipeline(pipeline_for(source))
