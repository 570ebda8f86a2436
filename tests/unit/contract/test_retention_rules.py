"""Which column dates a row for retention, and intents whose retention has none are rejected."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract.validate import check_bytes
from airflow_provider_chimera.contract.retention import AgeColumn, age_column
from tests.helpers import intent_with, pipeline_for

FIELDS = {"fields": [{"name": "id", "type": "long"}, {"name": "ts", "type": "timestamptz"}]}


def _source(mode: dict, source_type: str = "postgres", **target) -> dict:
    obj = {
        "name": "public.events",
        "ingestion": {
            "trigger": {"type": "adhoc"},
            "mode": mode,
            "target": {"namespace": "qa", "table": "events", **target},
            "retention": {"days": 30},
        },
    }
    if source_type == "file":
        obj.update(name="events", path="*.csv", format="csv", schema=FIELDS)
    connection = {"uri": "file:///data"} if source_type == "file" else {"conn_id": "db"}
    return {"name": "src", "type": source_type, "connection": connection, "objects": [obj]}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (_source({"type": "incremental", "cursor": "updated_at"}, kind="mdm", keys=["id"]), AgeColumn("effective_to", "history")),
        (_source({"type": "full"}, kind="reference", keys=["id"]), AgeColumn("valid_to", "history")),
        (
            _source(
                {"type": "incremental", "cursor": "updated_at"},
                partition_by=[{"column": "country"}, {"column": "ts", "transform": "day"}],
            ),
            AgeColumn("ts", "partition_by"),
        ),
        (
            _source({"type": "partitioned", "column": "order_date"}, partition_by=[{"column": "country"}]),
            AgeColumn("order_date", "partitioned mode"),
        ),
        (_source({"type": "incremental", "cursor": "updated_at"}), AgeColumn("updated_at", "cursor")),
        (_source({"type": "full"}), None),
        (_source({"type": "incremental"}, source_type="file"), None),
    ],
)
def test_the_first_rule_that_applies_names_the_column(source, expected):
    obj = source["objects"][0]
    retention = obj["ingestion"].pop("retention")  # a pipeline without retention is built either way
    assert age_column(pipeline_for(source).ingestion) == expected
    obj["ingestion"]["retention"] = retention


def _problems(source: dict) -> list[str]:
    _, problems = check_bytes(json.dumps(intent_with(source)).encode(), "qa_intent.json", stem="qa_intent")
    return [f"{p.path}: {p.message}" for p in problems]


def test_retention_without_a_dating_column_is_rejected_at_its_path():
    assert _problems(_source({"type": "incremental"}, source_type="file")) == [
        "/sources/0/objects/0/ingestion/retention: 'retention' needs a column that dates each row, and this ingestion has none"
    ]
    assert _problems(_source({"type": "full"}, partition_by=[{"column": "id", "transform": "bucket[4]"}])) == [
        "/sources/0/objects/0/ingestion/retention: 'retention' needs a column that dates each row, and this ingestion has none"
    ]


def test_retention_with_a_dating_column_is_accepted():
    assert _problems(_source({"type": "incremental"}, source_type="file", partition_by=[{"column": "ts", "transform": "hour"}])) == []
    assert _problems(_source({"type": "incremental", "cursor": "updated_at"})) == []
