"""Onboarding a version: registry row, manifest file and audit entry, or a rejection."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from sqlalchemy import select

from airflow_provider_chimera.contract import IntentError
from airflow_provider_chimera.registry.audit import entries
from airflow_provider_chimera.registry.manifest import read_onboarded
from airflow_provider_chimera.registry.models import (
    IntentRow,
    IntentVersionRow,
    ObjectRow,
    SourceRow,
    TeamRow,
)
from airflow_provider_chimera.registry.onboard import onboard
from tests.unit.registry.conftest import intent_data, write_intent


def test_onboard_records_row_manifest_and_audit(registry, intents_dir):
    path = write_intent(intents_dir, intent_data())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = onboard(registry, path, actor="jane")
    assert (result.name, result.content_hash, result.previous_hash, result.diff) == ("sales_crm", digest, None, None)
    with registry.session() as session:
        assert read_onboarded(session, "sales_crm").content_hash == digest
        (version,) = session.scalars(select(IntentVersionRow)).all()
        assert (version.content_hash, version.git_commit, version.content) == (digest, None, path.read_text())
        assert version.onboarded_at is not None
        intent = session.scalars(select(IntentRow)).one()
        assert session.get(TeamRow, intent.team_id).support_email == "sales@example.com"
        (source,) = session.scalars(select(SourceRow)).all()
        assert source.connection == "postgresql://reader:***@crm:5432/crm"
        assert [(o.name, o.columns) for o in session.scalars(select(ObjectRow).order_by(ObjectRow.id))] == [
            ("public.customers", ["id", "name", "updated_at"]),
            ("public.orders", None),
        ]
        (entry,) = entries(session)
    assert (entry.actor, entry.action, entry.intent, entry.intent_hash) == ("jane", "intent.onboarded", "sales_crm", digest)
    assert entry.details == {"file": str(path), "git_commit": None, "previous_hash": None}


def test_onboarding_again_records_what_was_added(registry, intents_dir):
    path = write_intent(intents_dir, intent_data())
    first = onboard(registry, path, actor="jane")
    data = intent_data()
    data["sources"][0]["objects"][0]["columns"].append("email")
    write_intent(intents_dir, data)
    second = onboard(registry, path, actor="jane")
    assert second.previous_hash == first.content_hash
    with registry.session() as session:
        latest = entries(session, limit=1)[0]
        assert len(session.scalars(select(IntentVersionRow)).all()) == 2
    assert latest.details["added_columns"] == ["crm/public.customers: email"]
    assert latest.details["previous_hash"] == first.content_hash


def test_invalid_file_is_rejected_and_not_onboarded(registry, intents_dir):
    data = intent_data()
    data["sources"][0]["connection"] = {"uri": "postgresql://reader:LiteralPw9@crm/crm"}
    path = write_intent(intents_dir, data)
    with pytest.raises(IntentError):
        onboard(registry, path, actor="jane")
    with registry.session() as session:
        assert read_onboarded(session, "sales_crm") is None
        (entry,) = entries(session)
        assert session.scalars(select(IntentVersionRow)).all() == []
    assert entry.action == "intent.rejected"
    (problem,) = entry.details["problems"]
    assert problem.startswith(f"{path}: /sources/0/connection/uri: the uri carries a literal password or token")
    assert "LiteralPw9" not in json.dumps(entry.details)


def test_git_commit_is_recorded_for_a_checkout(registry, tmp_path):
    repo = tmp_path / "checkout"
    repo.mkdir()
    path = write_intent(repo, intent_data())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "intent"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert onboard(registry, path, actor="jane").git_commit == head
    with registry.session() as session:
        assert session.scalars(select(IntentVersionRow.git_commit)).all() == [head]
