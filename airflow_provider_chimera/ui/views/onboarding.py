"""The onboarding page: each intent's state (valid, or rejected with the reason), the onboarding
steps done for its newest version, and the pipelines it covers; four queries whatever the count.

A user sees the intents with a pipeline they may read; intents with no pipeline (rejected, or not
onboarded yet) only when they may read every DAG (``all_dags``), since nothing ties them to a DAG.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

from pydantic import BaseModel
from sqlalchemy import select

from airflow_provider_chimera.onboarding.workflow import STEPS, onboarding_dag_id
from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.models import AuditRow, IntentRow, OnboardingStateRow, PipelineRow, TeamRow

_I, _T, _P = IntentRow.__table__, TeamRow.__table__, PipelineRow.__table__
_A, _O = AuditRow.__table__, OnboardingStateRow.__table__


class IntentOnboarding(BaseModel):
    intent: str
    team: str | None
    file: str | None
    status: str  # valid, rejected, removed
    rejection: str | None
    current_hash: str | None
    onboarded_hash: str | None
    onboarding_dag: str
    version_hash: str | None
    steps_done: list[str]
    failed: str | None
    pipelines: list[str]
    pipelines_waiting: list[str]
    updated_at: dt.datetime | None


class Onboarding(BaseModel):
    steps: list[str]
    intents: list[IntentOnboarding]


def _problems_text(details: dict) -> str:
    problems = details.get("problems")
    if isinstance(problems, list):
        return "; ".join(str(p) for p in problems)
    return str(problems or details.get("reason") or "rejected")


def load_onboarding(registry: Registry, readable: Callable[[Iterable[str]], set[str]], *, all_dags: bool = False) -> Onboarding:
    """Every intent ``readable`` (or ``all_dags``) lets the user see, by name."""
    with registry.session(read_only=True) as session:
        intents = session.execute(
            select(_I.c.id, _I.c.name, _I.c.file, _I.c.status, _I.c.current_hash, _I.c.updated_at, _T.c.name.label("team"))
            .outerjoin(_T, _T.c.id == _I.c.team_id)
            .order_by(_I.c.name)
        ).all()
        pipelines: dict[int, list[str]] = defaultdict(list)
        for intent_id, pipeline_id in session.execute(
            select(_P.c.intent_id, _P.c.pipeline_id).where(_P.c.status != "retired").order_by(_P.c.pipeline_id)
        ):
            pipelines[intent_id].append(pipeline_id)
        states = {name: state or {} for name, state in session.execute(select(_O.c.intent, _O.c.state))}
        rejected = [row.name for row in intents if row.status == "rejected"]
        reasons: dict[str, str] = {}
        if rejected:
            for name, details in session.execute(
                select(_A.c.intent, _A.c.details)
                .where(_A.c.action == "intent.rejected", _A.c.intent.in_(rejected))
                .order_by(_A.c.id.desc())
            ):
                reasons.setdefault(name, _problems_text(details or {}))
    allowed = readable([p for ids in pipelines.values() for p in ids])
    out = []
    for row in intents:
        own = pipelines.get(row.id, [])
        if own and not (set(own) & allowed):
            continue
        if not own and not all_dags:
            continue
        state = states.get(row.name, {})
        completed, version = state.get("completed") or {}, state.get("version") or {}
        failed = version.get("failed")
        covered = set(completed.get("pipelines", []))
        shown = [p for p in own if p in allowed]
        out.append(
            IntentOnboarding(
                intent=row.name, team=row.team, file=row.file, status=row.status,
                rejection=reasons.get(row.name, "rejected") if row.status == "rejected" else None,
                current_hash=row.current_hash, onboarded_hash=completed.get("hash"),
                onboarding_dag=onboarding_dag_id(row.name), version_hash=version.get("hash"),
                steps_done=[step for step in STEPS if step in (version.get("steps") or {})],
                failed=f"step {failed.get('step')}: {failed.get('reason')}" if isinstance(failed, dict) else None,
                pipelines=[p for p in shown if p in covered],
                pipelines_waiting=[p for p in shown if p not in covered],
                updated_at=row.updated_at,
            )
        )
    return Onboarding(steps=list(STEPS), intents=out)
