"""Assembles Airflow DAGs from pipelines; it decides nothing the contract does not say."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Asset

from airflow_provider_chimera.contract.model import AdhocTrigger, EventTrigger, TimedTrigger
from airflow_provider_chimera.factory.pipelines import Pipeline, discover
from airflow_provider_chimera.operators.ingest import IngestOperator
from airflow_provider_chimera.settings import load_settings

log = logging.getLogger(__name__)

START_DATE = datetime(2026, 1, 1)


def schedule_of(pipeline: Pipeline) -> str | timedelta | list[Asset] | None:
    trigger = pipeline.ingestion.trigger
    if isinstance(trigger, TimedTrigger):
        if trigger.schedule.startswith("P"):
            import pendulum

            duration = pendulum.parse(trigger.schedule)
            return timedelta(seconds=duration.total_seconds())
        return trigger.schedule
    if isinstance(trigger, EventTrigger):
        return [Asset(uri=trigger.on) if "://" in trigger.on else Asset(name=trigger.on)]
    assert isinstance(trigger, AdhocTrigger)
    return None


def target_asset(pipeline: Pipeline, catalog: str) -> Asset:
    return Asset(
        uri=f"iceberg://{catalog}/{pipeline.target_namespace}/{pipeline.ingestion.target.table}",
        name=pipeline.target_table,
    )


def build_dag(pipeline: Pipeline, catalog: str) -> DAG:
    target = pipeline.ingestion.target
    with DAG(
        dag_id=pipeline.id,
        schedule=schedule_of(pipeline),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=[pipeline.team.name, pipeline.project, pipeline.source.type, target.kind],
        default_args={"owner": pipeline.team.name, "retries": 2, "retry_delay": timedelta(minutes=1)},
        doc_md=(
            f"**{pipeline.source.type}** `{pipeline.source.name}/{pipeline.object.name}` → "
            f"Iceberg `{pipeline.target_table}` ({target.kind}, {pipeline.ingestion.mode.type})\n\n"
            f"Intent `{pipeline.intent}` of team **{pipeline.team.name}** "
            f"({pipeline.team.support_email})."
        ),
    ) as dag:
        IngestOperator(task_id="ingest", pipeline=pipeline, outlets=[target_asset(pipeline, catalog)])
    return dag


def build_dags(intents_dir: Path | str | None = None) -> dict[str, DAG]:
    """One DAG per pipeline of the intents folder (``[chimera] intents_dir`` by default)."""
    settings = load_settings()
    folder = Path(intents_dir) if intents_dir else settings.intents_dir
    found = discover(folder)
    for error in found.errors:
        log.error("intent rejected, its pipelines are not built:\n%s", error)
    return {p.id: build_dag(p, settings.catalog_name) for p in found.pipelines}
