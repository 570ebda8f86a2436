"""Which intents the registry sync sends to onboarding, so that no person has to.

An intent goes to onboarding when the version in the folder validates, is not the version whose
onboarding completed last, and no onboarding of it has started. The registry sync emits an
asset event for each such intent (``chimera-intent://<intent>``), which starts its onboarding DAG.
Asking again on every sync until a run starts covers a DAG that Airflow had not parsed yet when
the first event came; once a run has started, a failure waits for a person to retry it (the team
is told how), it is not restarted every five minutes.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from airflow_provider_chimera.onboarding.state import load_state
from airflow_provider_chimera.registry.audit import record
from airflow_provider_chimera.registry.models import AuditRow


def request_onboarding(registry, intents_dir: Path, *, actor: str | None = None) -> list[tuple[str, str]]:
    """``(intent, content hash)`` of every intent waiting for onboarding; each request is audited
    once per version as ``onboarding.requested``."""
    folder = Path(intents_dir)
    if not folder.is_dir():
        return []
    from airflow_provider_chimera.pipelines import discover
    from airflow_provider_chimera.registry.manifest import onboarded_in

    waiting = []
    # Rejected files are left out: the sync audits them, and their team learns why from the import error.
    found = list(discover(folder, onboarded_in(registry)).intents.values())
    with registry.session(read_only=True) as reading:
        states = {loaded.intent.name: load_state(reading, loaded.intent.name) for loaded in found}
    for loaded in found:
        name, content_hash = loaded.intent.name, loaded.content_hash
        state = states[name]
        if (state.get("completed") or {}).get("hash") == content_hash:
            continue
        if (state.get("version") or {}).get("hash") == content_hash:
            continue  # a run started for this version
        waiting.append((name, content_hash))
    if waiting:
        with registry.session() as session:
            for name, content_hash in waiting:
                seen = session.scalar(
                    select(AuditRow.id).where(
                        AuditRow.action == "onboarding.requested", AuditRow.intent == name, AuditRow.intent_hash == content_hash
                    ).limit(1)
                )
                if seen is None:
                    record(session, actor, "onboarding.requested", intent=name, intent_hash=content_hash,
                           details={"reason": "new or changed version in the intents folder"})
    return waiting
