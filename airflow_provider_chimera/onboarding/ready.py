"""Telling a team, once per pipeline, that its table is ready to query.

Called at the end of a successful ingest run. The first run that publishes a snapshot sends the
team a ``table_ready`` notification and, once the mail was sent, writes ``pipeline.table_ready``
to the audit log; that entry is the marker that keeps later runs from sending it again (a mail
that could not be sent is tried again after the next published run). Nothing here fails the run.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

log = logging.getLogger(__name__)

ACTION = "pipeline.table_ready"


def notify_table_ready(pipeline, result: dict[str, Any], *, settings=None, registry=None, logger=None) -> bool:
    """Notify ``pipeline``'s team after its first published snapshot; ``True`` if it was sent now."""
    logger = logger or log
    if not result.get("published"):
        return False
    try:
        from airflow_provider_chimera.onboarding.notify import notify_team
        from airflow_provider_chimera.registry.audit import record
        from airflow_provider_chimera.registry.db import open_registry
        from airflow_provider_chimera.registry.models import AuditRow
        from airflow_provider_chimera.settings import load_settings

        settings = settings or load_settings()
        registry = registry or open_registry(settings)
        audit = AuditRow.__table__  # Core, not the ORM: see registry/runs.py (no mapper configuration per task)
        with registry.engine.connect() as conn:
            marked = conn.execute(
                select(audit.c.details).where(audit.c.action == ACTION, audit.c.intent == pipeline.intent)
            ).scalars().all()
        if any((details or {}).get("pipeline") == pipeline.id for details in marked):
            return False
        details = {
            "pipeline": pipeline.id,
            "target_table": pipeline.target_table,
            "rows": result.get("rows"),
            "snapshot_id": result.get("snapshot_id"),
        }
        message = notify_team("table_ready", intent_name=pipeline.intent, team_email=pipeline.team.support_email,
                              details=details, settings=settings)
        if message != "sent":  # not marked: the next published run tries again
            logger.warning("%s: table ready, but the team was not notified: %s", pipeline.id, message)
            return False
        record(registry, None, ACTION, intent=pipeline.intent, intent_hash=pipeline.intent_hash,
               details={**details, "to": pipeline.team.support_email, "notification": message})
        return True
    except Exception as exc:  # the data is committed; a missed notice must not fail the run
        from airflow_provider_chimera.secrets import scrub

        logger.warning("%s: table ready, but the team was not notified: %s", pipeline.id, scrub(f"{type(exc).__name__}: {exc}"))
        return False
