"""``chimera status``: the timeliness board of every pipeline with an ``sla``, from the registry."""

from __future__ import annotations

import json
import sys
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 200)

# Worst first, so what needs attention is at the top of the board.
_ORDER = {"error": 0, "late": 0, "warning": 1, "unknown": 2, "on_time": 3, None: 4}
_STYLE = {"error": "red", "late": "red", "warning": "yellow", "unknown": "dim", "on_time": "green"}


class StatusFormat(str, Enum):
    table = "table"
    json = "json"


def board(registry, team: str | None = None) -> list[dict[str, Any]]:
    """One row per active pipeline with an ``sla``: its state as the ``chimera_timeliness`` DAG last
    recorded it (``None`` before the first check), and the SLA of its intent's current version."""
    from sqlalchemy import select

    from airflow_provider_chimera.registry.models import IntentRow, PipelineRow, SlaStatusRow, TeamRow

    with registry.session() as session:
        query = (
            select(PipelineRow, IntentRow, TeamRow.name, SlaStatusRow)
            .join(IntentRow, IntentRow.id == PipelineRow.intent_id)
            .outerjoin(TeamRow, TeamRow.id == IntentRow.team_id)
            .outerjoin(SlaStatusRow, SlaStatusRow.pipeline_id == PipelineRow.pipeline_id)
            .where(PipelineRow.status == "active")
        )
        if team:
            query = query.where(TeamRow.name == team)
        rows = []
        slas: dict[int, dict[str, Any]] = {}
        for pipeline, intent, team_name, status in session.execute(query):
            if intent.id not in slas:
                slas[intent.id] = _slas_of(session, intent)
            sla = slas[intent.id].get(pipeline.pipeline_id)
            if sla is None:
                continue
            rows.append(
                {
                    "pipeline": pipeline.pipeline_id,
                    "team": team_name,
                    "state": status.state if status else None,
                    "since": _iso(status.since) if status else None,
                    "last_published_at": _iso(status.last_published_at) if status else None,
                    "checked_at": _iso(status.checked_at) if status else None,
                    "fresh_within": sla.fresh_within,
                    "warn_after": sla.warn_after,
                    **({"reason": status.reason} if status is not None and status.reason else {}),  # why ``error``
                }
            )
    return sorted(rows, key=lambda r: (_ORDER.get(r["state"], 4), r["team"] or "", r["pipeline"]))


def _slas_of(session, intent) -> dict[str, Any]:
    """Pipeline id -> ``sla`` in the intent's current version (else its newest version that parses)."""
    from sqlalchemy import select

    from airflow_provider_chimera.contract.load import IntentError, parse_intent
    from airflow_provider_chimera.pipelines import pipelines_of
    from airflow_provider_chimera.registry.models import IntentVersionRow

    versions = list(session.scalars(select(IntentVersionRow).where(IntentVersionRow.intent_id == intent.id).order_by(IntentVersionRow.id.desc())))
    versions.sort(key=lambda v: v.content_hash != intent.current_hash)  # the current one first
    for version in versions:
        try:
            parsed = parse_intent(version.content.encode(), intent.file or intent.name)
        except IntentError:
            continue
        return {p.id: p.ingestion.sla for p in pipelines_of(parsed, intent.file or "", version.content_hash) if p.ingestion.sla}
    return {}


def _iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def status(
    team: Annotated[str | None, typer.Option("--team", help="Only this team's pipelines.")] = None,
    fmt: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = StatusFormat.table,
) -> None:
    """The timeliness board: each pipeline with an SLA, on time, in early warning, or late."""
    from airflow_provider_chimera.cli.registry import _open
    from airflow_provider_chimera.governance.timeliness import LABELS

    registry = _open()
    try:
        rows = board(registry, team)
    finally:
        registry.close()
    if fmt is StatusFormat.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("no pipeline with an sla" + (f" for team {team}" if team else ""), markup=False, highlight=False)
        return
    view = Table("pipeline", "team", "state", "since (UTC)", "last published (UTC)", "fresh within", "warn after", title="Chimera timeliness")
    for row in rows:
        state = LABELS.get(row["state"], row["state"]) if row["state"] else "not checked yet"
        if row.get("reason"):
            state = f"{state}: {row['reason']}"
        view.add_row(
            row["pipeline"],
            row["team"] or "",
            f"[{_STYLE.get(row['state'], 'dim')}]{state}[/]",
            _short(row["since"]),
            _short(row["last_published_at"]) or ("never" if row["state"] else ""),
            row["fresh_within"],
            row["warn_after"] or "-",
        )
    out.print(view)


def _short(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else ""


def register(app: typer.Typer) -> None:
    app.command("status")(status)
