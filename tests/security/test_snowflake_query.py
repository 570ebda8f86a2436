"""Run time: a Snowflake URI names no host, port, protocol, authenticator or key file; fakesnow is
reached only through a platform-owned Airflow connection (hardening point 5)."""

from __future__ import annotations

import pytest

from airflow_provider_chimera.contract.model import Source
from airflow_provider_chimera.sources import source_reader
from airflow_provider_chimera.sources.base import SourceRefusedError, connect_timeout_s
from airflow_provider_chimera.tenancy.authorize import AuthorizationError
from tests.helpers import pipeline_for, read_table, run_pipeline, single_object_source
from tests.integration.conftest import cleanups, snowflake_schema  # noqa: F401  (fixtures)

COVERS = ("5",)


def _source(connection: dict) -> dict:
    return single_object_source("snowflake", connection, "guard.orders", {"type": "full"}, "orders")


@pytest.fixture
def fakesnow(snowflake_schema):
    cur = snowflake_schema("GUARD", "qa_platform_snowflake", "ORDERS")
    cur.execute("CREATE TABLE QA.GUARD.ORDERS (ID NUMBER(38,0), NOTE VARCHAR)")
    cur.execute("INSERT INTO QA.GUARD.ORDERS VALUES (1, 'a'), (2, 'b')")
    return cur


@pytest.mark.parametrize("query", [
    "host={host}&port={port}&protocol=http",
    "authenticator=oauth&token_file_path=/proc/self/environ",
    "private_key_file=/proc/self/environ&warehouse=WH",
])
def test_endpoint_and_credential_file_keys_are_refused_before_connecting(fakesnow, services, monkeypatch, catalog, query):
    monkeypatch.setenv("QA_SF_PASSWORD", "qa")
    query = query.format(host=services["CHIMERA_SNOWFLAKE_HOST"], port=services["CHIMERA_SNOWFLAKE_PORT"])
    uri = f"snowflake://qa:${{env:QA_SF_PASSWORD}}@fakesnow/QA/GUARD?{query}"
    hook = source_reader(Source.model_validate(_source({"uri": uri})))
    with pytest.raises(SourceRefusedError, match=r"query key\(s\) .* may not be set by an intent"):
        hook.connect()
    assert hook.test_connection()[0] is False
    with pytest.raises(AuthorizationError, match="/sources/0/connection/uri: query key"):
        run_pipeline(pipeline_for(_source({"uri": uri})))
    assert not catalog.table_exists("qa.orders")


def test_a_platform_connection_reaches_fakesnow(fakesnow, catalog):
    assert run_pipeline(pipeline_for(_source({"conn_id": "qa_platform_snowflake"})))["rows"] == 2
    assert sorted(read_table(catalog, "qa.orders").column("NOTE").to_pylist()) == ["a", "b"]


def test_only_allow_listed_keys_reach_the_connector(monkeypatch):
    monkeypatch.setenv("QA_SF_PASSWORD", "pw")
    uri = "snowflake://qa:${env:QA_SF_PASSWORD}@acct/QA/GUARD?warehouse=WH&role=R&application=chimera"
    kwargs = source_reader(Source.model_validate(_source({"uri": uri}))).connect_kwargs()
    assert kwargs == {"user": "qa", "password": "pw", "account": "acct", "database": "QA", "schema": "GUARD",
                      "warehouse": "WH", "role": "R", "application": "chimera", "login_timeout": connect_timeout_s()}
