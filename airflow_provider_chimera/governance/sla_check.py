"""One timeliness check of every pipeline with an ``sla``: state recorded, changes notified.

For each pipeline the intents folder declares with an ``sla``, the state
(:func:`~airflow_provider_chimera.governance.timeliness.assess`) is computed from the last
snapshot the pipeline published on its target table, and written to the registry's
``sla_status``. A change of state adds an ``sla_events`` row and an ``sla.changed`` audit entry,
in the same transaction; then the notices are sent. Each notice's outcome is kept in the event's
``notified`` (``pending``, ``sent`` or ``failed``, with the attempts made), so a notice that
could not be sent does not lose the change: the next check sends it again (up to
:data:`MAX_ATTEMPTS` times), as long as it is still the pipeline's newest change.

One pipeline never stops the check of the others: an SLA that cannot be assessed marks that
pipeline ``error`` with the reason (in ``sla_status.reason``, the audit entry and the report's
``errors``), a table that cannot be read or a state that cannot be written is reported in
``errors``, and the check goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import func, select

from airflow_provider_chimera.pipelines import Pipeline
from airflow_provider_chimera.governance import notices
from airflow_provider_chimera.governance.timeliness import Verdict, assess, last_published_at, transition
from airflow_provider_chimera.registry.audit import record
from airflow_provider_chimera.secrets import scrub
from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.models import PipelineRow, SlaEventRow, SlaStatusRow
from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CHANNELS = ("email", "kafka")
UNSENT = ("pending", "failed")


@dataclass
class TimelinessReport:
    """What one check did, by pipeline id."""

    checked: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    notice_failures: list[str] = field(default_factory=list)  # "<pipeline>: <channel>: <error>"
    errors: list[str] = field(default_factory=list)  # "<pipeline>: <error>" (state left as it was)

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in vars(self).items()}


@dataclass(frozen=True)
class Channels:
    """Where notices go: the SMTP connection, and the Kafka connection and topic of events."""

    smtp_conn_id: str
    events_kafka_conn_id: str
    events_topic: str

    @classmethod
    def of(cls, settings: ChimeraSettings) -> Channels:
        return cls(settings.smtp_conn_id, settings.events_kafka_conn_id, settings.events_topic)


def run_timeliness(settings: ChimeraSettings, *, now: dt.datetime | None = None, actor: str | None = None) -> TimelinessReport:
    """Check every pipeline of ``[chimera] intents_dir`` with an ``sla``, as the ``chimera_timeliness`` DAG does."""
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.registry.manifest import onboarded_in
    from airflow_provider_chimera.writer.catalog import chimera_catalog

    registry = open_registry(settings)
    pipelines = [p for p in discover(settings.intents_dir, onboarded_in(registry)).pipelines if p.ingestion.sla is not None]
    if pipelines and not {p.id for p in pipelines} <= set(_created(registry, pipelines)):
        # Intents newer than the last registry sync: record them first, as `chimera registry sync` would.
        from airflow_provider_chimera.pipelines.sync import sync_registry

        sync_registry(registry, settings.intents_dir, actor=actor)
    catalog = chimera_catalog(settings) if pipelines else None
    return check_timeliness(registry, catalog, pipelines, Channels.of(settings), now=now, actor=actor)


def check_timeliness(
    registry: Registry,
    catalog,
    pipelines: Iterable[Pipeline],
    channels: Channels,
    *,
    now: dt.datetime | None = None,
    actor: str | None = None,
) -> TimelinessReport:
    """Assess ``pipelines`` (those with an ``sla``) at ``now``, record the states, send the notices."""
    now = now or dt.datetime.now(dt.UTC)
    with_sla = {p.id: p for p in pipelines if p.ingestion.sla is not None}
    created = _created(registry, with_sla.values())
    report = TimelinessReport()
    for pipeline in with_sla.values():
        if pipeline.id not in created:
            report.errors.append(f"{pipeline.id}: not in the registry yet; run `chimera registry sync`")
            continue
        try:
            published = _last_published(catalog, pipeline)
        except Exception as exc:  # one unreadable table must not hide the others' states
            log.warning("timeliness of %s not checked: %s", pipeline.id, exc)
            report.errors.append(f"{pipeline.id}: cannot read {pipeline.target_table}: {scrub(str(exc))}")
            continue
        verdict = _assess(now, pipeline, published, created[pipeline.id])
        if verdict.state == "error":
            report.errors.append(f"{pipeline.id}: {verdict.reason}")
        report.checked.append(pipeline.id)
        try:
            changed = _record(registry, pipeline, verdict, now, actor)
        except Exception as exc:  # one pipeline's state that cannot be written must not stop the board
            log.warning("timeliness of %s not recorded: %s", pipeline.id, scrub(str(exc)))
            report.errors.append(f"{pipeline.id}: state not recorded: {scrub(f'{type(exc).__name__}: {exc}')[:500]}")
            continue
        if changed:
            report.changed.append(pipeline.id)
    deliver(registry, with_sla, channels, report)
    return report


def _assess(now: dt.datetime, pipeline: Pipeline, published: dt.datetime | None, created: dt.datetime) -> Verdict:
    """The pipeline's verdict; ``error`` with the reason when its SLA cannot be assessed (a duration
    that overflows the calendar, say), so that the check goes on with the other pipelines."""
    sla = pipeline.ingestion.sla
    try:
        assert sla is not None
        return assess(now, sla, published, created)
    except Exception as exc:
        reason = f"its sla (fresh_within {sla.fresh_within!r}, warn_after {sla.warn_after!r}) cannot be assessed: " if sla else ""
        reason = scrub(f"{reason}{type(exc).__name__}: {exc}")[:1000]
        log.warning("timeliness of %s: %s", pipeline.id, reason)
        return Verdict("error", now, published, reason=reason)


def _created(registry: Registry, pipelines: Iterable[Pipeline]) -> dict[str, dt.datetime]:
    ids = [p.id for p in pipelines]
    if not ids:
        return {}
    with registry.session(read_only=True) as session:
        rows = session.execute(select(PipelineRow.pipeline_id, PipelineRow.created_at).where(PipelineRow.pipeline_id.in_(ids)))
        return {pipeline_id: created_at for pipeline_id, created_at in rows}


def _last_published(catalog, pipeline: Pipeline) -> dt.datetime | None:
    from pyiceberg.exceptions import NoSuchTableError

    try:
        table = catalog.load_table((pipeline.target_namespace, pipeline.ingestion.target.table))
    except NoSuchTableError:
        return None
    return last_published_at(table, pipeline.id)


def _record(registry: Registry, pipeline: Pipeline, verdict: Verdict, now: dt.datetime, actor: str | None) -> bool:
    """Write the pipeline's state; on a change, its event and audit entry too. Returns whether it changed."""
    with registry.session() as session:
        status = session.get(SlaStatusRow, pipeline.id)
        previous = status.state if status is not None else None
        step = transition(previous, verdict.state)
        if status is None:
            status = SlaStatusRow(pipeline_id=pipeline.id, state=verdict.state, since=verdict.since)
            session.add(status)
        elif step.changed:
            status.state, status.since = verdict.state, verdict.since
        status.last_published_at, status.checked_at, status.reason = verdict.last_published_at, now, verdict.reason
        if not step.changed:
            return False
        notified = {channel: {"status": "pending", "attempts": 0} for channel in CHANNELS} if step.notify else {}
        session.add(
            SlaEventRow(
                pipeline_id=pipeline.id,
                at=now,
                from_state=previous,
                to_state=verdict.state,
                last_published_at=verdict.last_published_at,
                notified=notified,
            )
        )
        record(
            session,
            actor,
            "sla.changed",
            intent=pipeline.intent,
            intent_hash=pipeline.intent_hash,
            details={
                "pipeline": pipeline.id,
                "from": previous,
                "to": verdict.state,
                "since": verdict.since,
                "last_published_at": verdict.last_published_at,
                "notify": step.notify,
                **({"reason": verdict.reason} if verdict.reason else {}),
            },
        )
    log.info("%s: %s -> %s (last published %s)", pipeline.id, previous, verdict.state, verdict.last_published_at)
    return True


def deliver(registry: Registry, pipelines: dict[str, Pipeline], channels: Channels, report: TimelinessReport) -> None:
    """Send every notice still unsent (pending, or failed fewer than :data:`MAX_ATTEMPTS` times) of
    each pipeline's newest change; older changes are superseded and never sent late."""
    with registry.session(read_only=True) as session:
        newest = select(func.max(SlaEventRow.id)).group_by(SlaEventRow.pipeline_id)
        events = [e for e in session.scalars(select(SlaEventRow).where(SlaEventRow.id.in_(newest))) if _unsent(e.notified)]
    for event in events:
        pipeline = pipelines.get(event.pipeline_id)
        if pipeline is None:
            continue  # retired, or no longer has an sla
        change = _change(event, pipeline)
        senders: dict[str, Callable[[], str]] = {
            "email": partial(notices.send_email, channels.smtp_conn_id, change),
            "kafka": partial(notices.publish_event, channels.events_kafka_conn_id, channels.events_topic, change),
        }
        notified = dict(event.notified)
        for channel, entry in event.notified.items():
            if not _unsent({channel: entry}) or channel not in senders:
                continue
            attempts = int(entry.get("attempts", 0)) + 1
            at = dt.datetime.now(dt.UTC).isoformat()
            try:
                target = senders[channel]()
            except Exception as exc:
                error = scrub(f"{type(exc).__name__}: {exc}")[:500]
                log.warning("%s: %s notice of %s -> %s not sent (attempt %d of %d): %s",
                            pipeline.id, channel, event.from_state, event.to_state, attempts, MAX_ATTEMPTS, error)
                notified[channel] = {"status": "failed", "attempts": attempts, "at": at, "error": error}
                report.notice_failures.append(f"{pipeline.id}: {channel}: {error}")
            else:
                notified[channel] = {"status": "sent", "attempts": attempts, "at": at, "to": target}
        with registry.session() as session:
            row = session.get(SlaEventRow, event.id)
            assert row is not None
            row.notified = notified
        if all(entry.get("status") == "sent" for entry in notified.values()):
            report.notified.append(pipeline.id)


def _unsent(notified: dict) -> bool:
    return any(
        entry.get("status") in UNSENT and int(entry.get("attempts", 0)) < MAX_ATTEMPTS for entry in (notified or {}).values()
    )


def _change(event: SlaEventRow, pipeline: Pipeline) -> notices.SlaChange:
    sla = pipeline.ingestion.sla
    assert sla is not None
    return notices.SlaChange(
        event_id=event.id,
        pipeline=pipeline.id,
        intent=pipeline.intent,
        team=pipeline.team.name,
        support_email=str(pipeline.team.support_email),
        target_table=pipeline.target_table,
        from_state=event.from_state,
        to_state=event.to_state,
        at=event.at,
        last_published_at=event.last_published_at,
        fresh_within=sla.fresh_within,
        warn_after=sla.warn_after,
    )
