"""Modes a source or target cannot take are refused by ``chimera intent validate`` (exit 2, file,
JSON path, reason) and by ``discover``, not first at run time."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from airflow_provider_chimera.cli.app import app
from airflow_provider_chimera.pipelines import discover
from tests.helpers import adhoc_ingestion, intent_with, record_schema

MODE = "/sources/0/objects/0/ingestion/mode"
TS = record_schema(id="long", ts="timestamptz", day="date", v="string")


def _file(mode: dict, schema=TS, trigger: dict | None = None, **target) -> dict:
    ingestion = adhoc_ingestion(mode, "events")
    ingestion["target"].update(target)
    if trigger is not None:
        ingestion["trigger"] = trigger
    return {"name": "drop", "type": "file", "connection": {"uri": "file:///tmp/landing"},
            "objects": [{"name": "events", "path": "*.jsonl", "format": "json", "schema": schema, "ingestion": ingestion}]}


def _source(kind: str, mode: dict) -> dict:
    connection = {"postgres": {"uri": "postgresql://reader@db:5432/shop"}, "kafka": {"uri": "kafka://broker:9092"},
                  "pdf": {"uri": "file:///tmp/docs"}}[kind]
    obj = {"name": "public.events" if kind == "postgres" else "events", "ingestion": adhoc_ingestion(mode, "events")}
    if kind == "kafka":
        obj.update(format="json", schema=TS)
    if kind == "pdf":
        obj.update(path="*.pdf")
    return {"name": "src", "type": kind, "connection": connection, "objects": [obj]}


PARTITIONED = {"type": "partitioned", "column": "ts"}
REFUSED = [
    ("stream-on-postgres", _source("postgres", {"type": "stream"}), MODE, "'stream' mode reads Kafka topics; a 'postgres' source takes 'incremental'"),
    ("stream-on-file", _file({"type": "stream"}), MODE, "'stream' mode reads Kafka topics; a 'file' source"),
    ("partitioned-on-kafka", _source("kafka", {"type": "partitioned", "column": "ts"}), MODE, "cannot be read in 'partitioned' mode"),
    ("partitioned-on-pdf", _source("pdf", {"type": "partitioned", "column": "created_at"}), MODE, "a PDF source reads whole documents"),
    ("partitioned-into-mdm", _file({"type": "partitioned", "column": "ts"}, kind="mdm", keys=["id"]), MODE,
     "a 'partitioned' mode replaces rows, a 'mdm' target keeps every version"),
    ("partitioned-into-reference", _file({"type": "partitioned", "column": "ts"}, kind="reference", keys=["id"]), MODE,
     "a 'reference' target keeps every version"),
    ("partition-column-not-declared", _file({"type": "partitioned", "column": "nope"}), f"{MODE}/column",
     "partition column 'nope' is not among the columns read"),
    ("partition-column-not-a-time", _file({"type": "partitioned", "column": "v"}), f"{MODE}/column",
     "partition column 'v' is string; a 'partitioned' mode needs a date or timestamp column"),
    # A partitioned run loads one period; these schedules give their runs none (docs/run-windows.md).
    ("partitioned-once", _file(PARTITIONED, trigger={"type": "timed", "schedule": "@once"}), MODE,
     "a 'partitioned' mode loads one period per run; schedule '@once' runs once, with no period"),
    ("partitioned-continuous", _file(PARTITIONED, trigger={"type": "timed", "schedule": "@continuous"}), MODE,
     "schedule '@continuous' starts each run as the last ends, with no period"),
]
ACCEPTED = [
    ("stream-on-kafka", _source("kafka", {"type": "stream"})),
    ("partitioned-file-on-a-timestamp", _file({"type": "partitioned", "column": "ts"})),
    ("partitioned-file-on-a-date", _file({"type": "partitioned", "column": "day"})),
    ("partitioned-postgres", _source("postgres", {"type": "partitioned", "column": "ts"})),
    # Every other trigger gives a partitioned run a window: schedule, asset event, run conf or run_after.
    ("partitioned-daily", _file(PARTITIONED, trigger={"type": "timed", "schedule": "@daily"})),
    ("partitioned-cron", _file(PARTITIONED, trigger={"type": "timed", "schedule": "0 6 * * *"})),
    ("partitioned-duration", _file(PARTITIONED, trigger={"type": "timed", "schedule": "PT6H"})),
    ("partitioned-on-an-asset", _file(PARTITIONED, trigger={"type": "event", "on": "s3://landing/events"})),
    ("partitioned-on-a-topic", _file(PARTITIONED, trigger={"type": "event", "on": "events.landed"})),
    ("incremental-pdf", _source("pdf", {"type": "incremental"})),
    ("incremental-into-mdm", _file({"type": "incremental", "cursor": "ts"}, kind="mdm", keys=["id"])),
]


def _validate(folder):
    result = CliRunner().invoke(app, ["intent", "validate", "--format", "json", str(folder)], prog_name="chimera")
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip().startswith("[") else result.output


@pytest.mark.parametrize(("source", "path", "reason"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_validate_and_discover_refuse_a_mode_the_source_or_target_cannot_take(tmp_path, source, path, reason):
    file = tmp_path / "qa_intent.json"
    file.write_text(json.dumps(intent_with(source)))
    code, problems = _validate(tmp_path)
    assert code == 2, problems
    assert [(p["file"], p["path"]) for p in problems] == [(str(file), path)], problems
    assert reason in problems[0]["message"]
    found = discover(tmp_path)
    assert found.pipelines == [] and reason in str(found.errors[0])


@pytest.mark.parametrize("source", [case[1] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED])
def test_the_modes_a_source_can_take_are_accepted(tmp_path, source):
    (tmp_path / "qa_intent.json").write_text(json.dumps(intent_with(source)))
    assert _validate(tmp_path)[0] == 0
    assert len(discover(tmp_path).pipelines) == 1
