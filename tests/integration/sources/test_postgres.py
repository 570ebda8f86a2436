"""PostgreSQL → Iceberg over TCP against the server `make services` starts."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source


@pytest.fixture
def pg(pg_schema):
    return pg_schema("qa_pg", conn_id="qa_postgres")


def _orders_source(mode: dict) -> dict:
    return single_object_source("postgres", {"conn_id": "qa_postgres"}, "qa_pg.orders", mode, "orders", source_name="shop")


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


def test_missing_column_is_named(pg, catalog):
    _create_orders(pg, 1)
    source = _orders_source({"type": "full"})
    source["objects"][0]["columns"] = ["id", "nope"]
    with pytest.raises(LookupError, match=r"qa_pg.orders: columns \['nope'\] do not exist"):
        run_pipeline(pipeline_for(source))


def _one_row_table(pg, columns: str, values: str) -> dict:
    pg.execute(f"CREATE TABLE qa_pg.kinds (id int, {columns})")
    pg.execute(f"INSERT INTO qa_pg.kinds VALUES (1, {values})")
    return single_object_source("postgres", {"conn_id": "qa_postgres"}, "qa_pg.kinds", {"type": "full"}, "kinds")


def test_arrays_binary_and_text_read_types_round_trip(pg, catalog):
    source = _one_row_table(
        pg,
        "ints int[], texts text[], grid int[][], stamps timestamptz[], amounts numeric(5,2)[], refs uuid[], "
        "blob bytea, big_oid oid, at_time timetz",
        "'{1,NULL,3}', '{a,NULL,c}', '{{1,2},{3,4}}', '{\"2026-01-01 00:00+02\"}', '{1.25,2.5}', "
        "'{c4ca4238-a0b9-2382-0dcc-509a6f75849b}', '\\xcafe', 4000000000, '12:00+02'",
    )
    assert run_pipeline(pipeline_for(source))["rows"] == 1
    run_pipeline(pipeline_for(source))  # a second run writes into the existing list columns
    iceberg = catalog.load_table("qa.kinds").schema()
    assert {f.name: str(f.field_type) for f in iceberg.fields} == {
        "id": "int",
        "ints": "list<int>",
        "texts": "list<string>",
        "grid": "list<int>",
        "stamps": "list<timestamptz>",
        "amounts": "list<decimal(5, 2)>",
        "refs": "list<string>",
        "blob": "binary",
        "big_oid": "long",
        "at_time": "string",
    }
    assert read_table(catalog, "qa.kinds").to_pylist() == [
        {
            "id": 1,
            "ints": [1, None, 3],
            "texts": ["a", None, "c"],
            "grid": [1, 2, 3, 4],  # ADBC flattens multi-dimensional arrays
            "stamps": [dt.datetime(2025, 12, 31, 22, 0, tzinfo=dt.timezone.utc)],
            "amounts": [decimal.Decimal("1.25"), decimal.Decimal("2.50")],
            "refs": ["c4ca4238-a0b9-2382-0dcc-509a6f75849b"],
            "blob": b"\xca\xfe",
            "big_oid": 4000000000,
            "at_time": "12:00:00+02",
        }
    ]


@pytest.mark.parametrize(("pg_type", "value"), [("point", "'(1,2)'"), ("tsvector", "'a fat cat'"), ("int4range", "'[1,5)'")])
def test_unsupported_type_names_the_column_before_reading(pg, catalog, pg_type, value):
    from airflow_provider_chimera.sources.base import UnsupportedColumnError

    source = _one_row_table(pg, f"odd {pg_type}", value)
    with pytest.raises(
        UnsupportedColumnError,
        match=rf"^column 'odd': PostgreSQL type '{pg_type}' has no Iceberg mapping; select it through a view",
    ):
        run_pipeline(pipeline_for(source))
    assert not catalog.table_exists("qa.kinds")


def test_user_defined_types_are_read_over_a_connection_that_knows_them(pg, catalog):
    """A run's connection knows PostgreSQL's own types only (it starts faster); a table with an
    enum, a domain or an array of an enum is read over one that loads the server's types."""
    pg.execute("CREATE TYPE qa_pg.mood AS ENUM ('sad', 'happy')")
    pg.execute("CREATE DOMAIN qa_pg.positive AS integer CHECK (VALUE > 0)")
    source = _one_row_table(pg, "mood qa_pg.mood, moods qa_pg.mood[], size qa_pg.positive", "'happy', '{sad,happy}', 3")
    assert run_pipeline(pipeline_for(source))["rows"] == 1
    assert read_table(catalog, "qa.kinds").to_pylist() == [{"id": 1, "mood": "happy", "moods": ["sad", "happy"], "size": 3}]


def test_a_table_of_builtin_types_is_read_over_a_connection_of_builtin_types(pg, catalog, monkeypatch):
    from airflow_provider_chimera.sources.postgres import PostgresReader

    opened = []
    connect = PostgresReader.connect

    def recording(self, *, builtin_types=False):
        opened.append(builtin_types)
        return connect(self, builtin_types=builtin_types)

    monkeypatch.setattr(PostgresReader, "connect", recording)  # a spy: the real connection is opened
    _create_orders(pg, 3)
    assert run_pipeline(pipeline_for(_orders_source({"type": "incremental", "cursor": "updated_at"})))["rows"] == 3
    assert run_pipeline(pipeline_for(_orders_source({"type": "incremental", "cursor": "updated_at"})))["committed"] is False
    assert opened == [True, True]  # one connection per run, planning and reading
