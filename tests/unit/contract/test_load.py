"""Parsing intent files: the same valid bytes under another name are not validated again."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract import load
from airflow_provider_chimera.contract.load import IntentError, parse_intent
from tests.helpers import DECLARATION

INTENT = {
    "version": 1, "name": "shop", "team": {"name": "sales", "support_email": "sales@example.com"},
    "project": "retail", "declaration": DECLARATION,
    "sources": [{"name": "db", "type": "postgres", "connection": {"conn_id": "shop_pg"}, "objects": [
        {"name": "public.orders", "ingestion": {"trigger": {"type": "adhoc"}, "mode": {"type": "full"}, "target": {"table": "orders"}}},
    ]}],
}


@pytest.fixture(autouse=True)
def empty_caches(monkeypatch):
    monkeypatch.setattr(load, "_CACHE", load.OrderedDict())
    monkeypatch.setattr(load, "_VALID", load.OrderedDict())


def test_the_registrys_copy_of_a_files_bytes_is_the_files_intent_validated_once(monkeypatch):
    raw = json.dumps(INTENT).encode()
    from_file = parse_intent(raw, "intents/shop.json", stem="shop")
    validations = []
    monkeypatch.setattr(load, "model_problems", lambda *args: validations.append(args) or (None, []))
    assert parse_intent(raw, "registry:onboarded/shop.json", stem="shop") is from_file
    assert validations == []


def test_the_same_bytes_under_another_stem_still_fail_the_name_rule():
    raw = json.dumps(INTENT).encode()
    parse_intent(raw, "intents/shop.json", stem="shop")
    with pytest.raises(IntentError, match="shop"):
        parse_intent(raw, "intents/other.json", stem="other")


def test_invalid_bytes_name_each_file_they_are_read_from():
    bad = json.dumps({**INTENT, "project": ""}).encode()
    for file in ("intents/shop.json", "registry:onboarded/shop.json"):
        with pytest.raises(IntentError) as raised:
            parse_intent(bad, file, stem="shop")
        assert file in str(raised.value)
