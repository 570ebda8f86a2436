"""JSON records with dates as ISO strings and ``json`` fields holding objects, from files and Kafka."""

from __future__ import annotations

import datetime as dt
import json

from airflow_provider_chimera.contract.model import ObjectSchema
from airflow_provider_chimera.sources.jsonrows import JsonRows
from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source

SCHEMA = {
    "fields": [
        {"name": "id", "type": "long", "nullable": False},
        {"name": "day", "type": "date"},
        {"name": "payload", "type": "json"},
    ]
}
RECORDS = [
    {"id": 1, "day": "2026-11-01", "payload": {"a": [1, 2]}},
    {"id": 2, "day": None, "payload": "already text"},
    {"id": 3, "day": "2026-11-03", "payload": None},
]


def test_dates_from_strings_and_objects_as_json_text():
    rows = JsonRows.of(ObjectSchema.model_validate(SCHEMA)).read(b"\n".join(json.dumps(r).encode() for r in RECORDS))
    assert rows.to_pylist() == [
        {"id": 1, "day": dt.date(2026, 11, 1), "payload": '{"a":[1,2]}'},
        {"id": 2, "day": None, "payload": "already text"},
        {"id": 3, "day": dt.date(2026, 11, 3), "payload": None},
    ]


def test_json_lines_file_with_nested_payloads(tmp_path, catalog):
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    source = single_object_source("file", {"uri": f"file://{tmp_path}"}, "things", {"type": "full"}, "things", path="*.jsonl", format="json", schema=SCHEMA)
    assert run_pipeline(pipeline_for(source))["rows"] == 3
    rows = read_table(catalog, "qa.things").sort_by("id").to_pylist()
    assert rows[0] == {"id": 1, "day": dt.date(2026, 11, 1), "payload": '{"a":[1,2]}'}


def test_json_file_without_json_fields_still_takes_date_strings(tmp_path, catalog):
    schema = {"fields": SCHEMA["fields"][:2]}
    (tmp_path / "a.jsonl").write_text('{"id": 1, "day": "2026-11-01"}\n')
    source = single_object_source("file", {"uri": f"file://{tmp_path}"}, "things", {"type": "full"}, "things", path="*.jsonl", format="json", schema=schema)
    run_pipeline(pipeline_for(source))
    assert read_table(catalog, "qa.things").to_pylist() == [{"id": 1, "day": dt.date(2026, 11, 1)}]
