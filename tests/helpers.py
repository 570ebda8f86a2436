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
    """Run the pipeline's ingestion in-process (``airflow_provider_chimera.ingest.run``), without
    Airflow; its XCom value. ``conf``: the run's conf; ``interval``: a ``partitioned`` run's
    ``(start, end)`` on the mode's column."""
    from airflow_provider_chimera.ingest.run import run
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.sources.window import Window

    window = Window(pipeline.ingestion.mode.column, *interval) if interval is not None else None
    return run(pipeline, run_id=run_id, conf=conf, window=window, settings=load_settings()).as_xcom()


def run_task(
    pipeline: Pipeline,
    run_id: str = "test-run",
    conf: dict[str, Any] | None = None,
    interval: tuple[Any, Any] | None = None,
    try_number: int = 1,
    **operator_args: Any,
) -> dict[str, Any]:
    """Execute the pipeline's ingest task in-process, for what the task adds to the run (its record
    in the registry, lineage, the memory cap): the context is a real Task SDK task instance's, of
    a DAG run with ``conf`` and ``interval`` (its start the logical date; without one, now, with no
    data interval). An error that needs a fix is raised as Chimera's own, not as ``AirflowFailException``."""
    import datetime as dt
    import uuid

    from airflow.sdk import DAG
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    from airflow_provider_chimera.operators.ingest import IngestOperator

    mark_onboarded(pipeline)
    with DAG(pipeline.id, schedule=None):
        operator = IngestOperator(task_id="ingest", pipeline=pipeline, **operator_args)
    now = dt.datetime.now(dt.UTC)
    start, end = interval or (None, None)
    dag_run = DagRun(
        dag_id=pipeline.id, run_id=run_id, logical_date=start or now, data_interval_start=start, data_interval_end=end,
        run_after=now, start_date=now, end_date=None, run_type="manual", state="running", conf=conf or {},
        consumed_asset_events=[], partition_key=None,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(), task_id="ingest", dag_id=pipeline.id, run_id=run_id, try_number=try_number,
        dag_version_id=uuid.uuid4(), map_index=-1, task=operator, start_date=now, max_tries=try_number,
        _ti_context_from_server=TIRunContext(dag_run=dag_run, max_tries=try_number),
    )
    try:
        return operator.execute(ti.get_template_context())
    except AirflowFailException as failed:
        raise failed.__cause__ from None


def mark_onboarded(pipeline: Pipeline) -> None:
    """Record in the registry (``[chimera] sql_alchemy_conn``) that the pipeline's intent completed
    onboarding with this pipeline, as the onboarding workflow does: its ingest task then runs
    instead of skipping (``operators.onboarding.skip_until_onboarded``)."""
    from airflow_provider_chimera.onboarding.state import changing_state
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry() as registry, changing_state(registry, pipeline.intent) as state:
        completed = state.setdefault("completed", {"hash": pipeline.intent_hash or "0" * 64, "pipelines": []})
        if pipeline.id not in completed["pipelines"]:
            completed["pipelines"].append(pipeline.id)


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


def create_kafka_topic(bootstrap: str, topic: str, partitions: int = 1):
    """Create ``topic`` and wait until the broker's metadata lists it with a leader for every
    partition: Kafka's CreateTopics answers once the controller has the topic, and a client asking
    a broker right after may still be told it does not exist. The admin client, to delete it."""
    import time

    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic].result(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        found = admin.list_topics(topic, timeout=10).topics.get(topic)
        if found is not None and found.error is None and len(found.partitions) == partitions \
                and all(p.leader >= 0 for p in found.partitions.values()):
            return admin
        if time.monotonic() > deadline:
            raise AssertionError(f"Kafka topic {topic} created but not in the broker's metadata after 30 s: {found}")
        time.sleep(0.2)


def json_events_on(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[dict]:
    """The first ``count`` JSON messages of ``topic``, each as its parsed value plus ``key`` and
    ``headers``; fails if one more arrives within 2 s."""
    import time

    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            found.append({"key": message.key().decode(), "headers": dict(message.headers() or []), **json.loads(message.value())})
        extra = consumer.poll(2.0)
        assert extra is None or extra.error(), f"unexpected event: {extra.value()!r}"
    finally:
        consumer.close()
    return found
