"""Harvest an intent's metadata into DataHub: its objects and their Iceberg targets, nothing else.

MongoDB and Kafka objects go through DataHub's own ingestion framework (its ``mongodb`` and
``kafka`` sources, limited by patterns to the intent's collections and topics, with a sink to the
selected destination); the intent then adds what those sources do not know: the contract's schema,
owner, domain, classification tags and documentation.

PostgreSQL, MySQL and Snowflake are described through Chimera's own source readers, which read the
table's column types the way ingestion reads them, and emitted with DataHub's SDK under the URNs
DataHub's ``postgres``/``mysql``/``snowflake`` sources give the same tables (``naming``): the
extras those sources need pin SQLAlchemy and driver versions that would downgrade Airflow.
Files and PDFs are described from the contract (``schema``) or the PDF page schema.

With a DataHub server (``datahub_rest_default``) every proposal is sent to it. With DataHub Lite the
harvest never opens its DuckDB file, which one process at a time may open and which a cluster's
hosts cannot share: DataHub's sources run into a sink that collects their proposals
(``metadata.collector``), and those proposals and the intent's own go to the registry's queue
(``metadata.queue``), in that order, in one insert; the ``chimera_metadata`` DAG's writer task
writes them to the file (decision 0049). Problems are reported, never raised.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from airflow_provider_chimera.contract.arrow import arrow_schema
from airflow_provider_chimera.contract.model import Intent, Source, SourceObject
from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.metadata import naming
from airflow_provider_chimera.metadata.destination import Destination, select_destination
from airflow_provider_chimera.secrets import scrub
from airflow_provider_chimera.settings import ChimeraSettings, load_settings
from airflow_provider_chimera.tenancy.model import SINGLE_TEAM, Grant

if TYPE_CHECKING:
    from airflow_provider_chimera.registry.db import Registry

log = logging.getLogger(__name__)
DATAHUB_SOURCES = ("mongodb", "kafka")


@dataclass
class HarvestReport:
    destination: str
    datasets: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, object) → source dataset URN
    targets: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, object) → Iceberg dataset URN
    problems: list[str] = field(default_factory=list)  # "<file>: /sources/i/objects/j: why"
    emitted: int = 0  # metadata change proposals sent to the server, or queued for DataHub Lite
    queued: bool = False  # in the registry's queue for DataHub Lite, which its writer task writes


def harvest_intent(
    intent: Intent, intent_file: str, pipelines: list[Pipeline], *, settings: ChimeraSettings | None = None,
    grant: Grant | None = None, registry: Registry | None = None,
) -> HarvestReport:
    """Describe the intent's listed objects (only the ``columns`` given, if any) and the Iceberg
    targets of its ``pipelines`` in the selected destination: sent to a DataHub server, or queued in
    ``registry`` (opened from ``settings`` if not given) for DataHub Lite. An object that cannot be
    described is reported in ``problems``; the others are still harvested. Sources are opened within
    ``grant``, the intent's team's (placeholders, file roots)."""
    from airflow_provider_chimera.metadata.aspects import dataset_mcps, schema_metadata

    settings = settings or load_settings()
    destination = select_destination(settings)
    report = HarvestReport(str(destination), queued=destination.kind == "lite")
    by_object = {(p.source.name, p.object.name): p for p in pipelines}
    mcps = []  # for DataHub Lite, DataHub's sources' proposals first: the intent's own complete them
    for i, source in enumerate(intent.sources):
        if source.objects == "all":
            continue  # metadata for listed objects only
        if source.type in DATAHUB_SOURCES:
            problem = run_datahub_source(source, source.objects, destination, mcps, grant)
            if problem:
                report.problems.append(f"{intent_file}: /sources/{i}: {problem}")
        for j, obj in enumerate(source.objects):
            where = f"{intent_file}: /sources/{i}/objects/{j}"
            try:
                schema, native = object_schema(source, obj, grant)
                platform, name = naming.source_platform_and_name(source, obj)
            except Exception as exc:  # one object that cannot be described does not stop the others
                report.problems.append(f"{where}: not described: {type(exc).__name__}: {exc}")
                continue
            pipeline = by_object.get((source.name, obj.name))
            ingestion = pipeline.ingestion if pipeline else obj.ingestion
            classification = dict(ingestion.classification) if ingestion else {}
            common = {
                "team": intent.team.name,
                "project": intent.project,
                "description": intent.declaration.statement,
                "classification": classification,
            }
            properties = {"chimera.intent": intent.name, "chimera.source": source.name, "chimera.object": obj.name,
                          "chimera.declared_by": intent.declaration.declared_by, "chimera.declared_at": intent.declaration.declared_at}
            urn = naming.dataset_urn(platform, name)
            path = lambda c, t=source.type: naming.field_path(t, c)
            mcps += dataset_mcps(urn, schema=schema_metadata(platform, name, schema, native, path), properties=properties, path=path, **common)
            report.datasets[(source.name, obj.name)] = urn
            if pipeline is not None:
                target = naming.target_urn(pipeline.target_namespace, pipeline.ingestion.target.table)
                mcps += dataset_mcps(
                    target, schema=schema_metadata("iceberg", pipeline.target_table, schema),
                    properties={**properties, "chimera.pipeline": pipeline.id}, **common,
                )
                report.targets[(source.name, obj.name)] = target
    try:
        if report.queued:
            report.emitted = _queue(mcps, registry, settings)
        else:
            with destination.emitter() as emitter:
                for mcp in mcps:
                    emitter.emit(mcp)
                    report.emitted += 1
    except Exception as exc:  # reported, never raised: the intent stands without its catalogue entry
        where = f"the registry's queue for {destination}" if report.queued else str(destination)
        report.problems.append(f"{intent_file}: metadata not written to {where}: {type(exc).__name__}: {exc}")
    report.problems = [scrub(problem) for problem in report.problems]  # no credential from a driver's message
    return report


def _queue(mcps: list, registry: Registry | None, settings: ChimeraSettings) -> int:
    """Queue ``mcps`` for DataHub Lite's writer task; how many."""
    from airflow_provider_chimera.metadata.queue import queue_proposals

    if registry is not None:
        return queue_proposals(registry, mcps)
    from airflow_provider_chimera.registry.db import open_registry

    with open_registry(settings) as opened:
        return queue_proposals(opened, mcps)


def object_schema(source: Source, obj: SourceObject, grant: Grant | None = None) -> tuple[pa.Schema, dict[str, str]]:
    """The object's columns (only those listed in ``columns``, if given) and their native type names."""
    if obj.schema_ is not None:
        return arrow_schema(obj.schema_, obj.columns), {f.name: f.type for f in obj.schema_.fields}
    if source.type == "pdf":
        from airflow_provider_chimera.sources.pdf import PAGE_SCHEMA

        return PAGE_SCHEMA, {}
    from airflow_provider_chimera.sources import source_reader

    # The hook plans the read (column types, casts) without reading a row; no data is touched.
    extract = source_reader(source, grant=grant).extract(obj, None)
    return extract.schema, dict(extract.pg_types)


def run_datahub_source(
    source: Source, objects: list[SourceObject], destination: Destination, collected: list, grant: Grant | None = None,
) -> str | None:
    """Run DataHub's own source for ``source``'s objects: into a DataHub server, or, for DataHub Lite,
    into ``collected`` (its proposals, appended in order); why it failed, if it did."""
    from datahub.ingestion.run.pipeline import Pipeline as IngestionPipeline

    from airflow_provider_chimera.metadata.collector import COLLECTOR

    try:
        sink = {"type": COLLECTOR} if destination.kind == "lite" else destination.sink()
        run = IngestionPipeline.create({"source": _source_config(source, objects, grant), "sink": sink}, no_progress=True, report_to=None)
        run.run()
        failures = list(run.source.get_report().failures) + list(run.sink.get_report().failures)
    except Exception as exc:  # the intent's own aspects are still written
        problem = f"DataHub's {source.type} source failed: {type(exc).__name__}: {exc}"
        log.warning("source %s: %s", source.name, scrub(problem))
        return problem
    if destination.kind == "lite":
        collected += run.sink.proposals
    if failures:
        log.warning("source %s: DataHub %s source reported %d failure(s)", source.name, source.type, len(failures))
        return f"DataHub's {source.type} source reported {len(failures)} failure(s): {failures[0]}"
    return None


def _source_config(source: Source, objects: list[SourceObject], grant: Grant | None = None) -> dict:
    """A recipe's ``source`` limited to ``objects`` (exact-name patterns)."""
    from airflow_provider_chimera.contract.source_rules import password_slot_only
    from airflow_provider_chimera.secrets import register_secret, resolve_uri
    from airflow_provider_chimera.sources.base import airflow_connection

    exact = lambda *names: {"allow": ["^" + re.escape(".".join(names)) + "$"]}
    connection = source.connection
    if source.type == "kafka":
        if connection.uri is not None:
            servers = resolve_uri(connection.uri, grant or SINGLE_TEAM, password_only=True).split("://", 1)[-1].strip("/")
        else:
            servers = airflow_connection(connection.conn_id).extra_dejson["bootstrap.servers"]
        topics = [pattern for obj in objects for pattern in exact(obj.name)["allow"]]
        return {"type": "kafka", "config": {"connection": {"bootstrap": servers}, "topic_patterns": {"allow": topics}}}
    database, _ = naming.source_database(source)
    if connection.uri is not None:
        uri, extra = resolve_uri(connection.uri, grant or SINGLE_TEAM, password_only=password_slot_only(source.type)), {}
    else:
        conn = airflow_connection(connection.conn_id)
        uri = f"mongodb://{conn.host}:{conn.port or 27017}"
        extra = {"username": conn.login, "password": conn.password} if conn.login else {}
        if conn.password:
            register_secret(conn.password)
    collections = [pattern for obj in objects for pattern in exact(database or "", obj.name)["allow"]]
    config = {
        "connect_uri": uri, **extra,
        "database_pattern": exact(database or ""),
        "collection_pattern": {"allow": collections},
        # The contract's schema describes the collection; sampling documents adds nothing.
        "enableSchemaInference": False,
    }
    return {"type": "mongodb", "config": config}
