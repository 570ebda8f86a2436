"""Each published run's lineage: source dataset → Iceberg dataset, with the pipeline's DataHub
data flow (named after the pipeline id) and its ``ingest`` job, and the run itself.

Two paths, both on the URNs ``naming`` gives:

- :func:`openlineage_facets` is what ``IngestOperator.get_openlineage_facets_on_complete`` returns.
  The DataHub Airflow plugin (and the OpenLineage provider) read it when the task completes and
  send it to the DataHub server of their own connection.
- :func:`emit_run_lineage` writes the same edge from Chimera into the selected destination:
  sent to a DataHub server directly; for DataHub Lite, which the plugin cannot write to, queued
  in the registry for the ``chimera_metadata`` DAG's writer (``metadata.queue``): an ingest task
  never opens the DuckDB file, so workers on several hosts can ingest at once.

Emission never fails or delays the task beyond ``[chimera] datahub_emit_timeout_seconds``: it runs
in a thread; a failure or a timeout is logged, counted in :data:`FAILURES` and audited.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.metadata import naming
from airflow_provider_chimera.settings import ChimeraSettings, load_settings

log = logging.getLogger(__name__)
ORCHESTRATOR = "airflow"
JOB = "ingest"  # the pipeline's task id (factory.dags)
# Emissions that failed or timed out in this process, by pipeline id.
FAILURES: Counter[str] = Counter()


def flow_urn(pipeline: Pipeline) -> str:
    """The pipeline's DataHub data flow, as the DataHub Airflow plugin names the DAG's flow."""
    from datahub.emitter.mce_builder import DEFAULT_FLOW_CLUSTER, make_data_flow_urn

    return make_data_flow_urn(ORCHESTRATOR, pipeline.id, DEFAULT_FLOW_CLUSTER)


def job_urn(pipeline: Pipeline) -> str:
    from datahub.emitter.mce_builder import make_data_job_urn_with_flow

    return make_data_job_urn_with_flow(flow_urn(pipeline), JOB)


def lineage_mcps(pipeline: Pipeline, snapshot_id: int | None, run_id: str | None = None) -> list:
    """The run's lineage as metadata change proposals."""
    from datahub.api.entities.dataprocess.dataprocess_instance import (
        DataProcessInstance,
        InstanceRunResult,
    )
    from datahub.emitter.mcp import MetadataChangeProposalWrapper as Mcp
    from datahub.metadata import schema_classes as m
    from datahub.metadata.urns import DataJobUrn, DatasetUrn

    source = naming.source_urn(pipeline.source, pipeline.object)
    target = naming.target_urn(pipeline.target_namespace, pipeline.ingestion.target.table)
    flow, job = flow_urn(pipeline), job_urn(pipeline)
    now = int(time.time() * 1000)
    stamp = m.AuditStampClass(time=now, actor="urn:li:corpuser:chimera")
    properties = {"intent": pipeline.intent, "team": pipeline.team.name, "target": pipeline.target_table}
    upstream = m.UpstreamClass(
        dataset=source, type=m.DatasetLineageTypeClass.TRANSFORMED, auditStamp=stamp,
        properties={"pipeline": pipeline.id, "snapshot_id": str(snapshot_id)},
    )
    out = [
        Mcp(entityUrn=target, aspect=m.UpstreamLineageClass(upstreams=[upstream])),
        Mcp(entityUrn=flow, aspect=m.DataFlowInfoClass(name=pipeline.id, customProperties=properties, project=pipeline.project)),
        Mcp(entityUrn=flow, aspect=m.OwnershipClass(owners=[m.OwnerClass(owner=f"urn:li:corpGroup:{pipeline.team.name}", type=m.OwnershipTypeClass.TECHNICAL_OWNER)])),
        Mcp(entityUrn=job, aspect=m.DataJobInfoClass(name=JOB, type="COMMAND", flowUrn=flow, customProperties={**properties, "snapshot_id": str(snapshot_id)})),
        Mcp(entityUrn=job, aspect=m.DataJobInputOutputClass(inputDatasets=[source], outputDatasets=[target])),
    ]
    if run_id:
        run = DataProcessInstance(
            id=f"{pipeline.id}_{JOB}_{run_id}", orchestrator=ORCHESTRATOR, template_urn=DataJobUrn.from_string(job),
            inlets=[DatasetUrn.from_string(source)], outlets=[DatasetUrn.from_string(target)],
            properties={"run_id": run_id, "snapshot_id": str(snapshot_id)},
        )
        out += list(run.generate_mcp(created_ts_millis=now, materialize_iolets=False))
        out += list(run.end_event_mcp(end_timestamp_millis=now, result=InstanceRunResult.SUCCESS))
    return out


def emit_run_lineage(
    pipeline: Pipeline, snapshot_id: int | None, settings: ChimeraSettings | None = None, *, run_id: str | None = None
) -> bool:
    """Write the run's lineage to the selected destination (queue it, for DataHub Lite); ``True``
    once written or queued.

    Never raises and returns within ``datahub_emit_timeout_seconds`` (the write goes on in the
    background if slower); a failure is logged as a warning, counted and audited.
    """
    settings = settings or load_settings()
    timeout = float(settings.datahub_emit_timeout_seconds)
    outcome: dict[str, object] = {}

    def emit() -> None:
        try:
            from airflow_provider_chimera.metadata.destination import select_destination

            destination = select_destination(settings)
            outcome["destination"] = str(destination)
            mcps = lineage_mcps(pipeline, snapshot_id, run_id)
            if destination.kind == "lite":  # one writer task opens the file, never an ingest task
                from airflow_provider_chimera.metadata.queue import queue_proposals
                from airflow_provider_chimera.registry.db import open_registry

                outcome["destination"] = f"the registry's queue for {destination}"
                with open_registry(settings) as registry:
                    queue_proposals(registry, mcps, pipeline_id=pipeline.id)
            else:
                with destination.emitter() as emitter:
                    for mcp in mcps:
                        emitter.emit(mcp)
            outcome["ok"] = True
        except Exception as exc:  # reported by the caller's thread
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=emit, name=f"chimera-lineage-{pipeline.id}", daemon=True)
    worker.start()
    worker.join(timeout)
    if outcome.get("ok"):
        log.info("%s: lineage %s -> %s written to %s", pipeline.id, pipeline.object.name, pipeline.target_table, outcome["destination"])
        return True
    error = outcome.get("error") or f"no answer within {timeout:g} s"
    _failed(pipeline, str(outcome.get("destination", "DataHub")), str(error), settings)
    return False


def _failed(pipeline: Pipeline, destination: str, error: str, settings: ChimeraSettings) -> None:
    from airflow_provider_chimera.secrets import scrub

    FAILURES[pipeline.id] += 1
    error = scrub(error)
    log.warning("%s: lineage not written to %s (the ingestion stands): %s", pipeline.id, destination, error)
    try:
        from airflow_provider_chimera.registry.audit import record
        from airflow_provider_chimera.registry.db import open_registry

        record(open_registry(settings), None, "metadata.lineage_failed", intent=pipeline.intent, intent_hash=pipeline.intent_hash,
               details={"pipeline": pipeline.id, "destination": destination, "error": error})
    except Exception as exc:  # the warning above stands for it
        log.warning("%s: lineage failure not audited: %s", pipeline.id, type(exc).__name__)


def openlineage_facets(pipeline: Pipeline):
    """The run's inputs and outputs as OpenLineage datasets (``OperatorLineage``).

    The DataHub plugin turns an OpenLineage dataset into the URN of platform ``<namespace scheme>``
    and name ``<name>``; each namespace here is ``<platform>://chimera`` so that the plugin's URNs are
    the ones ``naming`` gives (files: ``file://`` and the absolute path).
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset

    platform, name = naming.source_platform_and_name(pipeline.source, pipeline.object)
    namespace = "file://" if platform == "file" else f"{platform}://chimera"
    return OperatorLineage(
        inputs=[Dataset(namespace=namespace, name=name)],
        outputs=[Dataset(namespace="iceberg://chimera", name=f"{pipeline.target_namespace}.{pipeline.ingestion.target.table}")],
    )
