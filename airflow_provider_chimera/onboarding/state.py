"""Where each intent's onboarding stands, as one row per intent in the registry.

The registry's ``onboarding_state`` table holds, per intent, the version being onboarded (its hash,
what kind of change it is, the steps done for it) and the last version whose onboarding completed
(its hash, its content and the pipelines it covers). The onboarding steps write it; an ingestion
DAG's ingest task reads it first when it runs (never while Airflow parses DAG files); the registry sync
reads it to decide which intents to send to onboarding. Every host reads the same row (decision
0042): a pipeline on one worker sees the onboarding another worker completed. A write replaces
the state whole, in the caller's transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from airflow_provider_chimera.registry.db import Registry


def _table():
    from airflow_provider_chimera.registry.models import OnboardingStateRow

    return OnboardingStateRow.__table__  # Core: the ingest task's onboarding check configures no ORM mapper


def load_state(db: Session | Connection, intent_name: str, *, for_update: bool = False) -> dict[str, Any]:
    """The intent's onboarding state; ``{}`` when it never started one. ``for_update``: its row
    locked until the transaction ends (PostgreSQL; SQLite's writing session holds the database)."""
    from sqlalchemy import select

    table = _table()
    query = select(table.c.state).where(table.c.intent == intent_name)
    found = db.execute(query.with_for_update() if for_update else query).first()
    return dict(found[0]) if found is not None else {}


@contextlib.contextmanager
def changing_state(registry: Registry, intent_name: str) -> Iterator[dict[str, Any]]:
    """The intent's onboarding state to change in the block, saved when it ends without error; one
    transaction, so two hosts changing the same intent's state take turns."""
    with registry.session() as session:
        state = load_state(session, intent_name, for_update=True)
        yield state
        save_state(session, intent_name, state)


def save_state(session: Session, intent_name: str, state: dict[str, Any]) -> None:
    """Replace the intent's onboarding state, in ``session``'s transaction."""
    from airflow_provider_chimera.registry.models import OnboardingStateRow, utcnow

    row = session.get(OnboardingStateRow, intent_name) or OnboardingStateRow(intent=intent_name)
    row.state, row.updated_at = dict(state), utcnow()
    session.add(row)
    session.flush()


def completed_hash(db: Session | Connection, intent_name: str) -> str | None:
    """The content hash of the intent's last version whose onboarding completed."""
    return (load_state(db, intent_name).get("completed") or {}).get("hash")


def ingestion_blocker(db: Session | Connection, intent_name: str, pipeline_id: str) -> str | None:
    """Why pipeline ``pipeline_id`` may not ingest yet, or ``None`` when its onboarding completed."""
    state = load_state(db, intent_name)
    completed = state.get("completed") or {}
    if pipeline_id in completed.get("pipelines", []):
        return None
    dag = f"chimera_onboard__{intent_name}"
    if not completed:
        why = f"intent {intent_name} has not completed onboarding yet"
    else:
        why = f"its object was added to intent {intent_name} after the onboarded version ({completed['hash'][:12]})"
    running = state.get("version") or {}
    if running and running.get("hash") != completed.get("hash"):
        failed = running.get("failed")
        where = f"; onboarding of version {running['hash'][:12]} " + (
            f"failed at step {failed['step']}: {failed['reason']}" if failed else "is under way"
        )
    else:
        where = ""
    return (
        f"pipeline {pipeline_id} waits for onboarding: {why}{where}. It runs on its next trigger once "
        f"DAG {dag} (or `chimera onboard`) has completed."
    )
