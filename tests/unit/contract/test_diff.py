"""Diffing an intent against its onboarded version, one lifecycle rule at a time."""

from __future__ import annotations

import copy
import json

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.contract.diff import (
    ColumnsRef,
    ObjectRef,
    SettingChange,
    diff_intents,
    effective_intent,
    withheld_objects,
)
from airflow_provider_chimera.pipelines import pipelines_of
from tests.helpers import sales_crm_intent


def _ingestion(table: str, **extra) -> dict:
    return {
        "trigger": {"type": "timed", "schedule": "@hourly"},
        "mode": {"type": "incremental", "cursor": "updated_at"},
        "target": {"namespace": "sales", "table": table},
        **extra,
    }


BASE = sales_crm_intent(
    {
        "name": "crm",
        "type": "postgres",
        "connection": {"conn_id": "crm_postgres"},
        "objects": [
            {"name": "public.customers", "columns": ["id", "name", "country", "updated_at"], "ingestion": _ingestion("customers")},
            {"name": "public.orders", "ingestion": _ingestion("orders")},
        ],
    },
    {
        "name": "clicks",
        "type": "kafka",
        "connection": {"conn_id": "events_kafka"},
        "objects": [
            {
                "name": "web.clicks",
                "schema": {"fields": [{"name": "user_id", "type": "string"}, {"name": "url", "type": "string"}]},
                "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "stream"}, "target": {"table": "clicks"}},
            }
        ],
    },
)


def intent(data: dict):
    return parse_intent(json.dumps(data).encode(), "sales_crm.json")


def edited(change) -> dict:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def objects(data: dict, source: int = 0) -> list[dict]:
    return data["sources"][source]["objects"]


def pipeline_ids(i) -> list[str]:
    return [p.id for p in pipelines_of(i, "sales_crm.json", "h")]


def test_identical_versions_have_no_differences():
    diff = diff_intents(intent(BASE), intent(BASE))
    assert diff.is_empty and not diff.needs_onboarding
    assert effective_intent(intent(BASE), intent(BASE)) == intent(BASE)


def test_removed_object_is_listed_and_its_pipeline_goes():
    current = intent(edited(lambda d: objects(d).pop(1)))
    diff = diff_intents(intent(BASE), current)
    assert diff.removed_objects == [ObjectRef(source="crm", object="public.orders")]
    assert not diff.needs_onboarding and not diff.added_objects and not diff.changed
    assert "sales_crm_crm_public_orders" not in pipeline_ids(effective_intent(intent(BASE), current))


def test_removed_source_removes_each_of_its_objects():
    diff = diff_intents(intent(BASE), intent(edited(lambda d: d["sources"].pop(1))))
    assert diff.removed_objects == [ObjectRef(source="clicks", object="web.clicks")]


def test_removed_columns_are_listed_per_object_and_need_no_onboarding():
    current = intent(edited(lambda d: objects(d)[0]["columns"].remove("country")))
    diff = diff_intents(intent(BASE), current)
    assert diff.removed_columns == [ColumnsRef(source="crm", object="public.customers", columns=["country"])]
    assert not diff.needs_onboarding
    eff = effective_intent(intent(BASE), current)
    assert eff.sources[0].objects[0].columns == ["id", "name", "updated_at"]


def test_narrowing_all_columns_to_a_list_removes_every_other_column():
    current = intent(edited(lambda d: objects(d)[1].update(columns=["order_id", "updated_at"])))
    diff = diff_intents(intent(BASE), current)
    assert diff.removed_columns == [ColumnsRef(source="crm", object="public.orders", all_except=["order_id", "updated_at"])]
    assert str(diff.removed_columns[0]) == "crm/public.orders: every column except order_id, updated_at"
    assert not diff.needs_onboarding


def test_added_object_needs_onboarding_and_gets_no_pipeline():
    current = intent(edited(lambda d: objects(d).append({"name": "public.invoices", "ingestion": _ingestion("invoices")})))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_objects == [ObjectRef(source="crm", object="public.invoices")]
    assert diff.needs_onboarding
    assert withheld_objects(intent(BASE), current) == [ObjectRef(source="crm", object="public.invoices")]
    assert pipeline_ids(effective_intent(intent(BASE), current)) == pipeline_ids(intent(BASE))


def test_added_source_is_withheld_whole():
    def add(d):
        d["sources"].append({**copy.deepcopy(d["sources"][0]), "name": "erp"})
        for obj in d["sources"][2]["objects"]:
            obj["ingestion"]["target"]["table"] += "_erp"

    current = intent(edited(add))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_objects == [ObjectRef(source="erp", object="public.customers"), ObjectRef(source="erp", object="public.orders")]
    assert [s.name for s in effective_intent(intent(BASE), current).sources] == ["crm", "clicks"]


def test_added_columns_wait_while_the_onboarded_ones_keep_running():
    def change(d):
        cols = objects(d)[0]["columns"]
        cols.remove("country")
        cols.insert(1, "email")

    current = intent(edited(change))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_columns == [ColumnsRef(source="crm", object="public.customers", columns=["email"])]
    assert diff.removed_columns == [ColumnsRef(source="crm", object="public.customers", columns=["country"])]
    assert diff.needs_onboarding
    eff = effective_intent(intent(BASE), current)
    assert eff.sources[0].objects[0].columns == ["id", "name", "updated_at"]
    assert withheld_objects(intent(BASE), current) == []  # the object keeps its pipeline


def test_widening_a_column_list_to_all_columns_adds_every_other_column():
    current = intent(edited(lambda d: objects(d)[0].pop("columns")))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_columns == [
        ColumnsRef(source="crm", object="public.customers", all_except=["id", "name", "country", "updated_at"])
    ]
    eff = effective_intent(intent(BASE), current)
    assert eff.sources[0].objects[0].columns == ["id", "name", "country", "updated_at"]


def test_new_schema_field_is_an_added_column_and_a_type_change_a_setting():
    def change(d):
        fields = objects(d, 1)[0]["schema"]["fields"]
        fields.append({"name": "ts", "type": "timestamptz"})
        fields[1]["type"] = "json"

    current = intent(edited(change))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_columns == [ColumnsRef(source="clicks", object="web.clicks", columns=["ts"])]
    assert diff.changed == [SettingChange(source="clicks", object="web.clicks", field="schema.url.type", old="string", new="json")]
    eff = effective_intent(intent(BASE), current)
    assert eff.sources[1].objects[0].columns == ["user_id", "url"]


def test_every_column_new_withholds_the_object():
    current = intent(edited(lambda d: objects(d)[0].update(columns=["email", "phone"])))
    assert withheld_objects(intent(BASE), current) == [ObjectRef(source="crm", object="public.customers")]


def test_changed_ingestion_settings_are_listed_field_by_field():
    def change(d):
        ing = objects(d)[0]["ingestion"]
        ing["trigger"]["schedule"] = "@daily"
        ing["mode"]["cursor"] = "modified_at"
        ing["classification"] = {"name": "pii"}
        ing["target"]["kind"] = "mdm"
        ing["target"]["keys"] = ["id"]

    diff = diff_intents(intent(BASE), intent(edited(change)))
    where = ("crm", "public.customers")
    assert [(c.source, c.object, c.field, c.old, c.new) for c in diff.changed] == [
        (*where, "ingestion.trigger.schedule", "@hourly", "@daily"),
        (*where, "ingestion.mode.cursor", "updated_at", "modified_at"),
        (*where, "ingestion.target.kind", "append", "mdm"),
        (*where, "ingestion.target.keys", [], ["id"]),
        (*where, "ingestion.classification.name", None, "pii"),
    ]
    assert str(diff.changed[0]) == 'crm/public.customers: ingestion.trigger.schedule: "@hourly" -> "@daily"'
    assert not diff.needs_onboarding


def test_defaults_show_up_on_the_objects_they_reach():
    def change(d):
        d["sources"][0]["defaults"] = {"priority": "high"}

    diff = diff_intents(intent(BASE), intent(edited(change)))
    assert [(c.object, c.field, c.old, c.new) for c in diff.changed] == [
        ("public.customers", "ingestion.priority", "medium", "high"),
        ("public.orders", "ingestion.priority", "medium", "high"),
    ]


def test_ingestion_added_to_an_onboarded_object_builds_its_pipeline():
    base = edited(lambda d: objects(d)[1].pop("ingestion"))
    diff = diff_intents(intent(base), intent(BASE))
    assert not diff.needs_onboarding
    (change,) = diff.changed
    assert (change.object, change.field, change.old) == ("public.orders", "ingestion", None)
    assert change.new["target"]["table"] == "orders"
    assert "sales_crm_crm_public_orders" in pipeline_ids(effective_intent(intent(base), intent(BASE)))


def test_ingestion_removed_retires_the_pipeline():
    current = intent(edited(lambda d: objects(d)[1].pop("ingestion")))
    (change,) = diff_intents(intent(BASE), current).changed
    assert (change.field, change.new) == ("ingestion", None)
    assert "sales_crm_crm_public_orders" not in pipeline_ids(effective_intent(intent(BASE), current))


def test_onboarded_all_objects_covers_any_object_listed_later():
    base = edited(lambda d: d["sources"][0].update(objects="all"))
    diff = diff_intents(intent(base), intent(BASE))
    assert not diff.added_objects and not diff.removed_objects and not diff.needs_onboarding
    assert diff.changed == [
        SettingChange(source="crm", field="objects", old="all", new=["public.customers", "public.orders"])
    ]
    assert pipeline_ids(effective_intent(intent(base), intent(BASE))) == pipeline_ids(intent(BASE))


def test_switching_a_list_to_all_objects_needs_onboarding_and_builds_nothing():
    current = intent(edited(lambda d: d["sources"][0].update(objects="all")))
    diff = diff_intents(intent(BASE), current)
    assert diff.added_objects == [ObjectRef(source="crm", object="*")]
    assert str(diff.added_objects[0]) == "crm/(all objects)"
    assert diff.needs_onboarding
    assert pipeline_ids(effective_intent(intent(BASE), current)) == ["sales_crm_clicks_web_clicks"]


def test_intent_and_source_level_changes():
    def change(d):
        d["project"] = "revenue"
        d["sources"][0]["connection"] = {"conn_id": "crm_replica"}

    diff = diff_intents(intent(BASE), intent(edited(change)))
    assert diff.changed == [
        SettingChange(field="project", old="sales", new="revenue"),
        SettingChange(source="crm", field="connection.conn_id", old="crm_postgres", new="crm_replica"),
    ]
    assert str(diff.changed[0]) == '(intent): project: "sales" -> "revenue"'
