"""Source column types → Arrow types, for the database sources whose drivers need explicit mapping."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_chimera.sources import HOOKS
from airflow_provider_chimera.sources.base import UnsupportedColumnError
from airflow_provider_chimera.sources.kafka import _one_line
from airflow_provider_chimera.sources.mongodb import _plain
from airflow_provider_chimera.sources.mysql import _arrow_type as mysql_type
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
    ],
)
def test_mysql_types(data_type, column_type, precision, scale, expected):
    assert mysql_type("c", data_type, column_type, precision, scale) == expected


def test_mysql_unmappable_type_names_the_column():
    with pytest.raises(UnsupportedColumnError, match="column 'shape': MySQL type 'geometry'"):
        mysql_type("shape", "geometry", "geometry", None, None)


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


def test_snowflake_identifiers_resolve_like_unquoted_names():
    assert resolve_ident("orders") == "ORDERS"
    assert resolve_ident("MixedCase") == "MixedCase"


def test_mongodb_values_convert_to_declared_types():
    import decimal

    from bson import ObjectId

    assert _plain(ObjectId("0" * 23 + "1"), pa.string()) == "0" * 23 + "1"
    assert _plain({"a": [1, 2]}, pa.string()) == '{"a": [1, 2]}'
    assert _plain(19.99, pa.decimal128(10, 2)) == decimal.Decimal("19.99")


def test_kafka_multi_line_json_becomes_one_line():
    assert _one_line(b'{\n  "a": 1\n}') == b'{"a": 1}'
    assert _one_line(None) == b"null"


def test_every_source_type_has_a_hook():
    from typing import get_args

    from airflow_provider_chimera.contract.model import SourceType

    assert set(HOOKS) == set(get_args(SourceType))
