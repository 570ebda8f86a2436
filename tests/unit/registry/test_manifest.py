"""Onboarded versions as files: written atomically, read back cheaply, trusted by the factory."""

from __future__ import annotations

import hashlib
import json

import pytest

from airflow_provider_chimera.contract import IntentError, parse_intent
from airflow_provider_chimera.registry.manifest import (
    onboarded_path,
    onboarded_scope,
    read_onboarded,
    write_onboarded,
)
from tests.unit.registry.conftest import INTENT, intent_data


def test_round_trip(tmp_path):
    raw = json.dumps(INTENT).encode()
    path = write_onboarded(tmp_path, "sales_crm", raw)
    assert path == tmp_path / "onboarded" / "sales_crm.json" == onboarded_path(tmp_path, "sales_crm")
    assert path.read_bytes() == raw
    version = read_onboarded(tmp_path, "sales_crm")
    assert version.content_hash == hashlib.sha256(raw).hexdigest()
    assert version.intent == parse_intent(raw, "x.json")
    assert [p.name for p in (tmp_path / "onboarded").iterdir()] == ["sales_crm.json"]  # no temporary left


def test_never_onboarded_is_none(tmp_path):
    assert read_onboarded(tmp_path, "sales_crm") is None


def test_cached_until_the_file_changes(tmp_path):
    write_onboarded(tmp_path, "sales_crm", json.dumps(INTENT).encode())
    first = read_onboarded(tmp_path, "sales_crm")
    assert read_onboarded(tmp_path, "sales_crm") is first
    changed = intent_data(project="revenue")
    write_onboarded(tmp_path, "sales_crm", json.dumps(changed).encode())
    second = read_onboarded(tmp_path, "sales_crm")
    assert second is not first and second.intent.project == "revenue"
    onboarded_path(tmp_path, "sales_crm").unlink()
    assert read_onboarded(tmp_path, "sales_crm") is None


def test_a_stored_version_that_no_longer_validates_names_the_file(tmp_path):
    write_onboarded(tmp_path, "sales_crm", b'{"version": 1, "name": "sales_crm"}')
    with pytest.raises(IntentError) as caught:
        read_onboarded(tmp_path, "sales_crm")
    assert str(caught.value.problems[0]).startswith(f"{onboarded_path(tmp_path, 'sales_crm')}: /team: Field required")


def test_scope_is_the_whole_intent_until_onboarded_then_the_onboarded_part(tmp_path):
    current = intent_data()
    current["sources"][0]["objects"].append(
        {"name": "public.invoices", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "invoices"}}}
    )
    intent = parse_intent(json.dumps(current).encode(), "sales_crm.json")
    assert onboarded_scope(tmp_path, intent) is intent
    write_onboarded(tmp_path, "sales_crm", json.dumps(INTENT).encode())
    scoped = onboarded_scope(tmp_path, intent)
    assert [o.name for o in scoped.sources[0].objects] == ["public.customers", "public.orders"]


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
        if re.search(r"\.onboarded_at\s*=|onboarded_path\(|write_onboarded\(", path.read_text())
        and path.name != "onboard.py"  # registry.onboard calls write_onboarded, the one writer
    )
    assert writers == ["registry/manifest.py"]
    workflow = (package / "onboarding" / "workflow.py").read_text()
    assert '"content"' not in workflow and "base_content" not in workflow
