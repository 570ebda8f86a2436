"""Reconciling the registry with the intents folder, outside DAG parsing.

The DAG factory decides, while Airflow parses DAG files, which pipelines exist — writing nothing.
:func:`sync_registry` repeats those decisions from the same inputs (the folder through
:func:`~airflow_provider_chimera.pipelines.discover`, and the registry's onboarded versions, read
once for both), records what it finds, and audits each decision that changed since the
previous sync: ``pipeline.created``, ``pipeline.retired`` (the data is kept),
``pipeline.pending_onboarding``, ``intent.rejected``, plus ``intent.version_recorded`` for a new
version and ``intent.removed`` for a file that left the folder. Nothing changed, nothing written.

Each intent file is recorded in a savepoint of its own: one that cannot be recorded (a name
longer than its registry column, see :mod:`~airflow_provider_chimera.registry.limits`, or any
database error) is rolled back alone and recorded as rejected with the reason; the others are
recorded all the same. On SQLite the sync takes the write lock when it begins (``BEGIN
IMMEDIATE``, see :meth:`~airflow_provider_chimera.registry.db.Registry.session`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_chimera.contract.diff import effective_intent, withheld_objects
from airflow_provider_chimera.contract.load import (
    IntentError,
    IntentProblem,
    intent_files,
    parse_intent,
    read_intent_bytes,
)
from airflow_provider_chimera.pipelines import Pipeline, discover, pipelines_of
from airflow_provider_chimera.registry.audit import default_actor, record
from airflow_provider_chimera.secrets import scrub
from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.limits import check_intent, column_limit
from airflow_provider_chimera.registry.manifest import onboarded_in, version_in
from airflow_provider_chimera.registry.models import IntentRow, PipelineRow
from airflow_provider_chimera.registry.gitcommit import git_commit
from airflow_provider_chimera.registry.store import (
    ObjectRows,
    intent_row,
    now,
    upsert_intent,
    upsert_sources,
    upsert_version,
)


@dataclass
class SyncReport:
    """The decisions a sync recorded (each one audited), by pipeline id or intent name."""

    created: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    pending_onboarding: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(vars(self).values())

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in vars(self).items()}


@dataclass
class _Wanted:
    status: str
    pipeline: Pipeline
    intent: IntentRow
    rows: ObjectRows
    onboarded_hash: str | None


def sync_registry(registry: Registry, intents_dir: Path, *, actor: str | None = None) -> SyncReport:
    """Record the intents of ``intents_dir`` and the factory's decisions about them."""
    from airflow_provider_chimera.settings import load_settings
    from airflow_provider_chimera.tenancy.authorize import authorizer

    folder = Path(intents_dir).resolve()
    authorize_file = authorizer(folder, load_settings())
    actor = actor or default_actor()
    versions = onboarded_in(registry)  # one snapshot for the factory's view and the rows
    found = discover(folder, versions)
    commit = git_commit(folder) if folder.is_dir() else None
    files = {str(p): p for p in intent_files(folder)} if folder.is_dir() else {}
    by_stem = {p.stem: f for f, p in files.items()}
    problems: dict[str, list[IntentProblem]] = defaultdict(list)
    for error in found.errors:
        for problem in error.problems:
            # A problem of an intent's onboarded version names that file: it belongs to the intent.
            file = problem.file if problem.file in files else by_stem.get(Path(problem.file).stem, problem.file)
            if problem not in problems[file]:
                problems[file].append(problem)
    pipelines: dict[str, list[Pipeline]] = defaultdict(list)
    for pipeline in found.pipelines:
        pipelines[pipeline.intent_file].append(pipeline)
    files.update({f: Path(f) for f in problems if f not in files})

    report = SyncReport()
    with registry.exclusive("sync"), registry.session() as session:
        wanted: dict[str, _Wanted] = {}
        seen: set[str] = set()
        for file, path in sorted(files.items()):
            one = partial(_intent_of, session=session, versions=versions, path=path, commit=commit,
                          problems=problems.get(file), pipelines=pipelines.get(file, []), actor=actor, report=report,
                          authorize_file=authorize_file)
            seen.add(_isolated(session, path, one, wanted, actor, report))
        for row in session.scalars(select(IntentRow).where(IntentRow.status != "removed")):
            if row.name not in seen:
                row.status = "removed"
                record(session, actor, "intent.removed", intent=row.name, intent_hash=row.current_hash,
                       details={"file": row.file, "note": "its pipelines are retired; their data is kept"})
                report.removed.append(row.name)
        _reconcile_pipelines(session, wanted, actor, report)
    return report


def _isolated(
    session: Session, path: Path, one: Callable[..., str], wanted: dict[str, _Wanted], actor: str, report: SyncReport
) -> str:
    """Record one intent file (``one(wanted=...)``, :func:`_intent_of`) in a savepoint of its own:
    whatever goes wrong while recording it (a value too long for the registry, a database error)
    rolls back that intent only, which is then recorded as rejected with the reason, and the sync
    goes on with the others."""
    mine: dict[str, _Wanted] = {}
    before = SyncReport(**{name: list(items) for name, items in vars(report).items()})
    try:
        with session.begin_nested():
            name = one(wanted=mine)
    except Exception as exc:  # noqa: BLE001 -- one intent must never block the sync of the others
        for field_name, items in vars(before).items():
            setattr(report, field_name, items)
        failed = exc.problems if isinstance(exc, IntentError) else [
            IntentProblem(str(path), "", f"cannot be recorded in the registry: {_reason(exc)}")]
        with session.begin_nested():
            return _rejected(session, path, failed, actor, report)
    wanted.update(mine)
    return name


def _reason(exc: Exception) -> str:
    """The database's own words (first line, without the statement and its parameters, which change
    from one sync to the next), credentials scrubbed."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return scrub(f"{type(cause).__name__}: {first}")[:500]


def _rejected(session: Session, path: Path, problems: list[IntentProblem], actor: str, report: SyncReport) -> str:
    """Record ``path`` as a rejected file (under a name that fits the registry) with ``problems``."""
    try:
        raw = path.read_bytes()
    except OSError:
        raw = b""
    content_hash = hashlib.sha256(raw).hexdigest()
    name = fitting_name(path.stem)
    row = intent_row(session, name)
    row.file, row.current_hash = str(path), content_hash
    text = [str(p) for p in problems]
    digest = hashlib.sha256("\n".join([content_hash, *text]).encode()).hexdigest()
    if row.rejection_digest != digest:
        record(session, actor, "intent.rejected", intent=name, intent_hash=content_hash, details={"file": str(path), "problems": text})
        report.rejected.append(name)
    row.status, row.rejection_digest = "rejected", digest
    return name


def fitting_name(stem: str) -> str:
    """``stem``, or when it is too long for ``intents.name``, its start and a digest of the whole."""
    limit = column_limit(IntentRow, "name") or len(stem)
    if len(stem) <= limit:
        return stem
    return f"{stem[:limit - 17]}~{hashlib.sha256(stem.encode()).hexdigest()[:16]}"


def _intent_of(
    session: Session,
    versions: dict,
    path: Path,
    commit: str | None,
    problems: list[IntentProblem] | None,
    pipelines: list[Pipeline],
    wanted: dict[str, _Wanted],
    actor: str,
    report: SyncReport,
    authorize_file,
) -> str:
    """Record one intent file; collect the pipelines it wants. Returns the intent's name."""
    try:
        raw = read_intent_bytes(path)  # at most one byte more than an intent may have
    except IntentError:
        raw = b""
    content_hash = hashlib.sha256(raw).hexdigest()
    try:
        intent = parse_intent(raw, str(path), stem=path.stem)
    except IntentError:
        intent = None
    if intent is not None:
        # Recorded with its team as the tenancy file has it (support email included), never as the
        # file says; an intent its team may not run is recorded as a rejected file only.
        authorized = authorize_file(intent, path)
        intent = authorized.intent if authorized is not None else None
    onboarded = None
    if intent is not None:
        try:
            onboarded = version_in(versions, intent.name)
        except IntentError as exc:
            problems = [*(problems or []), *(p for p in exc.problems if p not in (problems or []))]
    if intent is not None:
        check_intent(intent, str(path), [*pipelines, *pipelines_of(intent, str(path), content_hash)])  # too long for the registry: the whole intent is rejected
    name = intent.name if intent is not None else fitting_name(path.stem)
    row = intent_row(session, name)
    if intent is not None:
        upsert_intent(session, intent, str(path), content_hash)
        _, new = upsert_version(session, row, content_hash, raw, commit)
        if new:
            record(session, actor, "intent.version_recorded", intent=name, intent_hash=content_hash,
                   details={"file": str(path), "git_commit": commit})
            report.versions.append(name)
        rows = upsert_sources(session, row, intent)
    else:
        row.file, row.current_hash = str(path), content_hash
        rows = {}
    if problems:
        text = [str(p) for p in problems]
        digest = hashlib.sha256("\n".join([content_hash, *text]).encode()).hexdigest()
        if row.rejection_digest != digest:
            record(session, actor, "intent.rejected", intent=name, intent_hash=content_hash,
                   details={"file": str(path), "problems": text})
            report.rejected.append(name)
        row.status, row.rejection_digest = "rejected", digest
    else:
        row.status, row.rejection_digest = "valid", None
    if intent is None:
        return name
    onboarded_hash = onboarded.content_hash if onboarded else None
    scope = effective_intent(onboarded.intent, intent) if onboarded else intent
    buildable = {p.id for p in pipelines_of(scope, str(path), content_hash)}
    for pipeline in pipelines:  # what the factory builds
        if (pipeline.source.name, pipeline.object.name) not in rows:
            continue  # the file changed between discovery and now; the next sync catches up
        status = "active" if pipeline.id in buildable else "pending_onboarding"
        wanted[pipeline.id] = _Wanted(status, pipeline, row, rows, onboarded_hash)
    if onboarded is None or (problems and not pipelines):
        return name
    withheld = {(ref.source, ref.object) for ref in withheld_objects(onboarded.intent, intent)}
    for pipeline in pipelines_of(intent, str(path), content_hash):  # what waits for onboarding
        if (pipeline.source.name, pipeline.object.name) in withheld and pipeline.id not in wanted:
            wanted[pipeline.id] = _Wanted("pending_onboarding", pipeline, row, rows, onboarded_hash)
    return name


def _reconcile_pipelines(session: Session, wanted: dict[str, _Wanted], actor: str, report: SyncReport) -> None:
    existing = {row.pipeline_id: row for row in session.scalars(select(PipelineRow))}
    for pipeline_id, want in wanted.items():
        p = want.pipeline
        source_row, object_row = want.rows[(p.source.name, p.object.name)]
        row = existing.get(pipeline_id)
        changed = row is None or row.status != want.status
        if row is None:
            row = PipelineRow(pipeline_id=pipeline_id, status=want.status)
            session.add(row)
        row.intent_id, row.source_id, row.object_id = want.intent.id, source_row.id, object_row.id
        row.target_table, row.intent_hash = p.target_table, want.intent.current_hash
        row.status = want.status
        if not changed:
            continue
        row.retired_at = None
        details = {"pipeline": pipeline_id, "file": p.intent_file, "source": f"{p.source.type}:{p.source.name}", "object": p.object.name,
                   "target_table": p.target_table}
        if want.status == "active":
            record(session, actor, "pipeline.created", intent=p.intent, intent_hash=p.intent_hash, details=details)
            report.created.append(pipeline_id)
        else:
            details["onboarded_hash"] = want.onboarded_hash
            details["reason"] = "added since the onboarded version; onboard the intent to build it"
            record(session, actor, "pipeline.pending_onboarding", intent=p.intent, intent_hash=p.intent_hash,
                   details=details)
            report.pending_onboarding.append(pipeline_id)
    intents = {row.id: row for row in session.scalars(select(IntentRow))}
    for pipeline_id, row in existing.items():
        if pipeline_id in wanted or row.status == "retired":
            continue
        intent = intents[row.intent_id]
        reason = {
            "removed": "its intent file was removed",
            "rejected": "its intent is rejected",
        }.get(intent.status, "it is no longer in its intent")
        row.status, row.retired_at = "retired", now()
        record(session, actor, "pipeline.retired", intent=intent.name, intent_hash=intent.current_hash,
               details={"target_table": row.target_table, "reason": reason, "data": "kept"})
        report.retired.append(pipeline_id)
