"""Assembles Airflow DAGs from pipelines; it decides nothing the contract does not say."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_chimera.factory.assets import source_asset, target_asset
from airflow_provider_chimera.factory.docs import doc_md, tags
from airflow_provider_chimera.contract import Intent, IntentError, IntentProblem, hints
from airflow_provider_chimera.pipelines import Pipeline, discover, intent_guard, object_place, pipelines_of
from airflow_provider_chimera.pipelines.resources import pool_name, priority_weight, queue_args
from airflow_provider_chimera.factory.params import run_params
from airflow_provider_chimera.factory.schedule import schedule_of, timetable_of
from airflow_provider_chimera.operators.alerts import AlertOnFailure
from airflow_provider_chimera.operators.ingest import IngestOperator
from airflow_provider_chimera.ingest.limits import execution_timeout
from airflow_provider_chimera.settings import ChimeraSettings, load_settings

log = logging.getLogger(__name__)

START_DATE = datetime(2026, 1, 1)


def build_dag(pipeline: Pipeline, settings: ChimeraSettings, register: bool = True) -> DAG:
    """The pipeline's DAG; ``register=False`` builds it without registering it with the DAG file
    being parsed (the error report builds DAGs only to find those that fail)."""
    schedule = schedule_of(pipeline, settings.events_kafka_conn_id)
    alert = AlertOnFailure(pipeline)  # the team hears once per run that failed for good (governance.alerts)
    with DAG(
        dag_id=pipeline.id,
        auto_register=register,
        schedule=timetable_of(pipeline, settings.events_kafka_conn_id),  # partitioned: data intervals (decision 0051)
        params=run_params(pipeline),  # the run-conf options, in the UI's trigger form
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=tags(pipeline),
        doc_md=doc_md(pipeline),
        default_args={
            "owner": pipeline.team.name,
            "retries": settings.task_retries,
            "retry_delay": timedelta(seconds=settings.task_retry_delay_seconds),
            "pool": pool_name(pipeline),
            "priority_weight": priority_weight(pipeline),
            "weight_rule": "absolute",
            **queue_args(pipeline.team.name, settings.team_queue),  # the team's workers ([chimera] team_queue)
        },
    ) as dag:
        inlet = source_asset(pipeline)
        # A pipeline triggered by its own Kafka topic: the watched asset is the inlet itself.
        if isinstance(schedule, list):
            inlet = next((asset for asset in schedule if asset.uri == inlet.uri), inlet)
        # One task per run (decision 0068): the ingest task itself checks, first, that the intent
        # completed onboarding, and skips the run with the reason until it has (decision 0022).
        IngestOperator(
            task_id="ingest",
            pipeline=pipeline,
            inlets=[inlet],
            outlets=[target_asset(pipeline, settings.catalog_name)],
            execution_timeout=execution_timeout(pipeline, settings),  # docs/limits.md
            on_failure_callback=alert,
        )
    return dag


def build_dags(intents_dir: Path | str | None = None) -> dict[str, DAG]:
    """One DAG per pipeline of the intents folder (``[chimera] intents_dir`` by default).

    In a task process, which parses the file for one DAG (Airflow's parsing context names it),
    only that pipeline's DAG is built; the folder's intents are still all read and checked, so
    a pipeline the folder's rules reject is not there either.
    """
    dags, errors = _build_all(intents_dir, register=True, only=_task_dag_id())
    for error in errors:
        log.error("intent rejected, its pipelines are not built:\n%s", error)
    return dags


def _task_dag_id() -> str | None:
    """The DAG a task process parses its DAG file for (Airflow's parsing context), else ``None``."""
    try:
        from airflow.sdk import get_parsing_context

        return get_parsing_context().dag_id
    except Exception:  # an Airflow without it: every DAG is built
        return None


def _build_all(
    intents_dir: Path | str | None, register: bool, only: str | None = None
) -> tuple[dict[str, DAG], list[IntentError]]:
    """Every DAG the folder's intents give, and every rejected intent's error.

    Each intent file's DAGs are built under their own guard: a failure while building any of
    them drops all of that intent's DAGs and becomes its error, naming the file; the other
    intents' DAGs are built as usual. ``only``: a pipeline id; when the folder has it, only its
    DAG is built.
    """
    settings = load_settings()
    found = discover(Path(intents_dir) if intents_dir else settings.intents_dir)
    errors = list(found.errors)
    by_file: dict[str, list[Pipeline]] = {}
    pipelines = found.pipelines
    if only is not None and any(p.id == only for p in pipelines):
        pipelines = [p for p in pipelines if p.id == only]  # a task's parse: its own DAG only
    for pipeline in pipelines:
        by_file.setdefault(pipeline.intent_file, []).append(pipeline)
    dags: dict[str, DAG] = {}
    for file, pipelines in by_file.items():
        with intent_guard(file, errors):
            dags.update({p.id: build_dag(p, settings, register) for p in pipelines})
    return dags, errors


def build_problems(intent: Intent, file: str, settings: ChimeraSettings | None = None) -> list[IntentProblem]:
    """What Airflow refuses when the factory builds ``intent``'s DAGs (an asset URI it cannot
    parse, a schedule it rejects...), each located at the intent's part it comes from.

    ``chimera intent validate`` runs this on every valid intent, so that it accepts nothing the
    factory would fail on; the DAGs are built unregistered and thrown away. While parsing, the
    factory relies on ``discover``'s Airflow-free check of the same parts
    (``pipelines.buildable``) and builds each intent's DAGs under the intent's guard.
    """
    settings = settings or load_settings()
    problems = []
    for pipeline in pipelines_of(intent, file, ""):
        at = object_place(intent, pipeline)
        uri_at = f"{at.rsplit('/objects/', 1)[0]}/connection/uri"
        parts = [
            (lambda: source_asset(pipeline), uri_at if pipeline.source.connection.uri else f"{at}/name"),
            (lambda: target_asset(pipeline, settings.catalog_name), f"{at}/ingestion/target/table"),
            (lambda: schedule_of(pipeline, settings.events_kafka_conn_id), f"{at}/ingestion/trigger"),
            (lambda: pool_name(pipeline), uri_at if pipeline.source.connection.uri else at),
            (lambda: build_dag(pipeline, settings, register=False), at),
        ]
        for build, where in parts:
            try:
                build()
            except Exception as exc:  # Airflow's ValueError, or anything else it raises
                problems.append(IntentProblem(file, where, f"Airflow refuses the pipeline {pipeline.id[:60]}: {exc}", hints.BUILD))
                break
    return problems


class RejectedIntentsError(ValueError):
    """Raised by the error-report DAG file so Airflow shows rejected intents as an import error."""


def report_rejected_intents(intents_dir: Path | str | None = None) -> None:
    """Raise one error naming every rejected intent file and its problems (file: /json/path: message).

    Called from its own DAG file: Airflow records the exception as that file's import error, in the
    UI's "DAG import errors" and ``airflow dags list-import-errors``, while the pipelines of every
    valid intent, built by the other DAG file, stay listed and scheduled.
    """
    _, errors = _build_all(intents_dir, register=False)
    if errors:
        count = len(errors)
        details = "\n\n".join(str(error) for error in errors)
        raise RejectedIntentsError(
            f"{count} intent file(s) rejected; their pipelines are not built, every other intent's are:\n\n{details}"
        )
