"""Dataset URNs named as DataHub's own source plugins name the same objects."""

from __future__ import annotations

import json

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.metadata import naming


def _source(kind: str, uri: str, obj: dict) -> Source:
    return Source.model_validate({"name": "src", "type": kind, "connection": {"uri": uri}, "objects": [obj]})


@pytest.mark.parametrize(
    ("kind", "uri", "obj", "expected"),
    [
        ("postgres", "postgresql://u:${env:PW}@db:5432/crm", {"name": "public.customers"}, ("postgres", "crm.public.customers")),
        ("postgres", "postgresql://u:${env:PW}@db:5432/crm", {"name": "customers"}, ("postgres", "crm.public.customers")),
        ("postgres", "postgresql://db/crm", {"name": "Sales.Orders"}, ("postgres", "crm.Sales.Orders")),
        ("mysql", "mysql://u:${env:PW}@db/shop", {"name": "orders"}, ("mysql", "shop.orders")),
        ("mysql", "mysql://db/shop", {"name": "other.orders"}, ("mysql", "other.orders")),
        ("snowflake", "snowflake://qa:${env:PW}@acct/QA/PUBLIC", {"name": "Orders"}, ("snowflake", "qa.public.orders")),
        ("snowflake", "snowflake://acct/QA/PUBLIC", {"name": "SALES.Orders"}, ("snowflake", "qa.sales.orders")),
        ("mongodb", "mongodb://db:27017/shop", {"name": "products", "schema": {"fields": [{"name": "a", "type": "string"}]}}, ("mongodb", "shop.products")),
        ("kafka", "kafka://broker:9092", {"name": "web.clicks", "schema": {"fields": [{"name": "a", "type": "string"}]}}, ("kafka", "web.clicks")),
        ("file", "file:///data/in", {"name": "sales", "path": "x/*.csv", "format": "csv", "schema": {"fields": [{"name": "a", "type": "string"}]}}, ("file", "/data/in/x/*.csv")),
        ("file", "s3://bucket/root", {"name": "sales", "path": "a/*.parquet", "format": "parquet", "schema": {"fields": [{"name": "a", "type": "string"}]}}, ("s3", "bucket/root/a/*.parquet")),
        ("pdf", "file:///data/contracts", {"name": "signed", "path": "signed/*.pdf"}, ("file", "/data/contracts/signed/*.pdf")),
    ],
)
def test_source_dataset_names(kind, uri, obj, expected):
    source = _source(kind, uri, obj)
    assert naming.source_platform_and_name(source, source.objects[0]) == expected


def test_database_of_an_airflow_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CRM_PG", json.dumps({"conn_type": "postgres", "host": "db", "schema": "crm"}))
    source = Source.model_validate({"name": "crm", "type": "postgres", "connection": {"conn_id": "crm_pg"}, "objects": [{"name": "public.customers"}]})
    assert naming.source_urn(source, source.objects[0]) == "urn:li:dataset:(urn:li:dataPlatform:postgres,crm.public.customers,PROD)"


def test_snowflake_database_from_the_connection_extra(monkeypatch):
    connection = {"conn_type": "snowflake", "login": "qa", "schema": "PUBLIC", "extra": {"account": "a", "database": "QA"}}
    monkeypatch.setenv("AIRFLOW_CONN_SF", json.dumps(connection))
    source = Source.model_validate({"name": "sf", "type": "snowflake", "connection": {"conn_id": "sf"}, "objects": [{"name": "ORDERS"}]})
    assert naming.source_platform_and_name(source, source.objects[0]) == ("snowflake", "qa.public.orders")


def test_iceberg_target_urn():
    assert naming.target_urn("sales", "customers") == "urn:li:dataset:(urn:li:dataPlatform:iceberg,sales.customers,PROD)"


def test_field_paths_lower_cased_for_snowflake_only():
    assert naming.field_path("snowflake", "EMAIL") == "email"
    assert naming.field_path("postgres", "Email") == "Email"
