"""The pipelines board: one row per pipeline the user may read, worst SLA state first.

A page costs a fixed number of queries whatever the fleet's size: one for every pipeline's
identity and SLA state (filtered by team, source type and SLA in SQL, by the user's DAGs in
Python), one for every pipeline's last run state when "failing only" is asked, then three for the
rows of the page only (their last :data:`TREND_RUNS` runs, last success, quality results).
``make bench-ui`` times it with 5,000 pipelines (docs/ui.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy import and_, func, select

from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.models import (
    CheckResultRow,
    IntentRow,
    ObjectRow,
    PipelineRow,
    RunRow,
    SlaStatusRow,
    SourceRow,
    TeamRow,
)
from airflow_provider_chimera.settings import load_settings

TREND_RUNS = 10
# Worst first: the order of the board and of the SLA filter's choices.
SLA_ORDER = ("late", "error", "warning", "unknown", "on_time")
FAILED_STATES = ("failed",)

_P, _I, _T, _S, _O = PipelineRow.__table__, IntentRow.__table__, TeamRow.__table__, SourceRow.__table__, ObjectRow.__table__
_R, _C, _SLA = RunRow.__table__, CheckResultRow.__table__, SlaStatusRow.__table__


class BoardFilters(BaseModel):
    """The board's query: filters and the page wanted."""

    team: str | None = None
    source_type: str | None = None
    sla: str | None = None
    failing: bool = False
    page: int = 1
    page_size: int = 50


class RunPoint(BaseModel):
    """One run in a row's trend (oldest first)."""

    run_id: str
    state: str
    rows: int | None


class BoardRow(BaseModel):
    """One pipeline on the board."""

    pipeline_id: str
    team: str | None
    intent: str
    source: str
    source_type: str
    object: str
    target_table: str
    status: str
    last_run_state: str | None
    last_run_id: str | None
    last_run_ended_at: dt.datetime | None
    last_success_at: dt.datetime | None
    rows_last_run: int | None
    trend: list[RunPoint]
    sla_state: str
    quality_checks: int
    quality_pass_rate: float | None
    quarantined_rows_last_run: int | None
    last_error: str | None
    grid_path: str
    lineage_url: str | None


class Board(BaseModel):
    """A page of the board, with what the filters can choose from."""

    rows: list[BoardRow]
    total: int
    page: int
    page_size: int
    pages: int
    teams: list[str]
    source_types: list[str]
    sla_states: list[str]


def first_line(text: str | None, limit: int = 300) -> str | None:
    """The first non-empty line of an error, at most ``limit`` characters."""
    if not text:
        return None
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def grid_path(dag_id: str) -> str:
    """The DAG's grid in Airflow's UI, relative to Airflow's base URL."""
    return f"dags/{quote(dag_id, safe='')}/grid"


def lineage_url(datahub_url: str, target_table: str) -> str | None:
    """The target table's lineage in DataHub's UI; ``None`` when ``[chimera] datahub_url`` is empty."""
    if not datahub_url.strip():
        return None
    from airflow_provider_chimera.metadata.naming import dataset_urn

    return f"{datahub_url.rstrip('/')}/dataset/{quote(dataset_urn('iceberg', target_table), safe='')}/Lineage"


_RANK = {state: rank for rank, state in enumerate(SLA_ORDER)}


def _sla_rank(state: str) -> int:
    return _RANK.get(state, len(SLA_ORDER))


def load_board(registry: Registry, filters: BoardFilters, readable: Callable[[Iterable[str]], set[str]]) -> Board:
    """The page ``filters`` asks for, of the pipelines ``readable`` keeps (the user's DAGs)."""
    datahub_url = load_settings().datahub_url
    with registry.session(read_only=True) as session:
        base = (
            select(
                _P.c.pipeline_id, _P.c.target_table, _P.c.status, _I.c.name.label("intent"), _T.c.name.label("team"),
                _S.c.name.label("source"), _S.c.type.label("source_type"), _O.c.name.label("object"),
                func.coalesce(_SLA.c.state, "unknown").label("sla_state"),
            )
            .join(_I, _I.c.id == _P.c.intent_id)
            .outerjoin(_T, _T.c.id == _I.c.team_id)
            .join(_S, _S.c.id == _P.c.source_id)
            .join(_O, _O.c.id == _P.c.object_id)
            .outerjoin(_SLA, _SLA.c.pipeline_id == _P.c.pipeline_id)
            .where(_P.c.status != "retired")
        )
        everyone = session.execute(base).all()
        allowed = readable([row.pipeline_id for row in everyone])
        visible = [row for row in everyone if row.pipeline_id in allowed]
        teams = sorted({row.team for row in visible if row.team})
        source_types = sorted({row.source_type for row in visible})
        sla_states = sorted({row.sla_state for row in visible}, key=_sla_rank)
        chosen = [
            row for row in visible
            if (filters.team is None or row.team == filters.team)
            and (filters.source_type is None or row.source_type == filters.source_type)
            and (filters.sla is None or row.sla_state == filters.sla)
        ]
        if filters.failing:
            failing = _last_run_failed(session)
            chosen = [row for row in chosen if row.pipeline_id in failing]
        chosen.sort(key=lambda row: (_sla_rank(row.sla_state), row.pipeline_id))
        start = (filters.page - 1) * filters.page_size
        page = chosen[start : start + filters.page_size]
        ids = [row.pipeline_id for row in page]
        runs = _recent_runs(session, ids)
        successes = _last_successes(session, ids)
        checks = _check_counts(session, ids)
    rows = []
    for row in page:
        recent = runs.get(row.pipeline_id, [])
        last = recent[0] if recent else None
        window = {run.run_id for run in recent}
        counted = [(outcome, n) for run_id, outcome, n in checks.get(row.pipeline_id, []) if run_id in window]
        total = sum(n for _, n in counted)
        passed = sum(n for outcome, n in counted if outcome == "passed")
        rows.append(
            BoardRow(
                pipeline_id=row.pipeline_id, team=row.team, intent=row.intent, source=row.source,
                source_type=row.source_type, object=row.object, target_table=row.target_table, status=row.status,
                last_run_state=last.state if last else None, last_run_id=last.run_id if last else None,
                last_run_ended_at=last.ended_at if last else None, last_success_at=successes.get(row.pipeline_id),
                rows_last_run=last.rows if last else None,
                trend=[RunPoint(run_id=run.run_id, state=run.state, rows=run.rows) for run in reversed(recent)],
                sla_state=row.sla_state, quality_checks=total,
                quality_pass_rate=round(passed / total, 4) if total else None,
                quarantined_rows_last_run=last.quarantined_rows if last else None,
                last_error=first_line(last.error) if last else None,
                grid_path=grid_path(row.pipeline_id), lineage_url=lineage_url(datahub_url, row.target_table),
            )
        )
    pages = max(1, -(-len(chosen) // filters.page_size))
    return Board(
        rows=rows, total=len(chosen), page=filters.page, page_size=filters.page_size, pages=pages,
        teams=teams, source_types=source_types, sla_states=sla_states,
    )


def _last_run_failed(session) -> set[str]:
    """Every pipeline whose newest run (highest id) failed: one grouped query."""
    newest = select(_R.c.pipeline_id, func.max(_R.c.id).label("id")).group_by(_R.c.pipeline_id).subquery()
    query = select(_R.c.pipeline_id).join(newest, newest.c.id == _R.c.id).where(_R.c.state.in_(FAILED_STATES))
    return set(session.execute(query).scalars())


def _recent_runs(session, ids: list[str]) -> dict[str, list]:
    """The last :data:`TREND_RUNS` runs of each pipeline of ``ids``, newest first: one query."""
    if not ids:
        return {}
    number = func.row_number().over(partition_by=_R.c.pipeline_id, order_by=_R.c.id.desc()).label("n")
    ranked = select(
        _R.c.pipeline_id, _R.c.run_id, _R.c.state, _R.c.rows, _R.c.ended_at, _R.c.error, _R.c.quarantined_rows, number
    ).where(_R.c.pipeline_id.in_(ids)).subquery()
    query = select(ranked).where(ranked.c.n <= TREND_RUNS).order_by(ranked.c.pipeline_id, ranked.c.n)
    out: dict[str, list] = defaultdict(list)
    for run in session.execute(query):
        out[run.pipeline_id].append(run)
    return out


def _last_successes(session, ids: list[str]) -> dict[str, dt.datetime]:
    if not ids:
        return {}
    query = (
        select(_R.c.pipeline_id, func.max(func.coalesce(_R.c.ended_at, _R.c.started_at)))
        .where(and_(_R.c.pipeline_id.in_(ids), _R.c.state == "success"))
        .group_by(_R.c.pipeline_id)
    )
    return {pipeline_id: _as_utc(at) for pipeline_id, at in session.execute(query) if at is not None}


def _as_utc(value):
    # max() over a UTCDateTime column comes back as the driver's value (naive on SQLite).
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _check_counts(session, ids: list[str]) -> dict[str, list[tuple[str, str, int]]]:
    """``(run_id, outcome, count)`` of the quality checks of each pipeline of ``ids``: one query."""
    if not ids:
        return {}
    query = (
        select(_C.c.pipeline_id, _C.c.run_id, _C.c.outcome, func.count())
        .where(_C.c.pipeline_id.in_(ids))
        .group_by(_C.c.pipeline_id, _C.c.run_id, _C.c.outcome)
    )
    out: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for pipeline_id, run_id, outcome, count in session.execute(query):
        out[pipeline_id].append((run_id, outcome, count))
    return out


__all__ = ["Board", "BoardFilters", "BoardRow", "load_board"]
