"""Helpers for tests: build pipelines from intent snippets and run them without a scheduler."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.factory.pipelines import Pipeline, pipelines_of

TEAM = {"name": "qa", "support_email": "qa@example.com"}
DECLARATION = {"declared_by": "qa", "statement": "test data", "declared_at": "2026-11-24"}


def intent_with(source: dict[str, Any], name: str = "qa_intent") -> dict[str, Any]:
    return {"version": 1, "name": name, "team": TEAM, "project": "qa", "declaration": DECLARATION, "sources": [source]}


def pipeline_for(source: dict[str, Any], object_name: str | None = None) -> Pipeline:
    """The pipeline of the first (or the named) object of ``source``, inside a minimal intent."""
    raw = json.dumps(intent_with(source)).encode()
    pipelines = pipelines_of(parse_intent(raw, "test.json"), "test.json", "hash")
    if object_name is None:
        return pipelines[0]
    return next(p for p in pipelines if p.object.name == object_name)


def run_pipeline(pipeline: Pipeline, run_id: str = "test-run") -> dict[str, Any]:
    """Execute the pipeline's ingest task in-process, as the task runner would."""
    from airflow_provider_chimera.operators.ingest import IngestOperator

    operator = IngestOperator(task_id="ingest", pipeline=pipeline)
    return operator.execute({"run_id": run_id})


def read_table(catalog, identifier: str):
    return catalog.load_table(identifier).scan().to_arrow()


def single_object_source(
    source_type: str, connection: dict[str, Any], object_name: str, mode: dict[str, Any], table: str, **object_fields: Any
) -> dict[str, Any]:
    """A source named ``src`` with one adhoc object written to ``qa.<table>``."""
    return {
        "name": "src",
        "type": source_type,
        "connection": connection,
        "objects": [
            {
                "name": object_name,
                **object_fields,
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"namespace": "qa", "table": table}},
            }
        ],
    }
