"""Telling a team, once per run, that a run of one of its pipelines failed for good.

A run fails for good when a task's last try fails (retries exhausted, or an error that needs a fix
and is never retried: a quality gate that stopped the publish, a quarantine threshold breach, a
schema the source breaks). Then the team gets, once per (pipeline, run):

- an email to the intent's ``team.support_email`` through the SMTP connection ``[chimera] smtp_conn_id``;
- a CloudEvents JSON message (type :data:`EVENT_TYPE`, keyed by the pipeline id) on
  ``[chimera] pipeline_failed_topic`` of the Kafka connection ``[chimera] events_kafka_conn_id``
  (created when missing).

Both carry the pipeline, intent, team, run id, attempt (the try number), the failing step (the
task, or in plain words the gate that stopped it), the reason and a link to the run in the Airflow
UI. The reason names the error's class and its message with secrets masked
(:func:`~airflow_provider_chimera.secrets.scrub`) and every quoted literal cut out
(:func:`redact`), since a driver's message may quote a value of the data; a quality gate's reason
lists the failed checks by name, never their figures.

Once per run: the first alert of a run claims its row in the registry's ``alerts`` table (unique
on pipeline and run id), so a second failing task of the same run sends nothing. A try that will be
retried sends nothing (:func:`is_final`), so neither does a retry that then succeeds. Delivery
never fails the caller: each channel's outcome is logged, kept in the row and audited
(``pipeline.alerted``). Plain Python: the Airflow side is ``operators/alerts.py``.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow_provider_chimera.errors import ChimeraError
from airflow_provider_chimera.governance.quarantine_gate import QuarantineThresholdError
from airflow_provider_chimera.governance.wap import QualityGateError
from airflow_provider_chimera.notify import cloudevents, email, kafka
from airflow_provider_chimera.secrets import scrub

log = logging.getLogger(__name__)

EVENT_TYPE = "chimera.pipeline.failed"
EVENT_SOURCE = "chimera/runs"
AUDIT_ACTION = "pipeline.alerted"
REASON_CHARS = 500
FINAL_STATES = ("failed",)

# 'text' or "text" — what a driver's message quotes is often a value of the data.
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


@dataclass(frozen=True)
class Failure:
    """A failed try of one task, as plain values (what the task's Airflow context says)."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int | None
    max_tries: int | None
    state: str | None  # the task instance's state after the try: "failed" or "up_for_retry"
    error: BaseException | None


@dataclass(frozen=True)
class Channels:
    """Where alerts go: the SMTP connection, and the Kafka connection and topic of the events."""

    smtp_conn_id: str
    events_kafka_conn_id: str
    topic: str

    @classmethod
    def of(cls, settings) -> Channels:
        return cls(settings.smtp_conn_id, settings.events_kafka_conn_id, settings.pipeline_failed_topic)


@dataclass(frozen=True)
class Alert:
    """What the team is told about one run that failed for good; never a value of the data."""

    pipeline: str
    intent: str
    intent_hash: str | None
    team: str
    support_email: str
    dag_id: str
    run_id: str
    task_id: str
    attempt: int | None
    kind: str  # "failed", "quality_gate" or "quarantine_threshold"
    step: str  # the task id, or the gate in plain words: "quality gate", "quarantine threshold"
    error: str  # the error's class name
    reason: str
    link: str
    at: dt.datetime

    @property
    def event_id(self) -> str:
        """Stable per (pipeline, run): a consumer recognises an event delivered twice."""
        return f"chimera-failed-{self.pipeline}-{self.run_id}"


def is_final(state: str | None, try_number: int | None, max_tries: int | None) -> bool:
    """Whether a failed try ends its task for good (no retry follows).

    Airflow decides and says so in the state: ``failed`` is final, ``up_for_retry`` is not. Without
    a state (a callback run outside the task), the try is final when no try is left:
    ``try_number`` (1 for the first) is past ``max_tries`` (the task's ``retries``).
    """
    if state in FINAL_STATES:
        return True
    if state is not None:  # up_for_retry, up_for_reschedule, ...
        return False
    if try_number is None or max_tries is None:
        return True  # nothing says a retry follows: better told than not
    return try_number > max_tries


def run_link(base_url: str, dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow 3 UI: ``<[api] base_url>/dags/<dag_id>/runs/<run_id>``."""
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def redact(message: str) -> str:
    """``message`` fit for an alert: secrets masked, quoted literals replaced by ``'…'``, its first
    line only, at most :data:`REASON_CHARS` characters."""
    text = _QUOTED.sub("'…'", scrub(str(message)))
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= REASON_CHARS else first[: REASON_CHARS - 1] + "…"


def cause_of(error: BaseException | None) -> BaseException | None:
    """The error that made the task fail: the Chimera error behind an ``AirflowFailException``
    (raised ``from`` it), else ``error`` itself."""
    seen: set[int] = set()
    current = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ChimeraError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return error


def explain(error: BaseException | None, task_id: str) -> tuple[str, str, str, str]:
    """``(kind, step, error class, reason)`` of a failure, in plain words."""
    cause = cause_of(error)
    if cause is None:
        return "failed", task_id, "unknown", "the task failed without an error (killed, or timed out outside the task); see its log"
    name = type(cause).__name__
    if isinstance(cause, QualityGateError):
        failing = [r for r in cause.results if r.blocking] or list(cause.results)
        checks = "; ".join(_check(r) for r in failing)
        reason = f"quality gate: {len(failing)} of {len(cause.results)} check(s) failed: {checks}; the load was not published"
        return "quality_gate", "quality gate", name, _cut(scrub(reason))
    if isinstance(cause, QuarantineThresholdError):
        return "quarantine_threshold", "quarantine threshold", name, _cut(f"quarantine threshold: {redact(str(cause))}")
    return "failed", task_id, name, f"{name}: {redact(str(cause))}"


def alert_of(pipeline, failure: Failure, base_url: str, *, now: dt.datetime | None = None) -> Alert:
    """The alert for ``failure`` of ``pipeline`` (a :class:`~airflow_provider_chimera.pipelines.Pipeline`)."""
    kind, step, error, reason = explain(failure.error, failure.task_id)
    return Alert(
        pipeline=pipeline.id,
        intent=pipeline.intent,
        intent_hash=pipeline.intent_hash,
        team=pipeline.team.name,
        support_email=str(pipeline.team.support_email),
        dag_id=failure.dag_id,
        run_id=failure.run_id,
        task_id=failure.task_id,
        attempt=failure.try_number,
        kind=kind,
        step=step,
        error=error,
        reason=reason,
        link=run_link(base_url, failure.dag_id, failure.run_id),
        at=now or dt.datetime.now(dt.UTC),
    )


# --- the messages ---------------------------------------------------------------------------------

_WHAT = {
    "quality_gate": "was stopped by its quality gate: its load was not published",
    "quarantine_threshold": "quarantined more than its threshold allows",
}


def subject(alert: Alert) -> str:
    """``Chimera: run scheduled__2026-12-06 of sales_crm_public_customers failed (quality gate)``."""
    return f"Chimera: run {alert.run_id} of {alert.pipeline} failed ({alert.step})"


def html_body(alert: Alert) -> str:
    rows = [
        ("Pipeline", alert.pipeline),
        ("Intent", alert.intent),
        ("Team", alert.team),
        ("Run", alert.run_id),
        ("Attempt", str(alert.attempt) if alert.attempt is not None else "-"),
        ("Failing step", alert.step if alert.step == alert.task_id else f"{alert.step} (task {alert.task_id})"),
        ("Reason", alert.reason),
        ("Failed at", cloudevents.iso(alert.at)),
    ]
    what = _WHAT.get(alert.kind, "failed after its last try")
    link = html.escape(alert.link, quote=True)
    return (
        f"<p>Run <b>{html.escape(alert.run_id)}</b> of pipeline <b>{html.escape(alert.pipeline)}</b> of team "
        f"{html.escape(alert.team)} {what}.</p>"
        + email.facts_table(rows)
        + f"<p>The run in Airflow: <a href=\"{link}\">{html.escape(alert.link)}</a>. Fix what the reason says, "
        "then clear the failed task to run it again.</p>"
    )


def cloud_event(alert: Alert) -> dict[str, Any]:
    """The CloudEvents envelope of ``alert`` (the same shape as the timeliness notices')."""
    return cloudevents.cloud_event(
        type=EVENT_TYPE,
        source=EVENT_SOURCE,
        id=alert.event_id,
        time=alert.at,
        subject=alert.pipeline,
        data={
            "pipeline": alert.pipeline,
            "intent": alert.intent,
            "team": alert.team,
            "dag_id": alert.dag_id,
            "run_id": alert.run_id,
            "attempt": alert.attempt,
            "task_id": alert.task_id,
            "step": alert.step,
            "kind": alert.kind,
            "error": alert.error,
            "reason": alert.reason,
            "link": alert.link,
        },
    )


# --- sending, once per run ------------------------------------------------------------------------


def notify_failure(
    pipeline, failure: Failure, channels: Channels, base_url: str, registry=None, *, logger: logging.Logger | None = None
) -> dict[str, Any] | None:
    """Alert the team of ``pipeline`` about ``failure`` if it is final and the run has not alerted
    yet; returns each channel's outcome, or ``None`` when nothing was sent. Never raises."""
    logger = logger or log
    try:
        if not is_final(failure.state, failure.try_number, failure.max_tries):
            logger.info("%s: try %s failed and will be retried: no alert", pipeline.id, failure.try_number)
            return None
        alert = alert_of(pipeline, failure, base_url)
        return send(alert, channels, registry, logger=logger)
    except Exception as exc:  # an alert never masks the failure it is about
        logger.warning("%s: no alert sent for run %s: %s", pipeline.id, failure.run_id, scrub(f"{type(exc).__name__}: {exc}"))
        return None


def send(alert: Alert, channels: Channels, registry=None, *, logger: logging.Logger | None = None) -> dict[str, Any] | None:
    """Claim the run's alert in ``registry``, send the email and the event, record and audit the
    outcome; ``None`` when the run had alerted already. Without a registry (or one that cannot be
    written) the alert is sent all the same, its once-per-run guarantee lost, and a warning says so."""
    logger = logger or log
    claimed = _claim(registry, alert, logger)
    if claimed is None:
        logger.info("%s: run %s has alerted its team already: no second alert", alert.pipeline, alert.run_id)
        return None
    notified: dict[str, Any] = {}
    for channel, deliver in (("email", _email), ("kafka", _event)):
        try:
            target = deliver(alert, channels)
        except Exception as exc:
            error = scrub(f"{type(exc).__name__}: {exc}")[:500]
            logger.warning("%s: %s alert of run %s not sent: %s", alert.pipeline, channel, alert.run_id, error)
            notified[channel] = {"status": "failed", "error": error}
        else:
            notified[channel] = {"status": "sent", "to": target}
    logger.info("%s: run %s failed (%s): team %s alerted: %s", alert.pipeline, alert.run_id, alert.step, alert.team,
                ", ".join(f"{c} {o['status']}" for c, o in notified.items()))
    if claimed:
        _record(registry, alert, notified, logger)
    return notified


def _email(alert: Alert, channels: Channels) -> str:
    email.send_email(channels.smtp_conn_id, alert.support_email, subject(alert), html_body(alert))
    return alert.support_email


def _event(alert: Alert, channels: Channels) -> str:
    kafka.ensure_topics(channels.events_kafka_conn_id, [channels.topic])
    return cloudevents.publish_cloud_event(channels.events_kafka_conn_id, channels.topic, alert.pipeline, cloud_event(alert))


def _claim(registry, alert: Alert, logger: logging.Logger) -> bool | None:
    """``True`` once the run's row is ours, ``None`` when another alert of the run holds it,
    ``False`` when the registry could not say (send anyway)."""
    from sqlalchemy.exc import IntegrityError

    from airflow_provider_chimera.registry.models import AlertRow

    if registry is None:
        return False
    try:
        with registry.session() as session:
            session.add(AlertRow(pipeline_id=alert.pipeline, run_id=alert.run_id, at=alert.at, kind=alert.kind,
                                 task_id=alert.task_id, attempt=alert.attempt, reason=alert.reason, notified={}))
    except IntegrityError:
        return None
    except Exception as exc:
        logger.warning("%s: the registry cannot record the alert of run %s (%s); sending it anyway",
                       alert.pipeline, alert.run_id, scrub(f"{type(exc).__name__}: {exc}")[:300])
        return False
    return True


def _record(registry, alert: Alert, notified: dict[str, Any], logger: logging.Logger) -> None:
    from sqlalchemy import select

    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.registry.models import AlertRow

    try:
        with registry.session() as session:
            row = session.scalars(select(AlertRow).where(AlertRow.pipeline_id == alert.pipeline, AlertRow.run_id == alert.run_id)).one()
            row.notified = notified
            record(session, None, AUDIT_ACTION, intent=alert.intent, intent_hash=alert.intent_hash, details={
                "pipeline": alert.pipeline, "run_id": alert.run_id, "attempt": alert.attempt, "task_id": alert.task_id,
                "step": alert.step, "kind": alert.kind, "reason": alert.reason, "link": alert.link,
                **{channel: outcome["status"] for channel, outcome in notified.items()},
            })
    except Exception as exc:  # bookkeeping: the alert went out
        logger.warning("%s: alert of run %s not recorded: %s", alert.pipeline, alert.run_id, scrub(f"{type(exc).__name__}: {exc}")[:300])


def _check(result) -> str:
    check = result.check
    where = f" on {check.column}" if check.column else ""
    return f"{check.name} ({check.type}{where}): {result.outcome}"


def _cut(text: str) -> str:
    return text if len(text) <= REASON_CHARS * 2 else text[: REASON_CHARS * 2 - 1] + "…"
