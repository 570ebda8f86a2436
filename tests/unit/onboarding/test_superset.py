"""Registering in Superset, without a Superset: the query encoding, the URIs Superset is given,
sources it cannot query, and an unreachable Superset (the real one is in the integration tests)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract import parse_intent
from airflow_provider_chimera.onboarding.superset import (
    SupersetError,
    register_intent,
    rison,
    split_object,
    sqlalchemy_uri,
)
from airflow_provider_chimera.onboarding.errors import StepError
from tests.helpers import intent_with, record_schema


def _intent(*sources: dict):
    return parse_intent(json.dumps(intent_with(*sources)).encode(), "qa_intent.json")


def _source(name: str, source_type: str, connection: dict, *objects: str, **fields) -> dict:
    return {"name": name, "type": source_type, "connection": connection, "objects": [{"name": o, **fields} for o in objects or ["t"]]}


def test_rison_quotes_every_string_and_escapes_its_quotes_and_bangs():
    query = {"filters": [{"col": "database_name", "opr": "eq", "value": "chimera it's!"}], "page_size": 2, "a": None, "b": True, "c": False}

    assert rison(query) == "('filters':!(('col':'database_name','opr':'eq','value':'chimera it!'s!!')),'page_size':2,'a':!n,'b':!t,'c':!f)"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("public.customers", ("public", "customers")), ("DB.SALES.ORDERS", ("SALES", "ORDERS")), ("customers", (None, "customers"))],
)
def test_an_object_name_splits_into_schema_and_table(name, expected):
    assert split_object(name) == expected


def test_a_mysql_source_becomes_a_mysqlclient_uri_from_its_airflow_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_QA_SHOP", "mysql://shop:p%40ss%2Fword@db.example.com:3307/shop")
    source = _intent(_source("shop", "mysql", {"conn_id": "qa_shop"})).sources[0]

    assert sqlalchemy_uri(source) == "mysql://shop:p%40ss%2Fword@db.example.com:3307/shop"


def test_a_snowflake_uri_keeps_database_schema_warehouse_and_role(monkeypatch):
    monkeypatch.setenv("QA_SF_PASSWORD", "s3cret")
    uri = "snowflake://analyst:${env:QA_SF_PASSWORD}@acme-eu/SALES/PUBLIC?warehouse=WH&role=READER"
    source = _intent(_source("dwh", "snowflake", {"uri": uri}, "PUBLIC.ORDERS")).sources[0]

    assert sqlalchemy_uri(source) == "snowflake://analyst:s3cret@acme-eu/SALES/PUBLIC?role=READER&warehouse=WH"


def test_sources_superset_cannot_query_are_discoverable_in_datahub_only_without_asking_superset():
    intent = _intent(
        _source("files", "file", {"uri": "file:///data"}, "customers", path="customers.csv", format="csv", schema=record_schema(id="long")),
        _source("stream", "kafka", {"uri": "kafka://broker:9092"}, "orders", format="json", schema=record_schema(id="long")),
    )

    registered = register_intent("no_such_connection", intent)

    assert registered.links == {}
    assert registered.sources == {
        "files": "discoverable in DataHub only: Superset cannot query file sources",
        "stream": "discoverable in DataHub only: Superset cannot query kafka sources",
    }


def test_an_unreachable_superset_is_a_step_error_naming_it_without_its_password(monkeypatch):
    connection = {"conn_type": "http", "host": "127.0.0.1", "port": 1, "schema": "http", "login": "admin", "password": "Sup3r-s3cret"}
    monkeypatch.setenv("AIRFLOW_CONN_QA_SUPERSET", json.dumps(connection))
    intent = _intent(_source("crm", "postgres", {"uri": "postgresql://reader@db.example.com/crm"}, "public.customers"))

    with pytest.raises(SupersetError) as failed:
        register_intent("qa_superset", intent)

    assert isinstance(failed.value, StepError)
    assert str(failed.value).startswith(
        "logging in to Superset at http://127.0.0.1:1 (connection 'qa_superset'): Superset cannot be reached: ConnectError: "
    )
    assert "Sup3r-s3cret" not in str(failed.value)
