"""Helpers for tests: build intents and pipelines from snippets, run them without a scheduler, and
address the local services that `make services` starts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.pipelines import Pipeline, pipelines_of

TEAM = {"name": "qa", "support_email": "qa@example.com"}
DECLARATION = {"declared_by": "qa", "statement": "test data", "declared_at": "2026-11-24"}
SALES_TEAM = {"name": "sales", "support_email": "sales@example.com"}
SALES_DECLARATION = {"declared_by": "jane", "statement": "allowed", "declared_at": "2026-11-20"}

# --- intents -----------------------------------------------------------------------------------


def intent_with(
    *sources: dict[str, Any],
    name: str = "qa_intent",
    team: dict[str, str] = TEAM,
    project: str = "qa",
    declaration: dict[str, str] = DECLARATION,
) -> dict[str, Any]:
    """A minimal intent holding ``sources``, by default of the qa team."""
    return {
        "version": 1,
        "name": name,
        "team": dict(team),
        "project": project,
        "declaration": dict(declaration),
        "sources": list(sources),
    }


def sales_crm_intent(*sources: dict[str, Any]) -> dict[str, Any]:
    """The `sales_crm` intent of the sales team holding ``sources``."""
    return intent_with(*sources, name="sales_crm", team=SALES_TEAM, project="sales", declaration=SALES_DECLARATION)


def record_schema(required: Iterable[str] = (), **types: str) -> dict[str, Any]:
    """An object's `schema`: one field per keyword, in order, of the type it names; ``required`` ones not nullable."""
    required = set(required)
    return {
        "fields": [
            {"name": name, "type": kind, **({"nullable": False} if name in required else {})} for name, kind in types.items()
        ]
    }


def adhoc_ingestion(mode: dict[str, Any], table: str, namespace: str = "qa") -> dict[str, Any]:
    """An adhoc `ingestion` block writing to ``<namespace>.<table>``."""
    return {"trigger": {"type": "adhoc"}, "mode": mode, "target": {"namespace": namespace, "table": table}}


def single_object_source(
    source_type: str,
    connection: dict[str, Any],
    object_name: str,
    mode: dict[str, Any],
    table: str,
    *,
    source_name: str = "src",
    **object_fields: Any,
) -> dict[str, Any]:
    """A source (named ``src`` unless told) with one adhoc object written to ``qa.<table>``."""
    return {
        "name": source_name,
        "type": source_type,
        "connection": connection,
        "objects": [{"name": object_name, **object_fields, "ingestion": adhoc_ingestion(mode, table)}],
    }


# --- pipelines ---------------------------------------------------------------------------------


def pipeline_for(source: dict[str, Any], object_name: str | None = None) -> Pipeline:
    """The pipeline of the first (or the named) object of ``source``, inside a minimal intent."""
    raw = json.dumps(intent_with(source)).encode()
    pipelines = pipelines_of(parse_intent(raw, "test.json"), "test.json", "hash")
    if object_name is None:
        return pipelines[0]
    return next(p for p in pipelines if p.object.name == object_name)


def run_pipeline(
    pipeline: Pipeline,
    run_id: str = "test-run",
    conf: dict[str, Any] | None = None,
    interval: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """Execute the pipeline's ingest task in-process, as the task runner would (``conf``: the DAG run's conf;
    ``interval``: the run's ``(data_interval_start, data_interval_end)``, its start being the logical date)."""
    from types import SimpleNamespace

    from airflow_provider_chimera.operators.ingest import IngestOperator

    operator = IngestOperator(task_id="ingest", pipeline=pipeline)
    context: dict[str, Any] = {"run_id": run_id, "dag_run": SimpleNamespace(conf=conf or {})}
    if interval is not None:
        context.update(data_interval_start=interval[0], data_interval_end=interval[1], logical_date=interval[0])
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return operator.execute(context)
    except AirflowFailException as failed:  # an error that needs a fix: tests look at Chimera's own error
        raise failed.__cause__ from None


def assert_incremental_runs(source: dict[str, Any], first: int, add_more: Callable[[], object], more: int) -> None:
    """Run the pipeline of ``source``: ``first`` rows, then nothing to commit, then ``more`` rows after ``add_more()``."""
    # Asserts are not rewritten outside test modules: each names the run's result.
    result = run_pipeline(pipeline_for(source))
    assert result["rows"] == first, result
    result = run_pipeline(pipeline_for(source))
    assert result["committed"] is False, result
    add_more()
    result = run_pipeline(pipeline_for(source))
    assert result["rows"] == more, result


def read_table(catalog, identifier: str):
    return catalog.load_table(identifier).scan().to_arrow()


# --- the local services (addresses from tests.conftest.SERVICES) --------------------------------


def postgres_uri(services: dict[str, str], password: str | None = None, port: int | str | None = None) -> str:
    """The test database's URI; the services' password and port unless told."""
    return (
        f"postgresql://{services['CHIMERA_PG_USER']}:{password or services['CHIMERA_PG_PASSWORD']}@"
        f"{services['CHIMERA_PG_HOST']}:{port or services['CHIMERA_PG_PORT']}/{services['CHIMERA_PG_DB']}"
    )


def mysql_uri(services: dict[str, str], password: str | None = None) -> str:
    """The test database's URI; the services' password unless told."""
    return (
        f"mysql://{services['CHIMERA_MYSQL_USER']}:{password or services['CHIMERA_MYSQL_PASSWORD']}@"
        f"{services['CHIMERA_MYSQL_HOST']}:{services['CHIMERA_MYSQL_PORT']}/{services['CHIMERA_MYSQL_DB']}"
    )


def mongo_uri(services: dict[str, str], database: str, scheme: str = "mongodb") -> str:
    """FerretDB's URI for ``database``; Airflow's connection type is ``mongo``."""
    return f"{scheme}://{services['CHIMERA_MONGO_HOST']}:{services['CHIMERA_MONGO_PORT']}/{database}"


def kafka_uri(services: dict[str, str]) -> str:
    return f"kafka://{services['CHIMERA_KAFKA_BOOTSTRAP']}"
