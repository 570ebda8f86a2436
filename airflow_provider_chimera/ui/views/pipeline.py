"""A DAG's "Chimera" tab: the pipeline's contract, its intent's versions, runs, quality,
onboarding and audit trail, from the registry (``None``: the DAG is not a Chimera pipeline).

The contract is read from the intent version the registry holds for the pipeline (the one its DAG
was built from), not from the intents folder, so the tab shows what runs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from airflow_provider_chimera.contract.diff import diff_intents
from airflow_provider_chimera.contract.load import parse_intent
from airflow_provider_chimera.onboarding.state import load_state
from airflow_provider_chimera.onboarding.workflow import STEPS
from airflow_provider_chimera.pipelines.model import Pipeline, pipelines_of
from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.models import (
    AuditRow,
    CheckResultRow,
    IntentRow,
    IntentVersionRow,
    ObjectRow,
    PipelineRow,
    RunRow,
    SlaStatusRow,
    SourceRow,
    TeamRow,
)
from airflow_provider_chimera.settings import load_settings
from airflow_provider_chimera.ui.views.board import first_line, grid_path, lineage_url

RUNS_SHOWN = 20
AUDIT_SHOWN = 25
AUDIT_READ = 200  # the intent's newest entries read to find this pipeline's AUDIT_SHOWN
VERSIONS_SHOWN = 20


class ContractColumn(BaseModel):
    name: str
    type: str | None
    nullable: bool | None
    classification: str | None


class Contract(BaseModel):
    """What the pipeline promises, from its intent version."""

    columns: list[ContractColumn] | None  # None: every column of the source object
    keys: list[str]
    dedup_keys: list[str]
    classification: dict[str, str]
    schedule: str
    mode: str
    target_kind: str
    sla_fresh_within: str | None
    sla_warn_after: str | None
    quarantine_threshold: float
    row_count_tolerance: float
    schema_evolution: str
    quality_checks: list[str]


class IntentVersion(BaseModel):
    content_hash: str
    recorded_at: dt.datetime
    onboarded_at: dt.datetime | None
    git_commit: str | None
    current: bool
    changes: list[str]  # from the version before (contract/diff.py); empty for the first


class CheckResult(BaseModel):
    check_name: str
    check_type: str
    column: str | None
    outcome: str
    published: bool


class RunSummary(BaseModel):
    run_id: str
    state: str
    attempt: int | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    rows: int | None
    rows_read: int | None
    bytes_written: int | None
    cpu_seconds: float | None
    peak_memory_mib: float | None
    snapshot_id: str | None  # a string: Iceberg snapshot ids exceed JavaScript's safe integers
    quarantined_rows: int | None
    error: str | None
    error_first_line: str | None
    checks: list[CheckResult]


class OnboardingSummary(BaseModel):
    completed_hash: str | None
    covers_pipeline: bool
    version_hash: str | None
    steps: list[str]
    steps_done: list[str]
    failed: str | None


class AuditEntry(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    details: str


class PipelineTab(BaseModel):
    """Everything the tab shows."""

    pipeline_id: str
    intent: str
    team: str | None
    source: str
    source_type: str
    object: str
    target_table: str
    status: str
    sla_state: str
    sla_reason: str | None
    contract: Contract | None
    contract_problem: str | None
    versions: list[IntentVersion]
    runs: list[RunSummary]
    onboarding: OnboardingSummary
    audit: list[AuditEntry]
    grid_path: str
    lineage_url: str | None


def load_tab(registry: Registry, dag_id: str) -> PipelineTab | None:
    """The tab of ``dag_id``; ``None`` when the registry has no pipeline of that id."""
    with registry.session(read_only=True) as session:
        row = session.get(PipelineRow, dag_id)
        if row is None:
            return None
        intent = session.get(IntentRow, row.intent_id)
        source = session.get(SourceRow, row.source_id)
        obj = session.get(ObjectRow, row.object_id)
        team = session.get(TeamRow, intent.team_id) if intent.team_id is not None else None
        sla = session.get(SlaStatusRow, dag_id)
        versions = list(
            session.execute(
                select(IntentVersionRow).where(IntentVersionRow.intent_id == intent.id).order_by(IntentVersionRow.id)
            ).scalars()
        )
        runs = list(
            session.execute(
                select(RunRow).where(RunRow.pipeline_id == dag_id).order_by(RunRow.id.desc()).limit(RUNS_SHOWN)
            ).scalars()
        )
        checks: dict[str, list[CheckResult]] = defaultdict(list)
        run_ids = [run.run_id for run in runs]
        if run_ids:
            for check in session.execute(
                select(CheckResultRow)
                .where(CheckResultRow.pipeline_id == dag_id, CheckResultRow.run_id.in_(run_ids))
                .order_by(CheckResultRow.id)
            ).scalars():
                checks[check.run_id].append(
                    CheckResult(check_name=check.check_name, check_type=check.check_type, column=check.column,
                                outcome=check.outcome, published=check.published)
                )
        state = load_state(session, intent.name)
        # The intent's entries, less those about its other pipelines (their ``details.pipeline``).
        audit = [
            entry
            for entry in session.execute(
                select(AuditRow).where(AuditRow.intent == intent.name).order_by(AuditRow.id.desc()).limit(AUDIT_READ)
            ).scalars()
            if (entry.details or {}).get("pipeline", dag_id) == dag_id
        ][:AUDIT_SHOWN]
    pipeline_version = next((v for v in versions if v.content_hash == row.intent_hash), versions[-1] if versions else None)
    contract, problem = _contract(pipeline_version, intent, dag_id)
    return PipelineTab(
        pipeline_id=dag_id, intent=intent.name, team=team.name if team else None, source=source.name, source_type=source.type,
        object=obj.name, target_table=row.target_table, status=row.status,
        sla_state=sla.state if sla else "unknown", sla_reason=sla.reason if sla else None,
        contract=contract, contract_problem=problem,
        versions=_versions(versions, intent),
        runs=[_run(run, checks.get(run.run_id, [])) for run in runs],
        onboarding=_onboarding(state, dag_id),
        audit=[AuditEntry(at=a.at, actor=a.actor, action=a.action, details=_details(a.details)) for a in audit],
        grid_path=grid_path(dag_id), lineage_url=lineage_url(load_settings().datahub_url, row.target_table),
    )


def _parse(version: IntentVersionRow, intent: IntentRow):
    return parse_intent(version.content.encode(), intent.file or f"{intent.name}.json")


def _contract(version: IntentVersionRow | None, intent: IntentRow, dag_id: str) -> tuple[Contract | None, str | None]:
    """The pipeline's contract from ``version``, or why it cannot be shown."""
    if version is None:
        return None, "the registry holds no version of this pipeline's intent"
    try:
        parsed = _parse(version, intent)
    except Exception as exc:  # a version an older Chimera accepted: say so, show the rest
        return None, f"version {version.content_hash[:12]} cannot be read: {first_line(str(exc))}"
    pipeline = next((p for p in pipelines_of(parsed, intent.file or "", version.content_hash) if p.id == dag_id), None)
    if pipeline is None:
        return None, f"version {version.content_hash[:12]} of intent {intent.name} no longer has this pipeline"
    return _contract_of(pipeline), None


def _contract_of(pipeline: Pipeline) -> Contract:
    ingestion, obj = pipeline.ingestion, pipeline.object
    classification = {column: str(value) for column, value in ingestion.classification.items()}
    if obj.schema_ is not None:
        columns = [
            ContractColumn(name=f.name, type=str(f.type), nullable=f.nullable, classification=classification.get(f.name))
            for f in obj.schema_.fields
        ]
    elif obj.columns is not None:
        columns = [ContractColumn(name=c, type=None, nullable=None, classification=classification.get(c)) for c in obj.columns]
    else:
        columns = None
    trigger = ingestion.trigger
    schedule = {"timed": lambda: trigger.schedule, "event": lambda: f"on {trigger.on}"}.get(trigger.type, lambda: trigger.type)()
    return Contract(
        columns=columns,
        keys=list(ingestion.target.keys),
        dedup_keys=list(ingestion.dedup.keys) if ingestion.dedup else [],
        classification=classification,
        schedule=schedule,
        mode=ingestion.mode.type,
        target_kind=ingestion.target.kind,
        sla_fresh_within=ingestion.sla.fresh_within if ingestion.sla else None,
        sla_warn_after=ingestion.sla.warn_after if ingestion.sla else None,
        quarantine_threshold=float(ingestion.quarantine_threshold),
        row_count_tolerance=float(ingestion.row_count_tolerance),
        schema_evolution=ingestion.schema_evolution,
        quality_checks=[_check_text(check) for check in ingestion.quality],
    )


def _check_text(check) -> str:
    fields = check.model_dump(exclude_none=True, exclude={"severity"})
    kind = fields.pop("check")
    name = fields.pop("name", None)
    detail = ", ".join(f"{key}={value}" for key, value in fields.items())
    return f"{name or kind}: {kind}({detail}) [{check.severity}]"


def _versions(versions: list[IntentVersionRow], intent: IntentRow) -> list[IntentVersion]:
    """The intent's versions, newest first, each with its changes from the one before."""
    out = []
    shown = versions[-(VERSIONS_SHOWN + 1):]
    previous = None
    for index, version in enumerate(shown):
        try:
            parsed = _parse(version, intent)
        except Exception as exc:
            parsed, changes = None, [f"cannot be read: {first_line(str(exc))}"]
        else:
            if previous is None:
                changes = []
            else:
                diff = diff_intents(previous, parsed)
                changes = [
                    *(f"object added: {ref}" for ref in diff.added_objects),
                    *(f"object removed: {ref}" for ref in diff.removed_objects),
                    *(f"columns added: {ref}" for ref in diff.added_columns),
                    *(f"columns removed: {ref}" for ref in diff.removed_columns),
                    *(str(change) for change in diff.changed),
                ]
        if index or len(versions) <= VERSIONS_SHOWN:
            out.append(
                IntentVersion(content_hash=version.content_hash, recorded_at=version.created_at,
                              onboarded_at=version.onboarded_at, git_commit=version.git_commit,
                              current=version.content_hash == intent.current_hash, changes=changes)
            )
        previous = parsed if parsed is not None else previous
    return list(reversed(out))


def _run(run: RunRow, checks: list[CheckResult]) -> RunSummary:
    return RunSummary(
        run_id=run.run_id, state=run.state, attempt=run.attempt, started_at=run.started_at, ended_at=run.ended_at,
        rows=run.rows, rows_read=run.rows_read, bytes_written=run.bytes_written, cpu_seconds=run.cpu_seconds,
        peak_memory_mib=round(run.peak_rss_kib / 1024, 1) if run.peak_rss_kib is not None else None,
        snapshot_id=str(run.snapshot_id) if run.snapshot_id is not None else None,
        quarantined_rows=run.quarantined_rows, error=run.error, error_first_line=first_line(run.error), checks=checks,
    )


def _onboarding(state: dict[str, Any], dag_id: str) -> OnboardingSummary:
    completed = state.get("completed") or {}
    version = state.get("version") or {}
    failed = version.get("failed")
    return OnboardingSummary(
        completed_hash=completed.get("hash"),
        covers_pipeline=dag_id in completed.get("pipelines", []),
        version_hash=version.get("hash"),
        steps=list(STEPS),
        steps_done=[step for step in STEPS if step in (version.get("steps") or {})],
        failed=f"step {failed.get('step')}: {failed.get('reason')}" if isinstance(failed, dict) else None,
    )


def _details(details: dict[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, default=str)[:1000]
