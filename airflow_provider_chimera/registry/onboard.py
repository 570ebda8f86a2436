"""Onboarding a version of an intent: its registry rows, its audit entry and the onboarded record
(:func:`~airflow_provider_chimera.registry.manifest.write_onboarded`, the one writer)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_chimera.contract.diff import IntentDiff, diff_intents
from airflow_provider_chimera.contract.load import (
    IntentError,
    parse_intent,
    read_intent_bytes,
)
from airflow_provider_chimera.registry.audit import record
from airflow_provider_chimera.registry.db import Registry
from airflow_provider_chimera.registry.manifest import read_onboarded, write_onboarded
from airflow_provider_chimera.registry.gitcommit import git_commit
from airflow_provider_chimera.registry.store import (
    upsert_intent,
    upsert_sources,
    upsert_version,
)


@dataclass(frozen=True)
class Onboarded:
    """What :func:`onboard` recorded."""

    name: str
    content_hash: str
    git_commit: str | None
    previous_hash: str | None
    diff: IntentDiff | None  # against the previously onboarded version, if there was one


def onboard(registry: Registry, path: Path, *, actor: str | None = None) -> Onboarded:
    """Record the intent file at ``path`` as its intent's onboarded version.

    From then on the DAG factory builds pipelines only for what this version declares (objects or
    columns added later wait for the next onboarding). A file that does not validate is not
    onboarded: an ``intent.rejected`` entry is written and the :class:`IntentError` raised.
    """
    path = Path(path)
    try:
        raw = read_intent_bytes(path)
        intent = parse_intent(raw, str(path), stem=path.stem)
    except IntentError as exc:
        record(registry, actor, "intent.rejected", intent=path.stem,
               details={"file": str(path), "while": "onboarding", "problems": [str(p) for p in exc.problems]})
        raise
    content_hash = hashlib.sha256(raw).hexdigest()
    commit = git_commit(path.parent)
    with registry.session() as session:
        try:
            previous = read_onboarded(session, intent.name)
        except IntentError:
            previous = None  # the stored version no longer validates: this one replaces it
        change = diff_intents(previous.intent, intent) if previous else None
        row = upsert_intent(session, intent, str(path.resolve()), content_hash)
        version, _ = upsert_version(session, row, content_hash, raw, commit)
        upsert_sources(session, row, intent)
        details = {
            "file": str(path.resolve()),
            "git_commit": commit,
            "previous_hash": previous.content_hash if previous else None,
        }
        if change is not None:
            details["added_objects"] = [str(o) for o in change.added_objects]
            details["added_columns"] = [str(c) for c in change.added_columns]
            details["removed_objects"] = [str(o) for o in change.removed_objects]
            details["removed_columns"] = [str(c) for c in change.removed_columns]
            details["changed"] = len(change.changed)
        record(session, actor, "intent.onboarded", intent=intent.name, intent_hash=content_hash, details=details)
        write_onboarded(session, intent.name, raw, version)  # same transaction: the rows and the record agree
    return Onboarded(
        name=intent.name,
        content_hash=content_hash,
        git_commit=commit,
        previous_hash=previous.content_hash if previous else None,
        diff=change,
    )
