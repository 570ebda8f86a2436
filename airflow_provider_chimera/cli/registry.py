"""``chimera audit``, ``chimera registry …`` and ``chimera intent diff|onboard``.

Every command here writes an audit entry (who, what, when, which intent version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

registry_app = typer.Typer(help="Chimera's own metadata store: intents, versions, pipelines, audit log.", no_args_is_help=True)


class ListFormat(str, Enum):
    table = "table"
    json = "json"


class DiffFormat(str, Enum):
    text = "text"
    json = "json"


def _plain(console: Console, text: str, style: str | None = None) -> None:
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _open():
    """The registry of the current configuration; exit 1 with a clear message when it cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError

    from airflow_provider_chimera.secrets import scrub
    from airflow_provider_chimera.registry.db import open_registry
    from airflow_provider_chimera.settings import load_settings

    settings = load_settings()
    try:
        return open_registry(settings)
    except (SQLAlchemyError, OSError) as exc:
        _plain(err, scrub(f"cannot open the Chimera registry ({settings.sql_alchemy_conn}): {exc}"))
        raise typer.Exit(1) from None


def _problems_out(problems) -> None:
    for problem in problems:
        _plain(err, str(problem))


def audit_command(
    intent: Annotated[str | None, typer.Option("--intent", help="Only entries about this intent.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action; `*` is a wildcard (pipeline.*).")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor; `*` is a wildcard (airflow:*).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only entries at or after this ISO-8601 time (UTC unless it says).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many entries, newest first.")] = 50,
    fmt: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = ListFormat.table,
) -> None:
    """List the audit log: who did what, when, to which intent version."""
    from airflow_provider_chimera.registry.audit import entries, record

    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            raise typer.BadParameter(f"{since!r} is not an ISO-8601 date or time", param_hint="--since") from None
    registry = _open()
    with registry.session() as session:
        rows = [row.as_dict() for row in entries(session, intent=intent, action=action, actor=actor, since=start, limit=limit)]
    filters = {"intent": intent, "action": action, "actor": actor, "since": since, "limit": limit}
    record(registry, None, "audit.viewed", intent=intent, details={k: v for k, v in filters.items() if v is not None})
    registry.close()
    if fmt is ListFormat.json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("at (UTC)", "actor", "action", "intent", "hash", title="Chimera audit log")
    table.add_column("details", overflow="fold")
    for row in rows:
        table.add_row(
            row["at"][:19].replace("T", " "),
            row["actor"],
            row["action"],
            row["intent"] or "",
            (row["intent_hash"] or "")[:12],
            json.dumps(row["details"], separators=(",", ":")),
        )
    out.print(table)


@registry_app.command("sync")
def registry_sync(
    intents: Annotated[
        Path | None, typer.Option("--intents", help="Intents folder (default: the intents_dir option of the chimera config section).")
    ] = None,
) -> None:
    """Record the intents folder and the factory's decisions about it (created, retired, rejected, pending)."""
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.pipelines.sync import sync_registry
    from airflow_provider_chimera.settings import load_settings

    folder = intents or load_settings().intents_dir
    registry = _open()
    report = sync_registry(registry, folder)
    record(registry, None, "registry.synced", details={"intents_dir": str(folder), **report.counts()})
    registry.close()
    labels = {
        "versions": "new version",
        "created": "pipeline created",
        "pending_onboarding": "pipeline pending onboarding",
        "retired": "pipeline retired (data kept)",
        "rejected": "intent rejected",
        "removed": "intent removed",
    }
    for name, label in labels.items():
        for item in getattr(report, name):
            _plain(out, f"{label}: {item}")
    if not report.changed:
        _plain(out, f"registry up to date with {folder}")


@registry_app.command("info")
def registry_info() -> None:
    """Where the registry lives, its schema revision, how many intents and pipelines it holds, and how
    much lineage waits for the DataHub Lite writer (``chimera_metadata``)."""
    from sqlalchemy import func, select

    from airflow_provider_chimera.metadata.queue import queued_count
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.registry.db import current_revision
    from airflow_provider_chimera.registry.models import (
        AuditRow,
        IntentRow,
        PipelineRow,
    )

    registry = _open()
    with registry.session() as session:
        intents = session.scalar(select(func.count()).select_from(IntentRow).where(IntentRow.status != "removed"))
        statuses = dict(session.execute(select(PipelineRow.status, func.count()).group_by(PipelineRow.status)).all())
        audit = session.scalar(select(func.count()).select_from(AuditRow))
    info = {
        "database": registry.url,
        "revision": current_revision(registry.engine),
        "intents": intents,
        "pipelines": statuses,
        "audit_entries": audit,
        "lineage_queued_for_datahub_lite": queued_count(registry),
    }
    record(registry, None, "registry.viewed")
    registry.close()
    for key, value in info.items():
        _plain(out, f"{key}: {value}")


def intent_diff(
    path: Annotated[Path, typer.Argument(help="The intent file to compare with its onboarded version.")],
    fmt: Annotated[DiffFormat, typer.Option("--format", help="text or json.")] = DiffFormat.text,
) -> None:
    """Compare an intent file with its last onboarded version. Exit 2 if the file is invalid.

    Removed objects or columns are allowed (their pipelines are retired, data kept); added ones
    need onboarding and get no pipeline until then; changed settings are listed field by field.
    """
    from airflow_provider_chimera.contract.diff import diff_intents
    from airflow_provider_chimera.contract.load import IntentError, parse_intent
    from airflow_provider_chimera.registry.audit import record
    from airflow_provider_chimera.registry.manifest import read_onboarded
    from airflow_provider_chimera.registry.onboard import read_intent_bytes

    registry = _open()
    try:
        raw = read_intent_bytes(path)
        current = parse_intent(raw, str(path), stem=path.stem)
        with registry.session(read_only=True) as session:
            onboarded = read_onboarded(session, current.name)
    except IntentError as exc:
        record(registry, None, "intent.rejected", intent=path.stem,
               details={"file": str(path), "while": "diff", "problems": [str(p) for p in exc.problems]})
        registry.close()
        _problems_out(exc.problems)
        raise typer.Exit(2) from None
    current_hash = hashlib.sha256(raw).hexdigest()
    change = diff_intents(onboarded.intent, current) if onboarded else None
    summary: dict[str, Any] = {"file": str(path), "onboarded_hash": onboarded.content_hash if onboarded else None}
    if change is not None:
        summary.update(
            removed_objects=len(change.removed_objects), removed_columns=len(change.removed_columns),
            added_objects=len(change.added_objects), added_columns=len(change.added_columns),
            changed=len(change.changed), needs_onboarding=change.needs_onboarding,
        )
    record(registry, None, "intent.diffed", intent=current.name, intent_hash=current_hash, details=summary)
    registry.close()
    if fmt is DiffFormat.json:
        body = {"intent": current.name, "file": str(path), "current_hash": current_hash, **summary}
        body["diff"] = change.model_dump(mode="json") if change else None
        print(json.dumps(body, indent=2))
        return
    if onboarded is None:
        _plain(out, f"{current.name} has never been onboarded; `chimera intent onboard {path}` onboards this version.")
        return
    _plain(out, f"{current.name}: {path} ({current_hash[:12]}) against the onboarded version ({onboarded.content_hash[:12]})")
    if change.is_empty:
        _plain(out, "no differences")
        return
    sections = [
        ("removed objects (their pipelines are retired, data kept)", change.removed_objects, "-", "red"),
        ("removed columns (no longer read, data kept)", change.removed_columns, "-", "red"),
        ("added objects (need onboarding; no pipeline until then)", change.added_objects, "+", "green"),
        ("added columns (need onboarding; pipelines keep the onboarded columns until then)", change.added_columns, "+", "green"),
        ("changed settings", change.changed, "~", "yellow"),
    ]
    for title, items, mark, style in sections:
        if items:
            _plain(out, f"{title}:", style="bold")
            for item in items:
                _plain(out, f"  {mark} {item}", style=style)


def intent_onboard(
    path: Annotated[Path, typer.Argument(help="The intent file whose version to record as onboarded.")],
) -> None:
    """Record an intent file as its intent's onboarded version; the factory then builds what it declares."""
    from airflow_provider_chimera.contract.load import IntentError
    from airflow_provider_chimera.registry.onboard import onboard

    registry = _open()
    try:
        result = onboard(registry, path)
    except IntentError as exc:
        _problems_out(exc.problems)
        raise typer.Exit(2) from None
    finally:
        registry.close()
    where = f" (git {result.git_commit[:12]})" if result.git_commit else ""
    _plain(out, f"onboarded {result.name} version {result.content_hash[:12]}{where}")
    if result.diff is not None:
        for item in result.diff.added_objects:
            _plain(out, f"  + object {item}")
        for item in result.diff.added_columns:
            _plain(out, f"  + columns {item}")


def register_intent_commands(intent_app: typer.Typer) -> None:
    """Add ``diff`` and ``onboard`` to the ``chimera intent`` command group."""
    intent_app.command("diff")(intent_diff)
    intent_app.command("onboard")(intent_onboard)


def register_registry_commands(app: typer.Typer) -> None:
    """Add ``audit`` and the ``registry`` command group to the ``chimera`` command."""
    app.command("audit")(audit_command)
    app.add_typer(registry_app, name="registry")
