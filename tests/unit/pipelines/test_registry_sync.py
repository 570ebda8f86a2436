"""Reconciling the registry with the intents folder: each factory decision audited once."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from airflow_provider_chimera.contract.hints import JSON_SYNTAX
from airflow_provider_chimera.registry.audit import entries
from airflow_provider_chimera.registry.models import (
    AuditRow,
    IntentRow,
    IntentVersionRow,
    PipelineRow,
)
from airflow_provider_chimera.registry.onboard import onboard
from airflow_provider_chimera.pipelines.sync import sync_registry
from tests.unit.registry.conftest import intent_data, write_intent

CUSTOMERS, ORDERS, INVOICES = "sales_crm_crm_public_customers", "sales_crm_crm_public_orders", "sales_crm_crm_public_invoices"


def _audit(registry, after_id: int = 0) -> list[tuple[str, str | None, str | None]]:
    """``(action, intent, target table or pipeline)`` of the entries after ``after_id``, oldest first."""
    with registry.session() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.id > after_id).order_by(AuditRow.id)).all()
    return [(r.action, r.intent, r.details.get("target_table") or r.details.get("pipeline")) for r in rows]


def _last_id(registry) -> int:
    with registry.session() as session:
        return session.scalar(select(func.max(AuditRow.id))) or 0


def _statuses(registry) -> dict[str, str]:
    with registry.session() as session:
        return dict(session.execute(select(PipelineRow.pipeline_id, PipelineRow.status)).all())


def _with_invoices() -> dict:
    data = intent_data()
    data["sources"][0]["objects"].append(
        {"name": "public.invoices", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "invoices"}}}
    )
    return data


def test_first_sync_records_everything_and_a_second_writes_nothing(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.created == [CUSTOMERS, ORDERS] and report.versions == ["sales_crm"]
    assert _audit(registry) == [
        ("intent.version_recorded", "sales_crm", None),
        ("pipeline.created", "sales_crm", "sales.customers"),
        ("pipeline.created", "sales_crm", "sales.orders"),
    ]
    assert _statuses(registry) == {CUSTOMERS: "active", ORDERS: "active"}
    with registry.session() as session:
        (entry,) = entries(session, action="pipeline.created", limit=1)
        assert entry.actor == "jane" and len(entry.intent_hash) == 64
        assert session.scalar(select(IntentRow.status)) == "valid"
    before = _last_id(registry)
    again = sync_registry(registry, intents_dir, actor="jane")
    assert not again.changed
    assert _audit(registry, before) == []


def test_removed_object_retires_its_pipeline_and_keeps_its_data(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    sync_registry(registry, intents_dir, actor="jane")
    before = _last_id(registry)
    data = intent_data()
    data["sources"][0]["objects"].pop(1)
    write_intent(intents_dir, data)
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.retired == [ORDERS]
    assert _audit(registry, before) == [
        ("intent.version_recorded", "sales_crm", None),
        ("pipeline.retired", "sales_crm", "sales.orders"),
    ]
    with registry.session() as session:
        (entry,) = entries(session, action="pipeline.retired")
        assert entry.details == {"target_table": "sales.orders", "reason": "it is no longer in its intent", "data": "kept"}
        assert session.get(PipelineRow, ORDERS).retired_at is not None
    assert _statuses(registry) == {CUSTOMERS: "active", ORDERS: "retired"}
    # Putting it back creates it again.
    write_intent(intents_dir, intent_data())
    assert sync_registry(registry, intents_dir, actor="jane").created == [ORDERS]
    assert _statuses(registry)[ORDERS] == "active"


def test_rejected_intent_is_audited_once_with_its_error_and_no_secret(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    sync_registry(registry, intents_dir, actor="jane")
    before = _last_id(registry)
    data = intent_data()
    data["sources"][0]["connection"] = {"uri": "postgresql://reader:LiteralPw9@crm/crm"}
    path = write_intent(intents_dir, data)
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.rejected == ["sales_crm"] and report.retired == [CUSTOMERS, ORDERS]
    assert [a for a, _, _ in _audit(registry, before)] == ["intent.rejected", "pipeline.retired", "pipeline.retired"]
    with registry.session() as session:
        (rejected,) = entries(session, action="intent.rejected")
        retired = entries(session, action="pipeline.retired")
        assert session.scalar(select(IntentRow.status)) == "rejected"
        # A rejected file's content is not kept as a version: it may hold the very secret it was rejected for.
        assert session.scalar(select(func.count()).select_from(IntentVersionRow)) == 1
    (problem,) = rejected.details["problems"]
    assert problem.startswith(f"{path}: /sources/0/connection/uri: the uri carries a literal password or token")
    assert {e.details["reason"] for e in retired} == {"its intent is rejected"}
    with registry.engine.connect() as conn:
        assert "LiteralPw9" not in json.dumps([list(map(str, r)) for r in conn.exec_driver_sql("SELECT * FROM audit_log")])
    # Nothing changed: not audited again.
    before = _last_id(registry)
    assert not sync_registry(registry, intents_dir, actor="jane").changed
    assert _audit(registry, before) == []
    # Fixed: the pipelines come back.
    write_intent(intents_dir, intent_data())
    assert sync_registry(registry, intents_dir, actor="jane").created == [CUSTOMERS, ORDERS]
    with registry.session() as session:
        assert session.scalar(select(IntentRow.status)) == "valid"


def test_unparseable_file_is_rejected_under_its_file_name(registry, intents_dir):
    (intents_dir / "broken.json").write_text("{")
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.rejected == ["broken"]
    with registry.session() as session:
        (entry,) = entries(session)
    assert entry.details == {"file": str(intents_dir / "broken.json"),
                             "problems": [f"{intents_dir / 'broken.json'}: /: not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"
                                              f" ({JSON_SYNTAX})"]}


def test_objects_added_after_onboarding_wait_until_onboarded(registry, intents_dir):
    path = write_intent(intents_dir, intent_data())
    onboard(registry, path, actor="jane")
    sync_registry(registry, intents_dir, actor="jane")
    before = _last_id(registry)
    write_intent(intents_dir, _with_invoices())
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.pending_onboarding == [INVOICES] and report.created == []
    assert _audit(registry, before) == [
        ("intent.version_recorded", "sales_crm", None),
        ("pipeline.pending_onboarding", "sales_crm", "sales.invoices"),
    ]
    assert _statuses(registry) == {CUSTOMERS: "active", ORDERS: "active", INVOICES: "pending_onboarding"}
    assert not sync_registry(registry, intents_dir, actor="jane").changed
    onboard(registry, path, actor="jane")
    before = _last_id(registry)
    assert sync_registry(registry, intents_dir, actor="jane").created == [INVOICES]
    assert _audit(registry, before) == [("pipeline.created", "sales_crm", "sales.invoices")]


def test_removed_file_removes_the_intent_and_retires_its_pipelines(registry, intents_dir):
    path = write_intent(intents_dir, intent_data())
    sync_registry(registry, intents_dir, actor="jane")
    before = _last_id(registry)
    path.unlink()
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.removed == ["sales_crm"] and report.retired == [CUSTOMERS, ORDERS]
    assert [a for a, _, _ in _audit(registry, before)] == ["intent.removed", "pipeline.retired", "pipeline.retired"]
    with registry.session() as session:
        assert {e.details["reason"] for e in entries(session, action="pipeline.retired")} == {"its intent file was removed"}
    assert not sync_registry(registry, intents_dir, actor="jane").changed


def test_two_intents_writing_one_table_are_both_rejected_for_those_pipelines(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    other = intent_data(name="sales_copy")
    other["sources"][0]["objects"].pop(0)  # keeps public.orders -> sales.orders, the same table
    write_intent(intents_dir, other)
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.rejected == ["sales_copy", "sales_crm"]
    assert report.created == [CUSTOMERS]
    with registry.session() as session:
        problems = {e.intent: e.details["problems"] for e in entries(session, action="intent.rejected")}
    assert all("sales.orders" in " ".join(p) for p in problems.values()), problems


def test_an_onboarded_version_that_no_longer_validates_rejects_its_intent(registry, intents_dir):
    write_intent(intents_dir, intent_data())
    from airflow_provider_chimera.registry.manifest import write_onboarded

    with registry.session() as session:
        write_onboarded(session, "sales_crm", b'{"version": 1, "name": "sales_crm"}')
    report = sync_registry(registry, intents_dir, actor="jane")
    assert report.rejected == ["sales_crm"] and report.created == []
    with registry.session() as session:
        (entry,) = entries(session, action="intent.rejected")
        assert session.scalars(select(IntentRow.name)).all() == ["sales_crm"]
    assert entry.details["file"] == str(intents_dir / "sales_crm.json")
    assert entry.details["problems"][0].startswith("registry:onboarded/sales_crm.json: /team: Field required")
