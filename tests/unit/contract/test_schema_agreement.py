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
    "invalid duration": (
        _edit(f"{CUSTOMERS}/ingestion/sla/fresh_within", "2 hours"),
        f"{CUSTOMERS}/ingestion/sla/fresh_within",
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
    assert _enum(DEFS["source"]["properties"]["type"]) == list(get_args(model.SourceType))
    assert _enum(target["kind"]) == list(get_args(model.TargetKind))
    assert _enum(DEFS["priority"]) == list(get_args(model.Priority))
    assert _enum(DEFS["classification"]["additionalProperties"]) == list(get_args(model.Classification))
    assert _enum(DEFS["object"]["properties"]["format"]) == list(
        get_args(get_args(model.SourceObject.model_fields["format"].annotation)[0])
    )


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
