"""The intent model: the canonical example validates, the first rejection rules name their path."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from airflow_provider_chimera.contract import IntentError, load_intent, parse_intent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "intents"
CANONICAL = json.loads((FIXTURES / "sales_crm.json").read_text())


def _problems(data: dict, stem: str = "sales_crm") -> list[str]:
    with pytest.raises(IntentError) as info:
        parse_intent(json.dumps(data).encode(), f"intents/{stem}.json", stem=stem)
    return [str(p) for p in info.value.problems]


def test_canonical_example_validates():
    intent = load_intent(FIXTURES / "sales_crm.json").intent
    assert [s.name for s in intent.sources] == ["crm", "clicks", "contracts"]
    assert intent.sources[0].objects[0].ingestion.target.keys == ["id"]


def test_shipped_sample_intents_validate():
    for path in (Path(__file__).resolve().parents[3] / "intents").glob("*.json"):
        assert load_intent(path).intent.name == path.stem


def test_name_must_equal_file_stem():
    assert _problems(CANONICAL, stem="other") == [
        "intents/other.json: /name: name 'sales_crm' must equal the file stem 'other'"
        ' (rename the file to sales_crm.json, or set "name": "other")'
    ]


def test_inline_password_in_uri_is_rejected():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["connection"] = {"uri": "postgresql://app:hunter2@db:5432/crm"}
    problems = _problems(data)
    assert len(problems) == 1
    assert problems[0].startswith("intents/sales_crm.json: /sources/0/connection/uri: ")
    assert "literal password" in problems[0]
    assert "hunter2" not in problems[0]


def test_placeholder_password_in_uri_is_accepted():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["connection"] = {"uri": "postgresql://app:${secret:crm_password}@db:5432/crm"}
    parse_intent(json.dumps(data).encode(), "intents/sales_crm.json", stem="sales_crm")


def test_kafka_object_without_schema_is_rejected():
    data = copy.deepcopy(CANONICAL)
    del data["sources"][1]["objects"][0]["schema"]
    assert any("/sources/1" in p and "needs a 'schema'" in p for p in _problems(data))


def test_mdm_target_without_keys_is_rejected():
    data = copy.deepcopy(CANONICAL)
    del data["sources"][0]["objects"][0]["ingestion"]["target"]["keys"]
    assert any("/sources/0/objects/0/ingestion/target" in p and "needs 'keys'" in p for p in _problems(data))


def test_incremental_without_cursor_is_rejected_for_databases():
    data = copy.deepcopy(CANONICAL)
    del data["sources"][0]["objects"][1]["ingestion"]["mode"]["cursor"]
    assert any("'incremental' mode needs a 'cursor'" in p for p in _problems(data))


def test_unknown_source_type_names_the_field():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["type"] = "oracle"
    assert any(p.startswith("intents/sales_crm.json: /sources/0/type: ") for p in _problems(data))


@pytest.mark.parametrize("declared", ["decimal(50,2)", "decimal(5,9)", "decimal(0,0)"])
def test_decimal_beyond_iceberg_is_rejected_at_the_field(declared):
    data = copy.deepcopy(CANONICAL)
    data["sources"][1]["objects"][0]["schema"]["fields"][0]["type"] = declared
    problems = [p for p in _problems(data) if "decimal" in p]
    assert len(problems) == 1
    assert problems[0].startswith(
        f"intents/sales_crm.json: /sources/1/objects/0/schema/fields/0/type: field type '{declared}': "
        "a decimal's precision is 1 to 38 and its scale at most its precision"
    )


def test_source_defaults_fill_object_ingestion():
    data = copy.deepcopy(CANONICAL)
    source = data["sources"][0]
    source["defaults"] = {"priority": "critical", "trigger": {"type": "adhoc"}}
    del source["objects"][1]["ingestion"]["trigger"]
    intent = parse_intent(json.dumps(data).encode(), "intents/sales_crm.json", stem="sales_crm")
    orders = intent.sources[0].objects[1].ingestion
    assert orders.trigger.type == "adhoc"
    assert orders.priority == "critical"
    assert intent.sources[0].objects[0].ingestion.priority == "high"  # the object's own value wins


def test_invalid_json_names_line_and_column():
    with pytest.raises(IntentError, match=r"intents/x.json: /: not valid JSON: .* line 1 column 2"):
        parse_intent(b"{,}", "intents/x.json", stem="x")


def test_a_classified_column_the_object_does_not_have_is_rejected_at_its_path():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["objects"][0]["ingestion"]["classification"]["phone"] = "pii"
    assert _problems(data) == [
        "intents/sales_crm.json: /sources/0/objects/0/ingestion/classification/phone: column 'phone' is classified, "
        "but the object has no such column (its columns: id, name, email, country, updated_at) "
        '(classify only columns the object has (its "columns" or "schema" fields); check the spelling)'
    ]


def test_a_pii_cursor_is_rejected_because_its_value_is_the_recorded_position():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["objects"][0]["ingestion"]["classification"]["updated_at"] = "pii"
    (problem,) = _problems(data)
    assert problem.startswith(
        "intents/sales_crm.json: /sources/0/objects/0/ingestion/classification/updated_at: the cursor column "
        "'updated_at' cannot be classified 'pii': its last value is the pipeline's recorded read position"
    )


def test_a_classification_from_source_defaults_applies_where_the_column_exists():
    data = copy.deepcopy(CANONICAL)
    source = data["sources"][0]
    source["defaults"] = {"classification": {"phone": "pii"}}
    del source["objects"][0]["ingestion"]["classification"]
    intent = parse_intent(json.dumps(data).encode(), "intents/sales_crm.json", stem="sales_crm")
    # customers lists its columns and has no phone: the default applies to objects that have one
    assert intent.sources[0].objects[0].ingestion.classification == {"phone": "pii"}


@pytest.mark.parametrize("value", [-0.1, 1.01, True, "0.1"])
def test_quarantine_threshold_is_a_fraction(value):
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["objects"][1]["ingestion"]["quarantine_threshold"] = value
    (problem,) = _problems(data)
    assert problem.startswith("intents/sales_crm.json: /sources/0/objects/1/ingestion/quarantine_threshold: ")


def test_quarantine_threshold_defaults_to_zero_and_comes_from_source_defaults():
    data = copy.deepcopy(CANONICAL)
    data["sources"][0]["defaults"] = {"quarantine_threshold": 0.05}
    data["sources"][0]["objects"][0]["ingestion"]["quarantine_threshold"] = 1
    intent = parse_intent(json.dumps(data).encode(), "intents/sales_crm.json", stem="sales_crm")
    customers, orders = (obj.ingestion.quarantine_threshold for obj in intent.sources[0].objects)
    assert (customers, orders) == (1.0, 0.05)
    assert intent.sources[1].objects[0].ingestion.quarantine_threshold == 0.0
