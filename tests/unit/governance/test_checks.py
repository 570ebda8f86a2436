"""Quality checks generated from intents: the automatic ones per target kind, mode and SLA, and the
intent's `quality` items as Soda data contract checks."""

from __future__ import annotations

import copy
import json
import re

import pytest

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.pipelines import pipelines_of
from airflow_provider_chimera.governance.checks import (
    Check,
    Column,
    LoadCounts,
    duckdb_type,
    for_load,
    iceberg_duckdb_type,
    pipeline_checks,
)
from tests.conftest import REPO
from tests.helpers import intent_with, pipeline_for, record_schema, single_object_source


def _canonical() -> dict:
    page = (REPO / "docs" / "intent-contract.md").read_text().split("## Canonical example", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)\n```", page, re.DOTALL).group(1))


def _pipelines(intent: dict) -> dict[str, object]:
    return {p.object.name: p for p in pipelines_of(parse_intent(json.dumps(intent).encode(), "x.json"), "x.json", "h")}


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_an_mdm_target_with_an_sla_gets_schema_row_count_key_and_freshness_checks():
    checks = pipeline_checks(_pipelines(_canonical())["public.customers"])
    assert [(c.name, c.type, c.dataset, c.automatic, c.severity) for c in checks] == [
        ("schema", "schema", "load", True, "fail"),
        ("row_count_reconciles", "row_count", "load", True, "fail"),
        ("key_not_null.id", "missing", "table", True, "fail"),
        ("keys_unique", "duplicate", "table", True, "fail"),
        ("cursor_fresh", "freshness", "table", True, "warn"),
    ]
    schema, _, key, unique, fresh = checks
    # The declared columns (names only: a database table's types are the source's), then the
    # columns an mdm target adds, with their types; columns kept from earlier versions are allowed.
    assert schema.columns == (
        Column("id"), Column("name"), Column("email"), Column("country"), Column("updated_at"),
        Column("effective_from", "timestamp with time zone"), Column("effective_to", "timestamp with time zone"),
        Column("is_current", "boolean"), Column("_chimera_row_hash", "varchar"),
    )
    assert schema.body == {"allow_extra_columns": True, "allow_other_column_order": True}
    assert (key.column, key.body) == ("id", {"filter": '"is_current" IS TRUE'})
    assert unique.body == {"columns": ["id"], "filter": '"is_current" IS TRUE'}
    assert fresh.body == {"column": "updated_at", "threshold": {"unit": "minute", "must_be_less_than_or_equal": 120.0, "level": "warn"}}
    assert (fresh.temporal, fresh.context) == ("updated_at", {"fresh_within": "PT2H"})


def test_a_reference_target_checks_identities_among_live_versions():
    intent = _canonical()
    intent["sources"][0]["objects"][1]["ingestion"]["target"] = {"table": "orders", "kind": "reference", "keys": ["order_id", "line"]}
    checks = _by_name(pipeline_checks(_pipelines(intent)["public.orders"]))
    assert set(checks) == {"schema", "row_count_reconciles", "key_not_null.order_id", "key_not_null.line", "keys_unique"}
    assert checks["key_not_null.line"].body == {"filter": '"valid_to" IS NULL'}
    assert checks["keys_unique"].body == {"columns": ["order_id", "line", "effective_from"], "filter": '"valid_to" IS NULL'}
    assert checks["keys_unique"].reads == ("order_id", "line", "effective_from")


def test_an_append_target_without_declared_columns_is_held_to_the_tables_own():
    checks = pipeline_checks(_pipelines(_canonical())["public.orders"])
    assert [c.name for c in checks] == ["schema", "row_count_reconciles"]  # no sla: no freshness
    assert checks[0].columns == ()
    loaded = for_load(checks, LoadCounts(10, 0, 0), {"order_id": "bigint", "tags": None})
    assert loaded[0].columns == (Column("order_id", "bigint"), Column("tags"))
    assert loaded[0].body == {"allow_extra_columns": False, "allow_other_column_order": True}


def test_declared_schema_fields_are_expected_with_their_types():
    schema = record_schema(["n"], n="long", amount="decimal(12, 2)", at="timestamptz", day="date", raw="json", ok="boolean")
    source = single_object_source("kafka", {"conn_id": "k"}, "t", {"type": "stream"}, "events", schema=schema, columns=["n", "amount", "at"])
    [schema_check, _] = pipeline_checks(pipeline_for(source))
    assert schema_check.columns == (Column("n", "bigint"), Column("amount", "decimal(12,2)"), Column("at", "timestamp with time zone"))
    assert [duckdb_type(t) for t in ("int", "double", "string", "json", "binary", "timestamp")] == [
        "integer", "double", "varchar", "varchar", "blob", "timestamp",
    ]


def test_iceberg_types_as_duckdb_reads_them():
    from pyiceberg import types as t

    assert [iceberg_duckdb_type(k) for k in (t.LongType(), t.StringType(), t.TimestamptzType(), t.DecimalType(10, 3))] == [
        "bigint", "varchar", "timestamp with time zone", "decimal(10,3)",
    ]
    assert iceberg_duckdb_type(t.ListType(1, t.LongType())) is None


def _with_quality(*items: dict, **ingestion) -> list[Check]:
    schema = record_schema(["id"], id="long", amount="double", email="string", ts="timestamp", day="date")
    source = single_object_source("file", {"uri": "file:///x"}, "o", {"type": "incremental"}, "t", path="*.json", format="json", schema=schema)
    source["objects"][0]["ingestion"].update(quality=list(items), **ingestion)
    return [c for c in pipeline_checks(pipeline_for(source)) if not c.automatic]


def test_quality_items_become_soda_checks_of_the_loads_rows():
    checks = _with_quality(
        {"column": "amount", "check": "invalid", "valid_min": 0},
        {"check": "row_count", "must_be_greater_than": 0},
        {"check": "failed_rows", "expression": "amount < 0", "name": "no negative amounts"},
        {"column": "email", "check": "missing"},
        {"check": "duplicate", "columns": ["id", "email"], "metric": "percent", "must_be_less_than": 1},
        {"check": "aggregate", "column": "amount", "function": "avg", "must_be_greater_than_or_equal": 10, "must_be_less_than": 20},
        {"check": "invalid", "column": "email", "valid_regex": "^[^@]+@[^@]+$", "severity": "warn"},
        {"check": "freshness", "column": "day", "fresh_within": "P1D"},
    )
    assert [(c.name, c.type, c.dataset, c.column, c.severity) for c in checks] == [
        ("invalid.amount", "invalid", "load", "amount", "fail"),
        ("row_count", "row_count", "load", None, "fail"),
        ("no negative amounts", "failed_rows", "load", None, "fail"),
        ("missing.email", "missing", "load", "email", "fail"),
        ("duplicate.id+email", "duplicate", "load", None, "fail"),
        ("avg.amount", "aggregate", "load", "amount", "fail"),
        ("invalid.email", "invalid", "load", "email", "warn"),
        ("freshness.day", "freshness", "table", None, "fail"),
    ]
    invalid, rows, failed, missing, duplicate, avg, regex, fresh = (c.body for c in checks)
    assert invalid == {"valid_min": 0.0, "threshold": {"must_be": 0}}
    assert rows == {"threshold": {"must_be_greater_than": 0.0}}
    assert failed == {"expression": "amount < 0", "threshold": {"must_be": 0}}
    assert missing == {"threshold": {"must_be": 0}}
    assert duplicate == {"columns": ["id", "email"], "threshold": {"must_be_less_than": 1.0, "metric": "percent"}}
    assert avg == {"function": "avg", "threshold": {"must_be_between": {"greater_than_or_equal": 10.0, "less_than": 20.0}}}
    assert regex == {"valid_format": {"regex": "^[^@]+@[^@]+$", "name": "valid_regex"}, "threshold": {"must_be": 0, "level": "warn"}}
    assert fresh == {"column": "day", "threshold": {"unit": "minute", "must_be_less_than_or_equal": 1440.0}}
    assert checks[4].reads == ("id", "email")


def test_a_row_count_item_without_bounds_wants_rows_and_names_stay_unique():
    checks = _with_quality({"check": "row_count"}, {"check": "row_count", "severity": "warn"}, {"check": "missing", "column": "id", "missing_values": ["", "n/a"]})
    assert [c.name for c in checks] == ["row_count", "row_count #2", "missing.id"]
    assert checks[1].body == {"threshold": {"must_be_greater_than": 0, "level": "warn"}}
    assert checks[2].body == {"missing_values": ["", "n/a"], "threshold": {"must_be": 0}}


def test_an_unnamed_failed_rows_check_is_called_by_its_expression():
    [check] = _with_quality({"check": "failed_rows", "expression": "amount > 1000000 and email is null"})
    assert check.name == "failed_rows: amount > 1000000 and email is null"


@pytest.mark.parametrize(
    ("tolerance", "threshold"),
    [
        (0.0, {"must_be": 1000}),
        (0.01, {"must_be_between": {"greater_than_or_equal": 990, "less_than_or_equal": 1010}}),
        (0.0001, {"must_be_between": {"greater_than_or_equal": 999, "less_than_or_equal": 1001}}),
    ],
)
def test_the_row_count_of_a_load_reconciles_with_what_was_read(tolerance, threshold):
    checks = pipeline_checks(_pipelines(_canonical())["public.orders"])
    counts = LoadCounts(rows_read=1100, quarantined=60, dropped=40)
    row_count = _by_name(for_load(checks, counts, {}, tolerance))["row_count_reconciles"]
    assert row_count.body == {"threshold": threshold}
    assert row_count.context == {
        "rows_read": 1100, "quarantined": 60, "dropped": 40, "expected": 1000, **({"tolerance": tolerance} if tolerance else {})
    }


def test_an_empty_load_expects_no_rows_even_with_a_tolerance():
    checks = pipeline_checks(_pipelines(_canonical())["public.orders"])
    assert _by_name(for_load(checks, LoadCounts(3, 3, 0), {}, 0.5))["row_count_reconciles"].body == {"threshold": {"must_be": 0}}


def test_the_freshness_of_a_cursor_that_is_no_time_is_not_checked():
    intent = _canonical()
    checks = pipeline_checks(_pipelines(intent)["public.customers"])
    names = lambda columns: [c.name for c in for_load(checks, LoadCounts(1, 0, 0), columns)]
    assert "cursor_fresh" in names({"updated_at": "timestamp"})
    assert "cursor_fresh" in names({"updated_at": "timestamp with time zone"})
    assert "cursor_fresh" not in names({"updated_at": "bigint"})  # a version number


def test_the_row_count_tolerance_is_part_of_the_contract():
    intent = copy.deepcopy(intent_with(single_object_source("postgres", {"conn_id": "pg"}, "public.t", {"type": "full"}, "t")))
    intent["sources"][0]["defaults"] = {"row_count_tolerance": 0.05}
    [pipeline] = _pipelines(intent).values()
    assert pipeline.ingestion.row_count_tolerance == 0.05
    assert pipeline_for(single_object_source("postgres", {"conn_id": "pg"}, "public.t", {"type": "full"}, "t")).ingestion.row_count_tolerance == 0


def test_an_aggregate_of_a_classified_column_keeps_its_value_to_itself():
    checks = _with_quality(
        {"check": "aggregate", "column": "amount", "function": "max", "must_be_less_than": 100},
        {"check": "aggregate", "column": "id", "function": "max", "must_be_less_than": 100},
        classification={"amount": "pii"},
    )
    assert [c.conceal for c in checks] == [True, False]
