"""Where each intent's onboarding stands, as one small file per intent.

``<state_dir>/onboarding/<intent>.json`` holds the version being onboarded (its hash, what kind of
change it is, the steps done for it) and the last version whose onboarding completed (its hash,
its content and the pipelines it covers). The onboarding steps write it; an ingestion DAG's guard
task reads it when it runs (never while Airflow parses DAG files); the registry sync reads it to
decide which intents to send to onboarding. Writes replace the file whole: readers never see a
partial file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = "onboarding"


def state_path(state_dir: Path, intent_name: str) -> Path:
    return Path(state_dir) / FOLDER / f"{intent_name}.json"


def load_state(state_dir: Path, intent_name: str) -> dict[str, Any]:
    """The intent's onboarding state; ``{}`` when it never started one."""
    try:
        return json.loads(state_path(state_dir, intent_name).read_text())
    except FileNotFoundError:
        return {}


def save_state(state_dir: Path, intent_name: str, state: dict[str, Any]) -> Path:
    from airflow_provider_chimera.registry.manifest import atomic_write

    return atomic_write(state_path(state_dir, intent_name), json.dumps(state, indent=1, sort_keys=True).encode())


def completed_hash(state_dir: Path, intent_name: str) -> str | None:
    """The content hash of the intent's last version whose onboarding completed."""
    return (load_state(state_dir, intent_name).get("completed") or {}).get("hash")


def ingestion_blocker(state_dir: Path, intent_name: str, pipeline_id: str) -> str | None:
    """Why pipeline ``pipeline_id`` may not ingest yet, or ``None`` when its onboarding completed."""
    state = load_state(state_dir, intent_name)
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
