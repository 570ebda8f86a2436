"""Recording intents in the registry: teams, projects, intents, versions, sources and objects."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_chimera.contract.diff import column_set
from airflow_provider_chimera.contract.model import Intent
from airflow_provider_chimera.registry.models import (
    IntentRow,
    IntentVersionRow,
    ObjectRow,
    ProjectRow,
    SourceRow,
    TeamRow,
)
from airflow_provider_chimera.secrets import scrub

ObjectRows = dict[tuple[str, str], tuple[SourceRow, ObjectRow]]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _one(session: Session, model, **where):
    return session.scalars(select(model).filter_by(**where)).one_or_none()


def intent_row(session: Session, name: str) -> IntentRow:
    """The intent named ``name``, created (with no team yet) if the registry has not seen it."""
    row = _one(session, IntentRow, name=name)
    if row is None:
        row = IntentRow(name=name, status="valid")
        session.add(row)
        session.flush()
    return row


def upsert_intent(session: Session, intent: Intent, file: str, content_hash: str) -> IntentRow:
    team = _one(session, TeamRow, name=intent.team.name)
    if team is None:
        team = TeamRow(name=intent.team.name)
        session.add(team)
        session.flush()
    team.support_email = str(intent.team.support_email)
    project = _one(session, ProjectRow, team_id=team.id, name=intent.project)
    if project is None:
        project = ProjectRow(team_id=team.id, name=intent.project)
        session.add(project)
        session.flush()
    row = intent_row(session, intent.name)
    row.team_id, row.project_id, row.file, row.current_hash = team.id, project.id, file, content_hash
    return row


def upsert_version(
    session: Session, intent: IntentRow, content_hash: str, raw: bytes, commit: str | None
) -> tuple[IntentVersionRow, bool]:
    """The version row of ``content_hash``; ``True`` when it was new."""
    row = _one(session, IntentVersionRow, intent_id=intent.id, content_hash=content_hash)
    if row is not None:
        if row.git_commit is None and commit is not None:
            row.git_commit = commit
        return row, False
    row = IntentVersionRow(
        intent_id=intent.id, content_hash=content_hash, git_commit=commit, content=raw.decode("utf-8", "replace")
    )
    session.add(row)
    session.flush()
    return row, True


def version_content(session: Session, intent_name: str, content_hash: str | None) -> str | None:
    """The content of version ``content_hash`` of intent ``intent_name``, as the registry keeps
    every version it has seen; ``None`` when it has no such version."""
    if not content_hash:
        return None
    return session.scalar(
        select(IntentVersionRow.content)
        .join(IntentRow, IntentRow.id == IntentVersionRow.intent_id)
        .where(IntentRow.name == intent_name, IntentVersionRow.content_hash == content_hash)
    )


def upsert_sources(session: Session, intent_row_: IntentRow, intent: Intent) -> ObjectRows:
    """Sources and objects of ``intent``; those no longer declared are marked removed."""
    out: ObjectRows = {}
    sources = {s.name: s for s in session.scalars(select(SourceRow).filter_by(intent_id=intent_row_.id))}
    declared: set[str] = set()
    for source in intent.sources:
        declared.add(source.name)
        row = sources.get(source.name)
        if row is None:
            row = SourceRow(intent_id=intent_row_.id, name=source.name, type=source.type, connection="")
            session.add(row)
            session.flush()
        conn = source.connection
        row.type = source.type
        row.connection = f"conn_id:{conn.conn_id}" if conn.conn_id else scrub(conn.uri)
        row.all_objects = source.objects == "all"
        row.removed_at = None
        objects = {o.name: o for o in session.scalars(select(ObjectRow).filter_by(source_id=row.id))}
        if source.objects == "all":
            continue
        names = set()
        for obj in source.objects:
            names.add(obj.name)
            obj_row = objects.get(obj.name)
            if obj_row is None:
                obj_row = ObjectRow(source_id=row.id, name=obj.name)
                session.add(obj_row)
                session.flush()
            obj_row.columns = column_set(obj)
            obj_row.has_ingestion = obj.ingestion is not None
            obj_row.removed_at = None
            out[(source.name, obj.name)] = (row, obj_row)
        for name, obj_row in objects.items():
            if name not in names and obj_row.removed_at is None:
                obj_row.removed_at = now()
    for name, row in sources.items():
        if name not in declared and row.removed_at is None:
            row.removed_at = now()
    return out
