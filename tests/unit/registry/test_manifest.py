"""Onboarded versions in the registry: written in the caller's transaction, read back cheaply,
read at parse time without breaking a DAG file when the registry cannot be read."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from sqlalchemy import select

from airflow_provider_chimera.contract import IntentError, parse_intent
from airflow_provider_chimera.registry.manifest import (
    onboarded_at_parse_time,
    onboarded_in,
    onboarded_scope,
    onboarded_versions,
    read_onboarded,
    write_onboarded,
)
from airflow_provider_chimera.registry.models import OnboardedVersionRow
from airflow_provider_chimera.settings import load_settings
from tests.unit.registry.conftest import INTENT, intent_data


def test_round_trip(registry):
    raw = json.dumps(INTENT).encode()
    with registry.session() as session:
        write_onboarded(session, "sales_crm", raw)
    with registry.session(read_only=True) as session:
        version = read_onboarded(session, "sales_crm")
        (row,) = session.scalars(select(OnboardedVersionRow)).all()
    assert version.content_hash == hashlib.sha256(raw).hexdigest()
    assert version.intent == parse_intent(raw, "x.json")
    assert (row.intent, row.content) == ("sales_crm", raw)


def test_never_onboarded_is_none(registry):
    with registry.session(read_only=True) as session:
        assert read_onboarded(session, "sales_crm") is None
    assert onboarded_in(registry) == {}


def test_a_failed_transaction_records_nothing(registry):
    with pytest.raises(RuntimeError), registry.session() as session:
        write_onboarded(session, "sales_crm", json.dumps(INTENT).encode())
        raise RuntimeError("the registry rows failed")
    assert onboarded_in(registry) == {}


def test_parsed_once_per_version(registry):
    with registry.session() as session:
        write_onboarded(session, "sales_crm", json.dumps(INTENT).encode())
    with registry.session(read_only=True) as session:
        first = read_onboarded(session, "sales_crm")
        assert read_onboarded(session, "sales_crm") is first
        assert onboarded_versions(session) == {"sales_crm": first}
    with registry.session() as session:
        write_onboarded(session, "sales_crm", json.dumps(intent_data(project="revenue")).encode())
    second = onboarded_in(registry)["sales_crm"]
    assert second is not first and second.intent.project == "revenue"


def test_a_stored_version_that_no_longer_validates_names_its_record(registry):
    with registry.session() as session:
        write_onboarded(session, "sales_crm", b'{"version": 1, "name": "sales_crm"}')
    with registry.session(read_only=True) as session, pytest.raises(IntentError) as caught:
        read_onboarded(session, "sales_crm")
    assert str(caught.value.problems[0]).startswith("registry:onboarded/sales_crm.json: /team: Field required")
    assert isinstance(onboarded_in(registry)["sales_crm"], IntentError)  # one intent's problem, not the caller's


def test_scope_is_the_whole_intent_until_onboarded_then_the_onboarded_part(registry):
    current = intent_data()
    current["sources"][0]["objects"].append(
        {"name": "public.invoices", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "invoices"}}}
    )
    intent = parse_intent(json.dumps(current).encode(), "sales_crm.json")
    with registry.session() as session:
        assert onboarded_scope(session, intent) is intent
        write_onboarded(session, "sales_crm", json.dumps(INTENT).encode())
        scoped = onboarded_scope(session, intent)
    assert [o.name for o in scoped.sources[0].objects] == ["public.customers", "public.orders"]


def test_parse_time_reads_the_registry_without_migrating_or_creating_it(registry, chimera_home, monkeypatch, tmp_path):
    with registry.session() as session:
        write_onboarded(session, "sales_crm", json.dumps(INTENT).encode())
    assert list(onboarded_at_parse_time(load_settings())) == ["sales_crm"]
    missing = tmp_path / "nowhere" / "registry.db"
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", f"sqlite:///{missing}")
    assert onboarded_at_parse_time(load_settings()) == {}
    assert not missing.exists()


def test_parse_time_without_a_registry_server_warns_and_reads_nothing(chimera_home, monkeypatch, caplog):
    # Nothing listens on port 1: the DAG file still parses, every intent at its full scope.
    monkeypatch.setenv("AIRFLOW__CHIMERA__SQL_ALCHEMY_CONN", "postgresql://chimera:Pg5ecret@127.0.0.1:1/chimera")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_chimera.registry.manifest"):
        assert onboarded_at_parse_time(load_settings()) == {}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "127.0.0.1:1/chimera not readable" in warning and "parsed without onboarded versions" in warning
    assert "Pg5ecret" not in warning


def test_one_function_records_a_version_as_onboarded():
    """Only ``write_onboarded`` writes the onboarded record or stamps ``onboarded_at``; the
    onboarding state keeps no copy of a version's content."""
    import re
    from pathlib import Path

    import airflow_provider_chimera

    package = Path(airflow_provider_chimera.__file__).parent
    writers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"\.onboarded_at\s*=|(?<!class )OnboardedVersionRow\(|write_onboarded\(", path.read_text())
        and path.name != "onboard.py"  # registry.onboard calls write_onboarded, the one writer
    )
    assert writers == ["registry/manifest.py"]
    workflow = (package / "onboarding" / "workflow.py").read_text()
    assert '"content"' not in workflow and "base_content" not in workflow
