"""Source column types → Arrow types, for the database sources whose drivers need explicit mapping."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources import READERS
from airflow_provider_chimera.sources.base import UnsupportedColumnError
from airflow_provider_chimera.sources.kafka import _one_line
from airflow_provider_chimera.sources.mongodb import _plain
from airflow_provider_chimera.sources.mysql import _arrow_type as mysql_type
from airflow_provider_chimera.sources.postgres import _arrow_target as postgres_target
from airflow_provider_chimera.sources.postgres import _plain as postgres_plain
from airflow_provider_chimera.sources.snowflake import _arrow_type as snowflake_type
from airflow_provider_chimera.sources.snowflake import resolve_ident


@pytest.mark.parametrize(
    ("data_type", "column_type", "precision", "scale", "expected"),
    [
        ("int", "int(10) unsigned", 10, 0, pa.int64()),
        ("bigint", "bigint(20) unsigned", 20, 0, pa.decimal128(20, 0)),
        ("decimal", "decimal(12,2)", 12, 2, pa.decimal128(12, 2)),
        ("timestamp", "timestamp", None, None, pa.timestamp("us", tz="UTC")),
        ("datetime", "datetime(6)", None, None, pa.timestamp("us")),
        ("json", "longtext", None, None, pa.string()),
        ("blob", "blob", None, None, pa.binary()),
        ("decimal", "decimal(50,2)", 50, 2, pa.string()),  # beyond decimal128: exact text
        ("uuid", "uuid", None, None, pa.string()),
        ("inet6", "inet6", None, None, pa.string()),
        ("tinyint", "tinyint(1)", 3, 0, pa.int16()),  # BOOLEAN is TINYINT(1): stays a number
    ],
)
def test_mysql_types(data_type, column_type, precision, scale, expected):
    assert mysql_type("c", data_type, column_type, precision, scale) == expected


def test_mysql_unmappable_type_names_the_column():
    with pytest.raises(UnsupportedColumnError, match="column 'shape': MySQL type 'geometry'"):
        mysql_type("shape", "geometry", "geometry", None, None)


@pytest.mark.parametrize(
    ("pg_type", "expected"),
    [
        ("numeric(12,2)", pa.decimal128(12, 2)),
        ("numeric", pa.string()),
        ("numeric(50,2)", pa.string()),
        ("jsonb", pa.string()),
        ("uuid", pa.string()),
        ("time(3) with time zone", pa.string()),
        ("oid", pa.int64()),
        ("numeric(5,2)[]", pa.list_(pa.decimal128(5, 2))),
        ("uuid[]", pa.list_(pa.string())),
        ("integer[]", None),
        ("timestamp(3) with time zone", None),
        ("character varying(10)", None),
    ],
)
def test_postgres_columns_read_as_text(pg_type, expected):
    assert postgres_target(pg_type) == expected


@pytest.mark.parametrize(
    ("adbc_type", "expected"),
    [
        (pa.large_list(pa.large_string()), pa.list_(pa.string())),
        (pa.list_(pa.timestamp("us", tz="UTC")), pa.list_(pa.timestamp("us", tz="UTC"))),
        (pa.large_binary(), pa.binary()),
        (pa.time64("us"), pa.time64("us")),
    ],
)
def test_postgres_adbc_types_kept(adbc_type, expected):
    assert postgres_plain(adbc_type, "c", "t") == expected


@pytest.mark.parametrize(
    "adbc_type",
    [pa.opaque(pa.binary(), "point", "PostgreSQL"), pa.list_(pa.uuid()), pa.month_day_nano_interval(), pa.null()],
)
def test_postgres_unmappable_type_names_the_column(adbc_type):
    with pytest.raises(UnsupportedColumnError, match=r"^column 'odd': PostgreSQL type 'mytype' has no Iceberg mapping; "):
        postgres_plain(adbc_type, "odd", "mytype")


@pytest.mark.parametrize(
    ("type_code", "precision", "scale", "expected"),
    [
        (0, 38, 0, pa.decimal128(38, 0)),
        (0, 9, 0, pa.int64()),
        (0, 12, 2, pa.decimal128(12, 2)),
        (7, 0, 9, pa.timestamp("us", tz="UTC")),
        (5, None, None, pa.string()),
    ],
)
def test_snowflake_types(type_code, precision, scale, expected):
    assert snowflake_type("c", type_code, precision, scale) == expected


@pytest.mark.parametrize(("type_code", "name"), [(14, "GEOGRAPHY"), (16, "VECTOR"), (99, "code 99")])
def test_snowflake_unmappable_type_names_the_column(type_code, name):
    with pytest.raises(UnsupportedColumnError, match=rf"^column 'SHAPE': Snowflake type {name} has no Iceberg mapping$"):
        snowflake_type("SHAPE", type_code, None, None)


def test_snowflake_identifiers_resolve_like_unquoted_names():
    assert resolve_ident("orders") == "ORDERS"
    assert resolve_ident("MixedCase") == "MixedCase"


def test_mongodb_values_convert_to_declared_types():
    import decimal

    from bson import ObjectId

    assert _plain(ObjectId("0" * 23 + "1"), pa.string()) == "0" * 23 + "1"
    assert _plain({"a": [1, 2]}, pa.string()) == '{"a": [1, 2]}'
    assert _plain(19.99, pa.decimal128(10, 2)) == decimal.Decimal("19.99")


def test_mongodb_binary_uuid_declared_string_is_its_canonical_text():
    import uuid

    import bson
    from bson.binary import Binary

    ref = uuid.UUID("c4ca4238-a0b9-2382-0dcc-509a6f75849b")
    stored = bson.decode(bson.encode({"ref": Binary.from_uuid(ref)}))["ref"]  # as pymongo hands it over
    assert _plain(stored, pa.string()) == "c4ca4238-a0b9-2382-0dcc-509a6f75849b"
    assert pa.array([_plain(stored, pa.binary())], pa.binary()).to_pylist() == [ref.bytes]


def test_kafka_multi_line_json_becomes_one_line():
    assert _one_line(b'{\n  "a": 1\n}') == b'{"a": 1}'
    assert _one_line(None) == b""  # no record: rejected with its offset, never read as a row of nulls


def test_every_source_type_has_a_hook():
    from airflow_provider_chimera.contract.model import BUILTIN_SOURCE_TYPES

    assert set(READERS) == set(BUILTIN_SOURCE_TYPES)
