"""The shipped JSON Schema and the Pydantic model agree: same intents accepted, same ones rejected."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import get_args

import pytest
from jsonschema import Draft202012Validator

from airflow_provider_chimera.contract import model
from airflow_provider_chimera.contract.load import model_problems
from airflow_provider_chimera.contract.schema import intent_schema, schema_problems

REPO = Path(__file__).resolve().parents[3]
SCHEMA = intent_schema()
DEFS = SCHEMA["$defs"]


def _canonical() -> dict:
    page = (REPO / "docs" / "intent-contract.md").read_text()
    example = page.split("## Canonical example", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)\n```", example, re.S).group(1))


CANONICAL = _canonical()
SAMPLES = {
    **{f"intents/{p.name}": json.loads(p.read_text()) for p in sorted((REPO / "intents").glob("*.json"))},
    **{
        f"fixtures/{p.name}": json.loads(p.read_text())
        for p in sorted((REPO / "tests/fixtures/intents").glob("*.json"))
    },
    "contract page": CANONICAL,
}


def _verdicts(data: dict) -> tuple[list[str], list[str]]:
    """The problem paths of the schema and of the model."""
    return [p.path for p in schema_problems("x.json", data)], [p.path for p in model_problems("x.json", data)[1]]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_there_are_samples_from_every_place():
    assert {key.split("/")[0] for key in SAMPLES} == {"intents", "fixtures", "contract page"}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_both_accept_every_sample_intent(name):
    assert _verdicts(SAMPLES[name]) == ([], [])


def _edit(path: str, value=None, delete: bool = False):
    """An edit of the canonical example at a JSON pointer."""

    def apply(data: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.strip("/").split("/")]
        node = data
        for part in parents:
            node = node[part]
        if delete:
            del node[last]
        else:
            node[last] = value

    return apply


CUSTOMERS = "/sources/0/objects/0"
ORDERS = "/sources/0/objects/1"
CLICKS = "/sources/1/objects/0"

# Schema-expressible rejections: (edit, the JSON path both must name).
REJECTED = {
    "missing team": (_edit("/team", delete=True), "/team"),
    "kafka object in csv": (_edit(f"{CLICKS}/format", "csv"), f"{CLICKS}/format"),
    "support email not an email": (_edit("/team/support_email", "sales-data"), "/team/support_email"),
    "missing declaration": (_edit("/declaration", delete=True), "/declaration"),
    "missing declared_by": (_edit("/declaration/declared_by", delete=True), "/declaration/declared_by"),
    "name not lower case": (_edit("/name", "Sales_CRM"), "/name"),
    "source name not lower case": (_edit("/sources/0/name", "CRM"), "/sources/0/name"),
    "contract version 2": (_edit("/version", 2), "/version"),
    "no sources": (_edit("/sources", []), "/sources"),
    "unknown top-level field": (_edit("/owner", "me"), "/owner"),
    "literal password in uri": (
        _edit("/sources/0/connection", {"uri": "postgresql://app:pw@db/crm"}),
        "/sources/0/connection/uri",
    ),
    "literal token in uri": (
        _edit("/sources/0/connection", {"uri": "https://h/x?TOKEN=abc"}),
        "/sources/0/connection/uri",
    ),
    "conn_id and uri together": (
        _edit("/sources/0/connection", {"conn_id": "a", "uri": "file:///x"}),
        "/sources/0/connection",
    ),
    "empty connection": (_edit("/sources/0/connection", {}), "/sources/0/connection"),
    "unknown source type": (_edit("/sources/0/type", "oracle"), "/sources/0/type"),
    "objects neither all nor a list": (_edit("/sources/0/objects", "some"), "/sources/0/objects"),
    "kafka object without schema": (_edit(f"{CLICKS}/schema", delete=True), f"{CLICKS}/schema"),
    "schema without fields": (_edit(f"{CLICKS}/schema/fields", []), f"{CLICKS}/schema/fields"),
    "unknown field type": (_edit(f"{CLICKS}/schema/fields/0/type", "varchar"), f"{CLICKS}/schema/fields/0/type"),
    "empty columns": (_edit(f"{CUSTOMERS}/columns", []), f"{CUSTOMERS}/columns"),
    "mdm without keys": (
        _edit(f"{CUSTOMERS}/ingestion/target/keys", delete=True),
        f"{CUSTOMERS}/ingestion/target/keys",
    ),
    "mdm with empty keys": (_edit(f"{CUSTOMERS}/ingestion/target/keys", []), f"{CUSTOMERS}/ingestion/target/keys"),
    "reference without keys": (
        _edit(f"{ORDERS}/ingestion/target", {"table": "orders", "kind": "reference"}),
        f"{ORDERS}/ingestion/target/keys",
    ),
    "upper-case namespace": (_edit(f"{ORDERS}/ingestion/target/namespace", "Sales"), f"{ORDERS}/ingestion/target/namespace"),
    "table with a dash": (_edit(f"{ORDERS}/ingestion/target/table", "or-ders"), f"{ORDERS}/ingestion/target/table"),
    "quarantine table": (
        _edit(f"{ORDERS}/ingestion/target/table", "orders__quarantine"),
        f"{ORDERS}/ingestion/target/table",
    ),
    "project with a space": (_edit("/project", "my project"), "/project"),
    "project longer than a tag": (_edit("/project", "p" * 101), "/project"),
    "intent name too long": (_edit("/name", "n" * 201), "/name"),
    "unknown target kind": (_edit(f"{ORDERS}/ingestion/target/kind", "scd2"), f"{ORDERS}/ingestion/target/kind"),
    "target without table": (
        _edit(f"{ORDERS}/ingestion/target/table", delete=True),
        f"{ORDERS}/ingestion/target/table",
    ),
    "unknown partition transform": (
        _edit(f"{ORDERS}/ingestion/target/partition_by/0/transform", "days"),
        f"{ORDERS}/ingestion/target/partition_by/0/transform",
    ),
    "incremental without cursor": (
        _edit(f"{ORDERS}/ingestion/mode/cursor", delete=True),
        f"{ORDERS}/ingestion/mode/cursor",
    ),
    "partitioned without column": (
        _edit(f"{ORDERS}/ingestion/mode", {"type": "partitioned"}),
        f"{ORDERS}/ingestion/mode/column",
    ),
    "unknown mode": (_edit(f"{ORDERS}/ingestion/mode", {"type": "cdc"}), f"{ORDERS}/ingestion/mode/type"),
    "unknown trigger": (_edit(f"{ORDERS}/ingestion/trigger", {"type": "weekly"}), f"{ORDERS}/ingestion/trigger/type"),
    "timed without schedule": (
        _edit(f"{ORDERS}/ingestion/trigger", {"type": "timed"}),
        f"{ORDERS}/ingestion/trigger/schedule",
    ),
    "event without on": (_edit(f"{CLICKS}/ingestion/trigger", {"type": "event"}), f"{CLICKS}/ingestion/trigger/on"),
    "adhoc with a schedule": (
        _edit(f"{ORDERS}/ingestion/trigger", {"type": "adhoc", "schedule": "@daily"}),
        f"{ORDERS}/ingestion/trigger/schedule",
    ),
    "unknown priority": (_edit(f"{CUSTOMERS}/ingestion/priority", "urgent"), f"{CUSTOMERS}/ingestion/priority"),
    "quarantine threshold above 1": (
        _edit(f"{CUSTOMERS}/ingestion/quarantine_threshold", 1.5),
        f"{CUSTOMERS}/ingestion/quarantine_threshold",
    ),
    "quarantine threshold as text": (
        _edit(f"{ORDERS}/ingestion/quarantine_threshold", "0.1"),
        f"{ORDERS}/ingestion/quarantine_threshold",
    ),
    "unknown classification": (
        _edit(f"{CUSTOMERS}/ingestion/classification/email", "confidential"),
        f"{CUSTOMERS}/ingestion/classification/email",
    ),
    "retention of zero days": (
        _edit(f"{CUSTOMERS}/ingestion/retention", {"days": 0}),
        f"{CUSTOMERS}/ingestion/retention/days",
    ),
    "sla without fresh_within": (
        _edit(f"{CUSTOMERS}/ingestion/sla", {"warn_after": "PT1H"}),
        f"{CUSTOMERS}/ingestion/sla/fresh_within",
    ),
    "dedup without keys": (_edit(f"{ORDERS}/ingestion/dedup/keys", []), f"{ORDERS}/ingestion/dedup/keys"),
    "unknown schema evolution": (
        _edit(f"{ORDERS}/ingestion/schema_evolution", "ignore"),
        f"{ORDERS}/ingestion/schema_evolution",
    ),
    "ingestion without mode": (_edit(f"{ORDERS}/ingestion/mode", delete=True), f"{ORDERS}/ingestion/mode"),
    "unknown field in defaults": (
        _edit("/sources/0/defaults", {"target": {"tabel": "x"}}),
        "/sources/0/defaults/target/tabel",
    ),
    "quality not a list": (_edit(f"{ORDERS}/ingestion/quality", {"check": "row_count"}), f"{ORDERS}/ingestion/quality"),
    "quality item without check": (_edit(f"{ORDERS}/ingestion/quality", [{"column": "id"}]), f"{ORDERS}/ingestion/quality/0/check"),
    "unknown quality check": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "unique", "column": "id"}]),
        f"{ORDERS}/ingestion/quality/0/check",
    ),
    "quality check without its column": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "missing"}]),
        f"{ORDERS}/ingestion/quality/0/column",
    ),
    "failed_rows without expression": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count"}, {"check": "failed_rows", "name": "x"}]),
        f"{ORDERS}/ingestion/quality/1/expression",
    ),
    "unknown field of a quality check": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "valid_min": 0}]),
        f"{ORDERS}/ingestion/quality/0/valid_min",
    ),
    "quality bound as text": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "must_be_greater_than": "0"}]),
        f"{ORDERS}/ingestion/quality/0/must_be_greater_than",
    ),
    "quality bound true": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "must_be": True}]),
        f"{ORDERS}/ingestion/quality/0/must_be",
    ),
    "must_be with another bound": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "must_be": 1, "must_be_less_than": 5}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "two lower bounds": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "must_be_greater_than": 1, "must_be_greater_than_or_equal": 2}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "invalid check saying nothing valid": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "invalid", "column": "id"}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "duplicate check with column and columns": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "duplicate", "column": "id", "columns": ["id"]}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "aggregate check without bound": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "aggregate", "column": "amount", "function": "avg"}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "unknown aggregate function": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "aggregate", "column": "amount", "function": "median", "must_be": 1}]),
        f"{ORDERS}/ingestion/quality/0/function",
    ),
    "unknown severity": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "severity": "error"}]),
        f"{ORDERS}/ingestion/quality/0/severity",
    ),
    "negative valid length": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "invalid", "column": "id", "valid_min_length": -1}]),
        f"{ORDERS}/ingestion/quality/0/valid_min_length",
    ),
    "freshness without fresh_within": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "freshness", "column": "updated_at"}]),
        f"{ORDERS}/ingestion/quality/0/fresh_within",
    ),
    "bad quality item in defaults": (
        _edit("/sources/0/defaults", {"quality": [{"check": "missing"}]}),
        "/sources/0/defaults/quality/0/column",
    ),
    "row count tolerance above 1": (
        _edit(f"{ORDERS}/ingestion/row_count_tolerance", 1.5),
        f"{ORDERS}/ingestion/row_count_tolerance",
    ),
    "row count tolerance as text": (
        _edit(f"{ORDERS}/ingestion/row_count_tolerance", "0.1"),
        f"{ORDERS}/ingestion/row_count_tolerance",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_both_reject_and_name_the_same_path(case):
    edit, path = REJECTED[case]
    data = copy.deepcopy(CANONICAL)
    edit(data)
    schema_paths, model_paths = _verdicts(data)
    assert schema_paths == [path]
    assert model_paths == [path]


# Accepted by both: the rules' exceptions.
ACCEPTED = {
    "kafka, file and pdf incremental without cursor": _edit(
        "/sources/2/objects/0/ingestion/mode", {"type": "incremental"}
    ),
    "placeholder password in uri": _edit("/sources/0/connection", {"uri": "postgresql://app:${secret:crm}@db/crm"}),
    "placeholder token in uri": _edit("/sources/0/connection", {"uri": "https://h/x?token=${env:API_TOKEN}"}),
    "objects all": _edit("/sources/0/objects", "all"),
    "object without ingestion": _edit(f"{ORDERS}/ingestion", delete=True),
    "defaults completing the objects": lambda d: (
        d["sources"][0].update(
            defaults={"trigger": {"type": "adhoc"}, "target": {"namespace": "sales", "kind": "mdm", "keys": ["id"]}}
        ),
        d["sources"][0]["objects"][0]["ingestion"].pop("trigger"),
        d["sources"][0]["objects"][0]["ingestion"]["target"].pop("keys"),
    ),
    "bucket transform": _edit(f"{ORDERS}/ingestion/target/partition_by/0/transform", "bucket[16]"),
    "quality checks of every kind": _edit(
        f"{CUSTOMERS}/ingestion/quality",
        [
            {"column": "email", "check": "missing", "metric": "percent", "must_be_less_than": 5},
            {"column": "country", "check": "invalid", "valid_values": ["DE", "FR"], "severity": "warn"},
            {"check": "duplicate", "columns": ["name", "email"]},
            {"check": "row_count", "must_be_greater_than": 0},
            {"check": "failed_rows", "expression": "amount < 0", "name": "no negative amounts"},
            {"check": "aggregate", "column": "id", "function": "max", "must_be_greater_than_or_equal": 1, "must_be_less_than": 1e9},
            {"check": "freshness", "column": "updated_at", "fresh_within": "P1D"},
            {"check": "missing", "column": "is_current"},
        ],
    ),
    "quality and a row count tolerance from the defaults": lambda d: d["sources"][0].update(
        defaults={"quality": [{"check": "missing", "column": "id"}], "row_count_tolerance": 0.01}
    ),
    "quality on a database table without declared columns": _edit(
        f"{ORDERS}/ingestion/quality", [{"check": "invalid", "column": "amount", "valid_min": 0}]
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_both_accept_the_exceptions(case):
    data = copy.deepcopy(CANONICAL)
    ACCEPTED[case](data)
    assert _verdicts(data) == ([], [])


# Rules no JSON Schema can express: the schema accepts, the model (and `chimera intent validate`) rejects.
BEYOND_THE_SCHEMA = {
    "duplicate source name": (_edit("/sources/1/name", "crm"), "/sources/1/name"),
    "duplicate object name": (_edit(f"{ORDERS}/name", "public.customers"), f"{ORDERS}/name"),
    "invalid cron expression": (
        _edit(f"{ORDERS}/ingestion/trigger/schedule", "61 * * * *"),
        f"{ORDERS}/ingestion/trigger/schedule",
    ),
    "unknown preset": (
        _edit(f"{ORDERS}/ingestion/trigger/schedule", "@midnight"),
        f"{ORDERS}/ingestion/trigger/schedule",
    ),
    "classified column the object does not have": (
        _edit(f"{CUSTOMERS}/ingestion/classification/phone", "pii"),
        f"{CUSTOMERS}/ingestion/classification/phone",
    ),
    "classified cursor": (
        _edit(f"{CUSTOMERS}/ingestion/classification/updated_at", "secret"),
        f"{CUSTOMERS}/ingestion/classification/updated_at",
    ),
    "invalid duration": (
        _edit(f"{CUSTOMERS}/ingestion/sla/fresh_within", "2 hours"),
        f"{CUSTOMERS}/ingestion/sla/fresh_within",
    ),
    "quality check on a column the object does not have": (
        _edit(f"{CUSTOMERS}/ingestion/quality", [{"check": "row_count"}, {"check": "missing", "column": "phone"}]),
        f"{CUSTOMERS}/ingestion/quality/1/column",
    ),
    "quality check on a column the schema does not declare": (
        _edit(f"{CLICKS}/ingestion/quality", [{"check": "duplicate", "columns": ["user_id", "uri"]}]),
        f"{CLICKS}/ingestion/quality/0/columns/1",
    ),
    "quality columns from the defaults": (
        lambda d: d["sources"][0].update(defaults={"quality": [{"check": "missing", "column": "phone"}]}),
        "/sources/0/defaults/quality/0/column",
    ),
    "lower bound not below the upper": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "row_count", "must_be_greater_than": 5, "must_be_less_than": 5}]),
        f"{ORDERS}/ingestion/quality/0",
    ),
    "quality freshness with an invalid duration": (
        _edit(f"{ORDERS}/ingestion/quality", [{"check": "freshness", "column": "updated_at", "fresh_within": "1 day"}]),
        f"{ORDERS}/ingestion/quality/0/fresh_within",
    ),
}


@pytest.mark.parametrize("case", sorted(BEYOND_THE_SCHEMA))
def test_rules_beyond_the_schema_are_the_models(case):
    edit, path = BEYOND_THE_SCHEMA[case]
    data = copy.deepcopy(CANONICAL)
    edit(data)
    assert _verdicts(data) == ([], [path])


def _enum(schema: dict) -> list:
    return schema["enum"]


def test_names_patterns_and_choices_are_the_same():
    assert DEFS["name"]["pattern"] == model.NAME_PATTERN
    assert (
        DEFS["objectSchema"]["properties"]["fields"]["items"]["properties"]["type"]["pattern"]
        == model.FIELD_TYPE_PATTERN.pattern
    )
    assert [p["pattern"] for p in DEFS["connection"]["properties"]["uri"]["not"]["anyOf"]] == [
        model.INLINE_SECRET_PATTERN,
        model.SECRET_QUERY_PATTERN,
    ]
    target = DEFS["targetFields"]["properties"]
    assert target["partition_by"]["items"]["properties"]["transform"]["pattern"] == model.TRANSFORM_PATTERN
    assert _enum(DEFS["source"]["properties"]["type"]) == list(model.BUILTIN_SOURCE_TYPES)
    assert _enum(target["kind"]) == list(get_args(model.TargetKind))
    assert _enum(DEFS["priority"]) == list(get_args(model.Priority))
    assert _enum(DEFS["classification"]["additionalProperties"]) == list(get_args(model.Classification))
    assert _enum(DEFS["object"]["properties"]["format"]) == list(
        get_args(get_args(model.SourceObject.model_fields["format"].annotation)[0])
    )


def test_every_quality_check_has_the_same_fields_in_the_schema_and_the_model():
    by_check = {
        rule["if"]["properties"]["check"]["const"]: rule["then"] for rule in DEFS["qualityCheck"]["allOf"]
    }
    assert list(by_check) == list(model.QUALITY_CHECK_TYPES) == _enum(DEFS["qualityCheck"]["properties"]["check"])
    for cls in get_args(get_args(model.QualityCheck)[0]):
        check = get_args(cls.model_fields["check"].annotation)[0]
        assert set(by_check[check]["properties"]) == set(cls.model_fields), check
        assert by_check[check]["additionalProperties"] is False, check
    assert DEFS["rowCountTolerance"]["minimum"] == 0 and DEFS["rowCountTolerance"]["maximum"] == 1


def test_every_model_field_is_in_the_schema_and_back():
    """Field names match block by block (the schema allows no other fields anywhere)."""
    pairs = {
        "top level": (SCHEMA, model.Intent),
        "team": (DEFS["team"], model.Team),
        "declaration": (DEFS["declaration"], model.Declaration),
        "connection": (DEFS["connection"], model.Connection),
        "source": (DEFS["source"], model.Source),
        "object": (DEFS["object"], model.SourceObject),
        "ingestion": (DEFS["ingestion"], model.Ingestion),
        "defaults": (DEFS["ingestionDefaults"], model.IngestionDefaults),
        "target": (DEFS["targetFields"], model.Target),
        "defaults target": (DEFS["targetFields"], model.TargetDefaults),
        "dedup": (DEFS["dedup"], model.Dedup),
        "sla": (DEFS["sla"], model.Sla),
        "retention": (DEFS["retention"], model.Retention),
    }
    for block, (schema, cls) in pairs.items():
        names = {f.alias or name for name, f in cls.model_fields.items()}
        assert set(schema["properties"]) == names, block
        assert schema["additionalProperties"] is False, block
