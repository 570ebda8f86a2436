"""The audit log: who did what, when, to which intent version — with nothing secret in it.

Every entry goes through :func:`~airflow_provider_chimera.secrets.scrub` before it is stored:
credentials in URIs become ``***``, values under keys named like a password, secret, token, key or
credential are replaced, and any value known to be a resolved ``${secret:...}`` placeholder
(passed as ``secrets=`` or remembered with :func:`~airflow_provider_chimera.secrets.register_secret`)
is cut out wherever it appears.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from airflow_provider_chimera.registry.models import AuditRow
from airflow_provider_chimera.secrets import scrub


def default_actor() -> str:
    """``airflow:<dag_id>/<run_id>`` inside an Airflow task, else the operating-system user."""
    dag_id, run_id = os.environ.get("AIRFLOW_CTX_DAG_ID"), os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
    if dag_id and run_id:
        return task_actor(dag_id, run_id)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (e.g. an arbitrary uid in a container)
        return f"uid:{os.getuid()}"


def task_actor(dag_id: str, run_id: str) -> str:
    return f"airflow:{dag_id}/{run_id}"


def record(
    target,
    actor: str | None,
    action: str,
    intent: str | None = None,
    intent_hash: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    secrets: Iterable[str] = (),
) -> AuditRow:
    """Append one scrubbed entry. ``target`` is a :class:`Session` (the caller commits, so the entry
    belongs to the caller's transaction) or a :class:`~.db.Registry` (committed at once)."""
    row = AuditRow(
        at=dt.datetime.now(dt.UTC),
        actor=scrub(actor or default_actor()),
        action=action,
        intent=intent,
        intent_hash=intent_hash,
        details=scrub(details or {}, secrets),
    )
    if isinstance(target, Session):
        target.add(row)
        target.flush()
        return row
    with target.session() as session:
        session.add(row)
    return row


def entries(
    session: Session,
    *,
    intent: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    limit: int | None = 100,
) -> list[AuditRow]:
    """Entries newest first; ``action`` and ``actor`` accept ``*`` wildcards (``pipeline.*``)."""
    query = select(AuditRow)
    if intent:
        query = query.where(AuditRow.intent == intent)
    for column, value in ((AuditRow.action, action), (AuditRow.actor, actor)):
        if value and "*" in value:
            pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
            query = query.where(column.like(pattern, escape="\\"))
        elif value:
            query = query.where(column == value)
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        query = query.where(AuditRow.at >= since)
    query = query.order_by(AuditRow.id.desc())
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))
