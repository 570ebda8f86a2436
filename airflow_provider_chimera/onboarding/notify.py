"""Emails to a team about its intent's onboarding: completed, discoverable, failed, a table ready to query.

Mails go to the intent's ``team.support_email`` through the Airflow SMTP connection
``[chimera] smtp_conn_id``. :func:`notify_team` never raises because of SMTP trouble: it logs it
and returns ``"failed: <reason>"`` (with credentials scrubbed), so a mail server that is down
never fails an onboarding.

``details`` may hold (all optional): ``sources`` (``[{"name", "type", "objects": [...]}]``),
``targets`` (``["namespace.table", ...]``), ``links`` (label -> URL, e.g. DataHub or Superset),
``datahub_urns`` (name -> URN), ``pipelines`` (DAG ids); for a failure ``step``, ``reason`` and
``retry`` (how to retry; a default names ``chimera onboard`` and the Airflow UI); for
``table_ready`` ``table`` or ``target_table`` (else the first target), ``pipeline`` and ``rows``. The data of an onboarding event
(``OnboardingEventData.model_dump()``) fits as it is.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from airflow_provider_chimera.settings import ChimeraSettings

log = logging.getLogger(__name__)

NoticeKind = Literal["completion", "discovery", "failure", "table_ready"]
NOTICE_KINDS = ("completion", "discovery", "failure", "table_ready")


def subject(kind: NoticeKind, intent_name: str, details: Mapping[str, Any]) -> str:
    """``Chimera: sales_crm onboarding completed`` and the like."""
    if kind == "completion":
        return f"Chimera: {intent_name} onboarding completed"
    if kind == "discovery":
        return f"Chimera: {intent_name} data discovery available"
    if kind == "failure":
        step = details.get("step")
        return f"Chimera: {intent_name} onboarding failed" + (f" at {step}" if step else "")
    if kind == "table_ready":
        return f"Chimera: {_table(details) or intent_name} is ready to query ({intent_name})"
    raise ValueError(f"unknown notice kind {kind!r}; one of {', '.join(NOTICE_KINDS)}")


def html_body(kind: NoticeKind, intent_name: str, details: Mapping[str, Any]) -> str:
    from airflow_provider_chimera.secrets import scrub

    details = scrub(dict(details))  # credentials never reach a mail, whichever field they hide in
    e = html.escape
    intent = f"<b>{e(intent_name)}</b>"
    parts: list[str] = []
    if kind == "completion":
        parts.append(f"<p>Intent {intent} is onboarded: its pipelines and target tables exist.</p>")
    elif kind == "discovery":
        parts.append(f"<p>The datasets of intent {intent} are described in DataHub and can be discovered there.</p>")
    elif kind == "table_ready":
        table = _table(details)
        pipeline = details.get("pipeline")
        by = f" by pipeline <code>{e(str(pipeline))}</code>" if pipeline else ""
        rows = details.get("rows")
        count = f" ({rows} rows)" if isinstance(rows, int) else ""
        parts.append(
            f"<p>Table <b>{e(table or '?')}</b> of intent {intent} received its first data{by}{e(count)} "
            "and is ready to query.</p>"
        )
    elif kind == "failure":
        step = str(details.get("step") or "onboarding")
        reason = str(scrub(str(details.get("reason") or "no reason given")))
        parts.append(f"<p>Onboarding intent {intent} failed at step <b>{e(step)}</b>.</p>")
        parts.append(f"<p>Reason: <code>{e(reason)}</code></p>")
        retry = details.get("retry")
        if retry:
            parts.append(f"<p>To retry: {e(str(scrub(str(retry))))}</p>")
        else:
            parts.append(
                "<p>To retry once the cause is fixed: run "
                f"<code>chimera onboard intents/{e(intent_name)}.json</code>, or clear the failed task "
                "in the Airflow UI.</p>"
            )
    else:
        raise ValueError(f"unknown notice kind {kind!r}; one of {', '.join(NOTICE_KINDS)}")
    parts.extend(_facts(details))
    return "".join(parts)


def notify_team(
    kind: NoticeKind,
    *,
    intent_name: str,
    team_email: str,
    details: Mapping[str, Any],
    settings: ChimeraSettings | None = None,
) -> str:
    """Mail the team about ``kind``; returns ``"sent"`` or ``"failed: <reason>"``."""
    from airflow_provider_chimera.notify import email
    from airflow_provider_chimera.secrets import scrub
    from airflow_provider_chimera.settings import load_settings

    settings = settings or load_settings()
    title = subject(kind, intent_name, details)
    body = html_body(kind, intent_name, details)
    try:
        email.send_email(settings.smtp_conn_id, team_email, title, body)
    except Exception as exc:  # a mail server's trouble never fails the onboarding
        reason = scrub(f"{type(exc).__name__}: {exc}")[:500]
        log.warning("%s notice of intent %s to %s not sent: %s", kind, intent_name, team_email, reason)
        return f"failed: {reason}"
    log.info("%s notice of intent %s sent to %s", kind, intent_name, team_email)
    return "sent"


def _table(details: Mapping[str, Any]) -> str | None:
    targets = details.get("targets") or []
    return details.get("table") or details.get("target_table") or (targets[0] if targets else None)


def _facts(details: Mapping[str, Any]) -> list[str]:
    e = html.escape
    out: list[str] = []
    sources = details.get("sources") or []
    if sources:
        items = []
        for source in sources:
            objects = ", ".join(str(o) for o in source.get("objects") or []) or "all visible objects"
            items.append(f"<li><b>{e(str(source.get('name')))}</b> ({e(str(source.get('type')))}): {e(objects)}</li>")
        out.append(f"<p>Sources and objects:</p><ul>{''.join(items)}</ul>")
    targets = details.get("targets") or []
    if targets:
        out.append("<p>Target tables:</p><ul>" + "".join(f"<li><code>{e(str(t))}</code></li>" for t in targets) + "</ul>")
    pipelines = details.get("pipelines") or []
    if pipelines:
        out.append("<p>Pipelines (Airflow DAGs):</p><ul>" + "".join(f"<li><code>{e(str(p))}</code></li>" for p in pipelines) + "</ul>")
    links = {**dict(details.get("links") or {}), **dict(details.get("superset") or {})}
    if links:
        out.append(
            "<p>Links:</p><ul>"
            + "".join(f"<li><a href='{e(str(url))}'>{e(str(label))}</a></li>" for label, url in links.items())
            + "</ul>"
        )
    urns = details.get("datahub_urns") or {}
    if urns:
        out.append(
            "<p>In DataHub:</p><ul>"
            + "".join(f"<li>{e(str(name))}: <code>{e(str(urn))}</code></li>" for name, urn in urns.items())
            + "</ul>"
        )
    return out
