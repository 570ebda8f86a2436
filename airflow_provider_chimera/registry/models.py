"""The registry's tables, as SQLAlchemy 2.0 ORM models.

Changing a model needs a new Alembic revision in ``registry/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PipelineStatus = Literal["active", "retired", "pending_onboarding"]
IntentStatus = Literal["valid", "rejected", "removed"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned time-zone aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    support_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectRow(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IntentRow(Base):
    __tablename__ = "intents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    file: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    # valid, rejected (the file is in the folder but cannot be used) or removed (the file is gone)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    current_hash: Mapped[str | None] = mapped_column(String(64))
    # What the last rejection was about (file hash and error text, hashed): audited once per change.
    rejection_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[IntentVersionRow]] = relationship(back_populates="intent")


class IntentVersionRow(Base):
    __tablename__ = "intent_versions"
    __table_args__ = (UniqueConstraint("intent_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("intents.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    onboarded_at: Mapped[dt.datetime | None] = mapped_column()

    intent: Mapped[IntentRow] = relationship(back_populates="versions")


class SourceRow(Base):
    __tablename__ = "sources"
    __table_args__ = (UniqueConstraint("intent_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("intents.id"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    # ``conn_id:<id>`` or the URI as written (placeholders only, scrubbed): never a credential.
    connection: Mapped[str] = mapped_column(Text)
    all_objects: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column()


class ObjectRow(Base):
    __tablename__ = "objects"
    __table_args__ = (UniqueConstraint("source_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    name: Mapped[str] = mapped_column(String(500))
    columns: Mapped[list[str] | None] = mapped_column(JSON)
    has_ingestion: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column()


class PipelineRow(Base):
    __tablename__ = "pipelines"

    pipeline_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("intents.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    object_id: Mapped[int] = mapped_column(ForeignKey("objects.id"))
    target_table: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    intent_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column()


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("pipeline_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.pipeline_id"))
    run_id: Mapped[str] = mapped_column(String(250))
    state: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    # Run statistics (revision 0002): ``rows`` above is the rows written.
    attempt: Mapped[int | None] = mapped_column(Integer)
    rows_read: Mapped[int | None] = mapped_column(BigInteger)
    bytes_written: Mapped[int | None] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float | None] = mapped_column(Float)
    peak_rss_kib: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # Records the run sent to the quarantine table instead of the target (revision 0007).
    quarantined_rows: Mapped[int | None] = mapped_column(BigInteger)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(250), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    intent: Mapped[str | None] = mapped_column(String(200), index=True)
    intent_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "intent": self.intent,
            "intent_hash": self.intent_hash,
            "details": self.details,
        }


CheckOutcome = Literal["passed", "failed", "error"]
SlaState = Literal["on_time", "warning", "late", "unknown"]


class CheckResultRow(Base):
    """One quality check of one run's staged load (write-audit-publish), as Soda Core reported it."""

    __tablename__ = "check_results"
    # The board counts one page of pipelines' results by run (revision 0007).
    __table_args__ = (Index("ix_check_results_pipeline_id_run_id", "pipeline_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.pipeline_id"), index=True)
    run_id: Mapped[str] = mapped_column(String(250))
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    check_name: Mapped[str] = mapped_column(String(250))
    check_type: Mapped[str] = mapped_column(String(100))
    column: Mapped[str | None] = mapped_column(String(250))
    automatic: Mapped[bool] = mapped_column(default=True)
    outcome: Mapped[str] = mapped_column(String(20))
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    snapshot_id: Mapped[int | None] = mapped_column(BigInteger)
    published: Mapped[bool] = mapped_column(default=False)


class SlaStatusRow(Base):
    """A pipeline's current timeliness state, as the timeliness DAG last computed it."""

    __tablename__ = "sla_status"

    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.pipeline_id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.datetime] = mapped_column()
    last_published_at: Mapped[dt.datetime | None] = mapped_column()
    checked_at: Mapped[dt.datetime] = mapped_column()
    # Why the state is ``error`` (the pipeline's SLA could not be assessed); ``None`` otherwise (revision 0004).
    reason: Mapped[str | None] = mapped_column(Text)


class SlaEventRow(Base):
    """A change of a pipeline's timeliness state (the history behind the board and the notices)."""

    __tablename__ = "sla_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(ForeignKey("pipelines.pipeline_id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    last_published_at: Mapped[dt.datetime | None] = mapped_column()
    notified: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OnboardedVersionRow(Base):
    """The onboarded version of each intent: the exact bytes of its file (revision 0005).

    ``registry/manifest.py`` is its only writer and reader; every host (the DAG processor, the
    workers, whoever onboards) sees the same row.
    """

    __tablename__ = "onboarded_versions"

    intent: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    onboarded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OnboardingStateRow(Base):
    """Where each intent's onboarding stands (``onboarding/state.py``; revision 0005)."""

    __tablename__ = "onboarding_state"

    intent: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadataQueueRow(Base):
    """A metadata change proposal waiting for DataHub Lite (``metadata/queue.py``; revision 0005).

    Ingest tasks queue their lineage here instead of opening the DuckDB file; one writer task
    writes the rows in order (by ``id``) and deletes them once written.
    """

    __tablename__ = "metadata_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    pipeline_id: Mapped[str | None] = mapped_column(String(250))
    entity_urn: Mapped[str] = mapped_column(Text)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)


class AlertRow(Base):
    """The failure alert of one run of a pipeline (``governance/alerts.py``; revision 0006).

    One row per (pipeline, run): the first failing task of a run that fails for good claims it, so
    a second failing task of the same run (or the same task cleared and failing again) alerts no
    more. ``notified`` holds each channel's outcome (``{"email": {"status": "sent", "to": ...}}``).
    No foreign key: a run of a pipeline the registry has not recorded yet still alerts.
    """

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("pipeline_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str] = mapped_column(String(250))
    attempt: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    notified: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
